using DeepPerception.Kvg;
using DeepPerception.ML.Preprocessing.Images;

namespace DeepPerception.ML.Kvg;

/// <summary>A scored evaluation item with the model's text and what its box landed on.</summary>
/// <param name="QuestionId">The item id.</param>
/// <param name="Category">The category (domain).</param>
/// <param name="Entity">The target entity named in the question, or null.</param>
/// <param name="Text">The model's text.</param>
/// <param name="Prediction">The parsed answer.</param>
/// <param name="Iou">IoU with the ground truth.</param>
/// <param name="Correct">IoU ≥ 0.5.</param>
/// <param name="Match">
/// The object of the image the box picked (<see cref="KvgEntityMatcher"/>): the target exactly when <paramref name="Correct"/>,
/// a sibling entity, other, or none.
/// </param>
public sealed record KvgEvaluatedItem(string QuestionId, string Category, string? Entity, string Text, ParsedBox Prediction, double Iou, bool Correct,
    KvgEntityMatch Match);

/// <summary>The outcome of scoring a model on a KVG set.</summary>
public sealed record KvgEvaluation(KvgScore Score, IReadOnlyList<KvgEvaluatedItem> Items, IReadOnlyList<KvgSampleResult> Results);

/// <summary>Progress of an evaluation: items done of total.</summary>
public readonly record struct KvgEvalProgress(int Done, int Total, double RunningAccuracy);

/// <summary>
/// Scores a model on KVG-Bench-style items exactly like the paper's evaluate.py: r1 prompt, greedy decoding, the 8-pattern
/// parser on text decoded without special tokens, IoU against the ground truth on the 0–1000 grid, Acc@0.5 and mean IoU per
/// category, seen, unseen and overall (micro averages), parse failures counted. Runs on the device worker thread.
/// </summary>
public static class KvgEvaluator
{
    /// <summary>Evaluates <paramref name="items"/> in batches.</summary>
    public static KvgEvaluation Evaluate(KvgModel model, IEnumerable<KvgBenchItem> items, GroundOptions? options = null, int batchSize = 4,
        int? limit = null, Action<KvgEvalProgress>? progress = null, KvgCategorySplit? split = null, CancellationToken cancellationToken = default)
    {
        var list = limit is int n ? items.Take(n).ToList() : items.ToList();
        var scorer = new KvgScorer(split);
        var evaluated = new List<KvgEvaluatedItem>();
        for (var start = 0; start < list.Count; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = list.Skip(start).Take(batchSize).ToList();
            var requests = batch.Select(i => new GroundRequest(SafeImageDecoder.Default.Decode(i.ImageBytes), i.Question)).ToList();
            var answers = model.Ground(requests, options, cancellationToken: cancellationToken);
            for (var k = 0; k < batch.Count; k++)
            {
                var item = batch[k];
                var gt = item.GroundTruth;
                var kvgCase = new KvgCase(item.QuestionId, item.Category, answers[k].Text, [gt]);
                var result = scorer.Add(kvgCase, answers[k].Parsed);
                var parsed = answers[k].Parsed;
                var match = KvgEntityMatcher.Match(item.Target, item.Objects, parsed.IsFailure ? null : parsed.Box);
                evaluated.Add(new KvgEvaluatedItem(item.QuestionId, item.Category, item.Entity, answers[k].Text, parsed, result.Iou, result.IsCorrect, match));
            }

            progress?.Invoke(new KvgEvalProgress(evaluated.Count, list.Count, evaluated.Count(e => e.Correct) / (double)evaluated.Count));
        }

        return new KvgEvaluation(scorer.Compute(), evaluated, scorer.Results);
    }
}
