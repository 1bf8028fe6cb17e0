namespace DeepPerception.Kvg;

/// <summary>Whether one system answered one question correctly (Acc@0.5).</summary>
/// <param name="QuestionId">The question's id; two systems are paired on it.</param>
/// <param name="Category">The question's domain (for the seen / unseen subsets).</param>
/// <param name="Correct">IoU ≥ 0.5 with the ground truth.</param>
public readonly record struct KvgOutcome(string QuestionId, string Category, bool Correct);

/// <summary>
/// B − A on one subset of paired questions: accuracies in percent, the difference in points with its paired-bootstrap
/// confidence interval, the discordant pairs and the exact two-sided McNemar p-value.
/// </summary>
public sealed record KvgDifference(
    string Subset,
    int Items,
    double AccuracyA,
    double AccuracyB,
    double Difference,
    double CiLow,
    double CiHigh,
    int OnlyA,
    int OnlyB,
    double McNemarP)
{
    /// <summary>True when the confidence interval lies entirely above or below zero.</summary>
    public bool Significant => CiLow > 0 || CiHigh < 0;
}

/// <summary>A paired comparison of two systems scored on the same questions (difference = B − A).</summary>
public sealed record KvgComparison(
    string A,
    string B,
    KvgDifference Overall,
    KvgDifference? Seen,
    KvgDifference? Unseen,
    int Resamples,
    int Seed,
    double Confidence);

/// <summary>
/// Compares two systems' Acc@0.5 on the same KVG questions the way a small-benchmark result should be read: a paired
/// bootstrap over questions (resampling question ids with replacement, the same draw for both systems) gives a
/// percentile confidence interval for the difference in points, and McNemar's exact test on the discordant questions
/// (right for one, wrong for the other) gives a p-value for "no difference". Deterministic for a seed.
/// </summary>
public static class KvgPairedComparison
{
    /// <summary>Compares <paramref name="b"/> against <paramref name="a"/> overall and, with a split, on seen and unseen domains.</summary>
    /// <exception cref="ArgumentException">The two systems were not scored on the same questions, an id repeats, or a setting is out of range.</exception>
    public static KvgComparison Compare(string nameA, IReadOnlyList<KvgOutcome> a, string nameB, IReadOnlyList<KvgOutcome> b,
        KvgCategorySplit? split = null, int resamples = 10_000, int seed = 0, double confidence = 0.95)
    {
        ArgumentException.ThrowIfNullOrEmpty(nameA);
        ArgumentException.ThrowIfNullOrEmpty(nameB);
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentOutOfRangeException.ThrowIfLessThan(resamples, 100, nameof(resamples));
        if (!(confidence > 0 && confidence < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(confidence), confidence, "The confidence level must lie strictly between 0 and 1.");
        }

        var pairs = Pair(nameA, a, nameB, b);
        var overall = Difference("overall", pairs, resamples, seed, confidence)
                      ?? throw new ArgumentException($"'{nameA}' and '{nameB}' have no questions to compare.");
        KvgDifference? seen = null, unseen = null;
        if (split is not null)
        {
            seen = Difference("seen", pairs.Where(p => split.IsSeen(p.Category)).ToList(), resamples, seed, confidence);
            unseen = Difference("unseen", pairs.Where(p => !split.IsSeen(p.Category)).ToList(), resamples, seed, confidence);
        }

        return new KvgComparison(nameA, nameB, overall, seen, unseen, resamples, seed, confidence);
    }

    /// <summary>Exact two-sided McNemar p-value for <paramref name="onlyA"/> and <paramref name="onlyB"/> discordant pairs (1 when there are none).</summary>
    public static double McNemarExact(int onlyA, int onlyB)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(onlyA);
        ArgumentOutOfRangeException.ThrowIfNegative(onlyB);
        var n = onlyA + onlyB;
        if (n == 0)
        {
            return 1.0;
        }

        // P(X ≤ min) for X ~ Binomial(n, 1/2), summed in log space so large n does not underflow.
        var k = Math.Min(onlyA, onlyB);
        var logHalfPowN = -n * Math.Log(2);
        double logBinomial = 0, tail = 0;
        for (var i = 0; i <= k; i++)
        {
            if (i > 0)
            {
                logBinomial += Math.Log(n - i + 1) - Math.Log(i);
            }

            tail += Math.Exp(logBinomial + logHalfPowN);
        }

        return Math.Min(1.0, 2 * tail);
    }

    private static List<(string Category, int A, int B)> Pair(string nameA, IReadOnlyList<KvgOutcome> a, string nameB, IReadOnlyList<KvgOutcome> b)
    {
        var byId = new Dictionary<string, KvgOutcome>(StringComparer.Ordinal);
        foreach (var o in a)
        {
            if (!byId.TryAdd(o.QuestionId, o))
            {
                throw new ArgumentException($"Question '{o.QuestionId}' appears twice in '{nameA}'.");
            }
        }

        var pairs = new List<(string, int, int)>(b.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var o in b)
        {
            if (!seen.Add(o.QuestionId))
            {
                throw new ArgumentException($"Question '{o.QuestionId}' appears twice in '{nameB}'.");
            }

            if (!byId.TryGetValue(o.QuestionId, out var other))
            {
                throw new ArgumentException($"Question '{o.QuestionId}' of '{nameB}' is missing from '{nameA}'.");
            }

            if (!string.Equals(other.Category, o.Category, StringComparison.Ordinal))
            {
                throw new ArgumentException($"Question '{o.QuestionId}' is '{other.Category}' in '{nameA}' but '{o.Category}' in '{nameB}'.");
            }

            pairs.Add((o.Category, other.Correct ? 1 : 0, o.Correct ? 1 : 0));
        }

        if (pairs.Count != byId.Count)
        {
            var missing = byId.Keys.First(id => !seen.Contains(id));
            throw new ArgumentException($"Question '{missing}' of '{nameA}' is missing from '{nameB}'.");
        }

        return pairs;
    }

    private static KvgDifference? Difference(string subset, List<(string Category, int A, int B)> pairs, int resamples, int seed, double confidence)
    {
        var n = pairs.Count;
        if (n == 0)
        {
            return null;
        }

        var diffs = pairs.Select(p => p.B - p.A).ToArray();
        var onlyA = diffs.Count(d => d < 0);
        var onlyB = diffs.Count(d => d > 0);
        var random = new Random(seed);
        var means = new double[resamples];
        for (var r = 0; r < resamples; r++)
        {
            var sum = 0;
            for (var i = 0; i < n; i++)
            {
                sum += diffs[random.Next(n)];
            }

            means[r] = 100.0 * sum / n;
        }

        Array.Sort(means);
        var alpha = (1 - confidence) / 2;
        return new KvgDifference(subset, n, 100.0 * pairs.Sum(p => p.A) / n, 100.0 * pairs.Sum(p => p.B) / n, 100.0 * diffs.Sum() / n,
            Percentile(means, alpha), Percentile(means, 1 - alpha), onlyA, onlyB, McNemarExact(onlyA, onlyB));
    }

    private static double Percentile(double[] sorted, double q)
    {
        // Linear interpolation between closest ranks (NumPy's default).
        var position = q * (sorted.Length - 1);
        var lower = (int)Math.Floor(position);
        var upper = Math.Min(lower + 1, sorted.Length - 1);
        return sorted[lower] + ((position - lower) * (sorted[upper] - sorted[lower]));
    }
}
