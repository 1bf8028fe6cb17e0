namespace DeepPerception.Kvg;

/// <summary>
/// Writes an evaluation's files in the layout of <c>evaluate.py</c>: <c>metrics.json</c>
/// (<c>{"all": {"all": {"Acc", "IoU", "Num"}}, "seen domain": …, "unseen domain": …}</c>) and one
/// <c>&lt;category&gt;.json</c> per category holding the per-case records
/// (<c>cot, answer, gt_bbox, hw, pred_bbox, iou, match pattern</c>), plus <c>kvg-score.json</c> with the
/// per-category accuracies and parse statistics the reference only prints.
/// </summary>
public static class KvgEvalOutput
{
    /// <summary>The reference's per-case record for one result (keys in the reference order).</summary>
    public static PythonJson.Object CaseRecord(KvgSampleResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var c = result.Case;
        var record = new PythonJson.Object
        {
            { "cot", c.Cot },
            { "answer", c.Answer },
            { "gt_bbox", c.GroundTruth.Select(b => (object?)b.ToArray().Cast<object?>().ToList()).ToList() },
        };
        if (c.ImageHeight is { } h && c.ImageWidth is { } w)
        {
            record.Add("hw", new List<object?> { h, w });
        }

        var p = result.Prediction;

        // A conversion failure gives the Python list [0, 0, 0, 0] of ints; otherwise floats.
        record.Add("pred_bbox", p.Status == ParseStatus.ConversionFailed
            ? new List<object?> { 0, 0, 0, 0 }
            : new List<object?> { p.X1, p.Y1, p.X2, p.Y2 });

        // max_iou starts as the int 0 and becomes a float only when some IoU exceeds it.
        record.Add("iou", result.Iou > 0 ? result.Iou : (object)0);
        record.Add("match pattern", p.MatchPattern);
        return record;
    }

    /// <summary>The reference <c>metrics.json</c> content (groups without cases are left out).</summary>
    public static PythonJson.Object Metrics(KvgScore score)
    {
        ArgumentNullException.ThrowIfNull(score);
        var metrics = new PythonJson.Object { { "all", Wrap(score.Overall) } };
        if (score.Seen is not null)
        {
            metrics.Add("seen domain", Wrap(score.Seen));
        }

        if (score.Unseen is not null)
        {
            metrics.Add("unseen domain", Wrap(score.Unseen));
        }

        return metrics;
    }

    /// <summary>The extended summary: every group with accuracy (fraction and percent), mean IoU, counts and pattern counts.</summary>
    public static PythonJson.Object Summary(KvgScore score)
    {
        ArgumentNullException.ThrowIfNull(score);
        var perCategory = new PythonJson.Object();
        foreach (var (category, group) in score.PerCategory)
        {
            perCategory.Add(category, Detail(group));
        }

        return new PythonJson.Object
        {
            { "all", Detail(score.Overall) },
            { "seen domain", score.Seen is null ? null : Detail(score.Seen) },
            { "unseen domain", score.Unseen is null ? null : Detail(score.Unseen) },
            { "categories", perCategory },
            { "parse failures", score.ParseFailures },
        };
    }

    /// <summary>Writes <c>metrics.json</c>, <c>kvg-score.json</c> and one file per category with cases into <paramref name="directory"/>.</summary>
    public static async Task WriteAsync(string directory, KvgScorer scorer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(scorer);
        Directory.CreateDirectory(directory);
        var score = scorer.Compute();
        foreach (var category in scorer.Split.All)
        {
            var records = scorer.Results.Where(r => r.Case.Category == category).Select(CaseRecord).ToList();
            if (records.Count == 0)
            {
                continue;
            }

            await File.WriteAllTextAsync(Path.Combine(directory, category + ".json"), PythonJson.Serialize(records, 4), cancellationToken).ConfigureAwait(false);
        }

        await File.WriteAllTextAsync(Path.Combine(directory, "metrics.json"), PythonJson.Serialize(Metrics(score)), cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(directory, "kvg-score.json"), PythonJson.Serialize(Summary(score), 4), cancellationToken).ConfigureAwait(false);
    }

    private static PythonJson.Object Wrap(KvgGroupScore g) => new()
    {
        {
            "all", new PythonJson.Object
            {
                { "Acc", g.Accuracy },
                { "IoU", g.MeanIou },
                { "Num", g.Count },
            }
        },
    };

    private static PythonJson.Object Detail(KvgGroupScore g) => new()
    {
        { "Acc", g.Accuracy },
        { "Acc %", Math.Round(g.AccuracyPercent, 2) },
        { "IoU", g.MeanIou },
        { "Num", g.Count },
        { "Correct", g.Correct },
        { "match patterns", g.PatternCounts.Cast<object?>().ToList() },
        { "conversion failures", g.ConversionFailures },
        { "parse failures", g.ParseFailures },
    };
}
