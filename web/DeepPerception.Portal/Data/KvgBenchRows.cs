using System.Globalization;

namespace DeepPerception.Portal.Data;

/// <summary>Turns the platform's evaluation metrics into KVG-Bench rows.</summary>
public static class KvgBenchRows
{
    /// <summary>
    /// Builds a row from evaluation metrics as the GPU runner reports them (fractions: <c>accuracy</c>,
    /// <c>seen_accuracy</c>, <c>unseen_accuracy</c>, <c>accuracy.{domain}</c>), shown in percent.
    /// </summary>
    public static KvgBenchRow FromMetrics(string name, IReadOnlyDictionary<string, double> metrics, string source)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        double? Percent(string key) => metrics.TryGetValue(key, out var v) && double.IsFinite(v) ? Math.Round(v * 100, 2) : null;
        var domains = KvgBenchReference.Domains.Select(d => Percent($"accuracy.{d}")).ToArray();
        return new KvgBenchRow(name, domains, Percent("seen_accuracy"), Percent("unseen_accuracy"), Percent("accuracy"), false, source);
    }

    /// <summary>Formats a fraction as a percentage with two decimals.</summary>
    public static string Percent(double fraction) => (fraction * 100).ToString("0.00", CultureInfo.InvariantCulture);
}
