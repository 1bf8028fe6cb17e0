using DeepPerception.Kvg;

namespace DeepPerception.Data.Synth;

/// <summary>
/// IoU-gated rejection of rationales: a rationale is kept only when the box in its first <c>&lt;answer&gt;</c> block
/// (parsed exactly like the GRPO IoU reward, <see cref="KvgRewards"/>) overlaps the label box with IoU at or above a
/// threshold (torchvision semantics, <see cref="BoxMath"/>).
/// </summary>
public static class RationaleFilter
{
    /// <summary>The answer box of a completion, or null when it has no answer block or no parsable box in it.</summary>
    public static BoundingBox? ExtractAnswerBox(string completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        var answer = KvgRewards.ExtractFirstAnswer(completion);
        if (answer is null)
        {
            return null;
        }

        var parsed = KvgRewards.ParseBox(answer);
        return parsed.IsFailure ? null : parsed.Box;
    }

    /// <summary>IoU of the completion's answer box with the label (0 when nothing can be parsed or the IoU is NaN).</summary>
    public static double AnswerIoU(string completion, GridBox label)
    {
        if (ExtractAnswerBox(completion) is not { } box)
        {
            return 0.0;
        }

        var iou = BoxMath.Iou(box, label.ToBoundingBox());
        return double.IsNaN(iou) ? 0.0 : iou;
    }

    /// <summary>Whether to keep a rationale: its answer box has IoU ≥ <paramref name="threshold"/> with the label.</summary>
    public static bool Keep(string completion, GridBox label, double threshold = 0.5)
    {
        if (double.IsNaN(threshold) || threshold < 0 || threshold > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The IoU threshold must lie in [0, 1].");
        }

        return AnswerIoU(completion, label) >= threshold;
    }

    /// <summary>Keeps the items whose completion passes <see cref="Keep"/> against their label.</summary>
    public static IEnumerable<T> Filter<T>(IEnumerable<T> items, Func<T, string> completion, Func<T, GridBox> label, double threshold = 0.5)
    {
        ArgumentNullException.ThrowIfNull(items);
        return items.Where(i => Keep(completion(i), label(i), threshold));
    }
}
