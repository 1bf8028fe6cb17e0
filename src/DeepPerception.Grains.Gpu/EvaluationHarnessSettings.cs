using System.Collections.Immutable;
using System.Globalization;
using DeepPerception.Abstractions.Work;
using DeepPerception.Data.Synth;
using DeepPerception.Kvg;
using DeepPerception.ML.Kvg;

namespace DeepPerception.Grains.Gpu;

/// <summary>A harness descriptor's settings are not valid for the engine.</summary>
public sealed class InvalidHarnessException(string message) : ArgumentException(message);

/// <summary>A KVG-Synth test split generated from seeds (instead of a stored benchmark file).</summary>
/// <param name="WorldSeed">The world (entities, knowledge) seed.</param>
/// <param name="SplitSeed">The split seed.</param>
/// <param name="TestCount">Test samples.</param>
/// <param name="Options">Generator options.</param>
public sealed record SynthBenchmark(int WorldSeed, int SplitSeed, int TestCount, SynthOptions Options);

/// <summary>
/// The engine's reading of a pinned <see cref="HarnessDescriptor"/>. Settings (all optional):
/// <c>source</c> (<c>parquet</c>: the KVG-Bench parquet at <c>BenchmarkKey</c>, checked against <c>BenchmarkSha256</c>
/// when that is set; <c>kvg-synth</c>: a split generated from <c>world_seed</c>, <c>split_seed</c>, <c>test_count</c>,
/// <c>min_canvas</c>, <c>max_canvas</c>), <c>prompt</c> (default <c>r1</c>), <c>max_new_tokens</c> (256),
/// <c>max_pixels</c>, <c>batch_size</c> (4), <c>limit</c>. Decoding is greedy, as in the paper's evaluation.
/// </summary>
public sealed record EvaluationHarnessSettings(GroundOptions GroundOptions, int? MaxPixels, int BatchSize, int? Limit, SynthBenchmark? Synth)
{
    private static readonly ImmutableHashSet<string> Known = ImmutableHashSet.Create(StringComparer.Ordinal,
        "source", "prompt", "max_new_tokens", "max_pixels", "batch_size", "limit", "world_seed", "split_seed", "test_count",
        "min_canvas", "max_canvas", "iou_threshold");

    /// <summary>Reads and validates a harness's settings.</summary>
    /// <exception cref="InvalidHarnessException">A setting is unknown or not valid.</exception>
    public static EvaluationHarnessSettings From(HarnessDescriptor harness)
    {
        ArgumentNullException.ThrowIfNull(harness);
        var s = harness.Settings ?? ImmutableDictionary<string, string>.Empty;
        var unknown = s.Keys.Where(k => !Known.Contains(k)).Order(StringComparer.Ordinal).ToArray();
        if (unknown.Length > 0)
        {
            throw new InvalidHarnessException($"Unknown harness setting(s): {string.Join(", ", unknown)}.");
        }

        if (s.TryGetValue("iou_threshold", out var iou) && iou != "0.5")
        {
            throw new InvalidHarnessException($"The KVG harness scores Acc@0.5; iou_threshold '{iou}' is not supported.");
        }

        KvgPromptStyle prompt;
        try
        {
            prompt = KvgPrompts.ParseStyle(s.GetValueOrDefault("prompt", "r1"));
        }
        catch (Exception ex) when (ex is ArgumentException or KvgFormatException)
        {
            throw new InvalidHarnessException($"Harness setting 'prompt' is not valid: {ex.Message}");
        }

        var ground = new GroundOptions { Prompt = prompt, MaxNewTokens = Int(s, "max_new_tokens", 256, 1, 8192), Temperature = 0 };
        int? maxPixels = s.ContainsKey("max_pixels") ? Int(s, "max_pixels", 0, 28 * 28 * 4, int.MaxValue) : null;
        int? limit = s.ContainsKey("limit") ? Int(s, "limit", 0, 1, int.MaxValue) : null;
        var source = s.GetValueOrDefault("source", "parquet");
        SynthBenchmark? synth = source switch
        {
            "parquet" => null,
            "kvg-synth" => new SynthBenchmark(Int(s, "world_seed", 0, 0, int.MaxValue), Int(s, "split_seed", 0, 0, int.MaxValue),
                Int(s, "test_count", 100, 1, 1_000_000),
                new SynthOptions { MinCanvas = Int(s, "min_canvas", 224, 56, 4096), MaxCanvas = Int(s, "max_canvas", 448, 56, 4096) }),
            _ => throw new InvalidHarnessException($"Harness setting 'source' must be parquet or kvg-synth (got '{source}')."),
        };
        return new EvaluationHarnessSettings(ground, maxPixels, Int(s, "batch_size", 4, 1, 1024), limit, synth);
    }

    private static int Int(IReadOnlyDictionary<string, string> settings, string name, int fallback, int min, int max)
    {
        if (!settings.TryGetValue(name, out var text))
        {
            return fallback;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new InvalidHarnessException($"Harness setting '{name}' must be an integer in [{min}, {max}] (got '{text}').");
        }

        return value;
    }
}
