using System.Globalization;

namespace DeepPerception.Kvg;

/// <summary>Which KVG categories count as seen (training) domains and which as unseen.</summary>
public sealed class KvgCategorySplit
{
    /// <summary>Creates a split; a category may not be both seen and unseen.</summary>
    public KvgCategorySplit(IEnumerable<string> seen, IEnumerable<string> unseen)
    {
        ArgumentNullException.ThrowIfNull(seen);
        ArgumentNullException.ThrowIfNull(unseen);
        Seen = seen.ToArray();
        Unseen = unseen.ToArray();
        var overlap = Seen.Intersect(Unseen, StringComparer.Ordinal).ToArray();
        if (overlap.Length > 0)
        {
            throw new ArgumentException($"Categories both seen and unseen: {string.Join(", ", overlap)}.");
        }

        All = [.. Seen, .. Unseen];
        if (All.Distinct(StringComparer.Ordinal).Count() != All.Count)
        {
            throw new ArgumentException("A category is listed twice.");
        }
    }

    /// <summary>The DeepPerception defaults: seen aircraft, car, reptilia, bird, food; unseen dog, mollusca, mammal, flower, landmark.</summary>
    public static KvgCategorySplit Default { get; } = new(
        ["aircraft", "car", "reptilia", "bird", "food"],
        ["dog", "mollusca", "mammal", "flower", "landmark"]);

    /// <summary>Seen (in-domain) categories.</summary>
    public IReadOnlyList<string> Seen { get; }

    /// <summary>Unseen (out-of-domain) categories.</summary>
    public IReadOnlyList<string> Unseen { get; }

    /// <summary>Seen then unseen, the order of the per-category report.</summary>
    public IReadOnlyList<string> All { get; }

    /// <summary>True for a seen category.</summary>
    public bool IsSeen(string category) => Seen.Contains(category, StringComparer.Ordinal);

    /// <summary>True for any listed category.</summary>
    public bool Contains(string category) => All.Contains(category, StringComparer.Ordinal);
}

/// <summary>One evaluated case as the inference step records it.</summary>
/// <param name="QuestionId">KVG-Bench <c>question_id</c>.</param>
/// <param name="Category">KVG-Bench <c>category</c>.</param>
/// <param name="Answer">The decoded model output (special tokens skipped).</param>
/// <param name="GroundTruth">Ground-truth boxes (KVG-Bench has exactly one).</param>
/// <param name="Cot">The first-turn reply of the <c>cot-kvg</c> prompt, else null.</param>
/// <param name="ImageHeight">Original image height, recorded as <c>hw</c>; optional.</param>
/// <param name="ImageWidth">Original image width; optional.</param>
public sealed record KvgCase(
    string QuestionId,
    string Category,
    string Answer,
    IReadOnlyList<BoundingBox> GroundTruth,
    string? Cot = null,
    int? ImageHeight = null,
    int? ImageWidth = null);

/// <summary>A scored case.</summary>
/// <param name="Case">The case.</param>
/// <param name="Prediction">The parsed prediction.</param>
/// <param name="Iou">Max IoU against the ground truth (NaN counts as 0).</param>
public sealed record KvgSampleResult(KvgCase Case, ParsedBox Prediction, double Iou)
{
    /// <summary>Correct at Acc@0.5 (IoU ≥ 0.5).</summary>
    public bool IsCorrect => Iou >= KvgScorer.CorrectIouThreshold;
}

/// <summary>Accuracy and IoU over a group of cases.</summary>
/// <param name="Count">Number of cases.</param>
/// <param name="Correct">Cases with IoU ≥ 0.5.</param>
/// <param name="MeanIou">Mean of the per-case IoUs.</param>
/// <param name="PatternCounts">Cases per match pattern; index 0 = no match, 1..8 = evaluator patterns.</param>
/// <param name="ConversionFailures">Cases whose matched text did not convert to numbers.</param>
public sealed record KvgGroupScore(int Count, int Correct, double MeanIou, IReadOnlyList<int> PatternCounts, int ConversionFailures)
{
    /// <summary>Acc@0.5 as a fraction.</summary>
    public double Accuracy => Count == 0 ? 0 : (double)Correct / Count;

    /// <summary>Acc@0.5 in percent, as the paper reports it.</summary>
    public double AccuracyPercent => Accuracy * 100;

    /// <summary>Cases with no match.</summary>
    public int Unmatched => PatternCounts[0];

    /// <summary>Cases whose box could not be read (no match or conversion failure).</summary>
    public int ParseFailures => Unmatched + ConversionFailures;

    /// <summary>Accuracy in percent with two decimals, e.g. <c>62.20</c>.</summary>
    public string FormatPercent() => AccuracyPercent.ToString("F2", CultureInfo.InvariantCulture);
}

/// <summary>The KVG-Bench report: micro averages over all, seen and unseen cases, and per category.</summary>
/// <param name="Overall">All cases.</param>
/// <param name="Seen">Seen-domain cases, or null when there are none.</param>
/// <param name="Unseen">Unseen-domain cases, or null when there are none.</param>
/// <param name="PerCategory">Per category, in split order, only categories with cases.</param>
public sealed record KvgScore(
    KvgGroupScore Overall,
    KvgGroupScore? Seen,
    KvgGroupScore? Unseen,
    IReadOnlyDictionary<string, KvgGroupScore> PerCategory)
{
    /// <summary>Cases whose box could not be read.</summary>
    public int ParseFailures => Overall.ParseFailures;
}

/// <summary>
/// Accumulates KVG-Bench cases and scores them as <c>evaluate.py</c> does: parse with
/// <see cref="KvgAnswerParser"/>, max IoU over the ground truth (torchvision float32 semantics, NaN as 0),
/// correct iff IoU ≥ 0.5; seen / unseen / all are pooled (micro) averages.
/// </summary>
public sealed class KvgScorer
{
    /// <summary>The Acc@0.5 threshold (inclusive).</summary>
    public const double CorrectIouThreshold = 0.5;

    private readonly List<KvgSampleResult> _results = [];
    private readonly HashSet<string> _ids = new(StringComparer.Ordinal);

    /// <summary>Creates a scorer for a category split (default: DeepPerception's).</summary>
    public KvgScorer(KvgCategorySplit? split = null)
    {
        Split = split ?? KvgCategorySplit.Default;
    }

    /// <summary>The category split.</summary>
    public KvgCategorySplit Split { get; }

    /// <summary>The scored cases in insertion order.</summary>
    public IReadOnlyList<KvgSampleResult> Results => _results;

    /// <summary>Parses and scores a case and keeps it.</summary>
    /// <exception cref="ArgumentException">Unknown category, duplicate question id, or no ground truth.</exception>
    public KvgSampleResult Add(KvgCase kvgCase) => Add(kvgCase, KvgAnswerParser.Parse(kvgCase.Answer));

    /// <summary>Scores a case whose answer is already parsed, and keeps it.</summary>
    public KvgSampleResult Add(KvgCase kvgCase, ParsedBox prediction)
    {
        ArgumentNullException.ThrowIfNull(kvgCase);
        ArgumentNullException.ThrowIfNull(kvgCase.GroundTruth);
        if (!Split.Contains(kvgCase.Category))
        {
            throw new ArgumentException(
                $"Case '{kvgCase.QuestionId}' has category '{kvgCase.Category}', which is not in the split ({string.Join(", ", Split.All)}).",
                nameof(kvgCase));
        }

        if (kvgCase.GroundTruth.Count == 0)
        {
            throw new ArgumentException($"Case '{kvgCase.QuestionId}' has no ground-truth box.", nameof(kvgCase));
        }

        if (!_ids.Add(kvgCase.QuestionId))
        {
            throw new ArgumentException($"Duplicate question id '{kvgCase.QuestionId}'.", nameof(kvgCase));
        }

        var result = new KvgSampleResult(kvgCase, prediction, BoxMath.MaxIou(prediction.Box, kvgCase.GroundTruth));
        _results.Add(result);
        return result;
    }

    /// <summary>Computes the report.</summary>
    /// <exception cref="InvalidOperationException">No cases were added.</exception>
    public KvgScore Compute()
    {
        if (_results.Count == 0)
        {
            throw new InvalidOperationException("No KVG cases to score.");
        }

        var seen = _results.Where(r => Split.IsSeen(r.Case.Category)).ToList();
        var unseen = _results.Where(r => !Split.IsSeen(r.Case.Category)).ToList();
        var perCategory = new Dictionary<string, KvgGroupScore>(StringComparer.Ordinal);
        foreach (var category in Split.All)
        {
            var group = _results.Where(r => r.Case.Category == category).ToList();
            if (group.Count > 0)
            {
                perCategory[category] = Group(group);
            }
        }

        return new KvgScore(
            Group(_results),
            seen.Count > 0 ? Group(seen) : null,
            unseen.Count > 0 ? Group(unseen) : null,
            perCategory);
    }

    /// <summary>Scores one group of results (accuracy, mean IoU in insertion order, pattern counts).</summary>
    public static KvgGroupScore Group(IReadOnlyList<KvgSampleResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var patterns = new int[KvgAnswerParser.PatternCount + 1];
        var correct = 0;
        var conversionFailures = 0;
        var sum = 0.0;
        foreach (var r in results)
        {
            sum += r.Iou;
            if (r.IsCorrect)
            {
                correct++;
            }

            if (r.Prediction.MatchPattern >= 0 && r.Prediction.MatchPattern < patterns.Length)
            {
                patterns[r.Prediction.MatchPattern]++;
            }

            if (r.Prediction.Status == ParseStatus.ConversionFailed)
            {
                conversionFailures++;
            }
        }

        var mean = results.Count == 0 ? 0 : sum / results.Count;
        return new KvgGroupScore(results.Count, correct, mean, patterns, conversionFailures);
    }
}
