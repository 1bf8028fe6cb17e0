using System.Text.RegularExpressions;
using DeepPerception.Data.Synth;
using DeepPerception.Kvg;

namespace DeepPerception.Data.Synthesis;

/// <summary>Why a rationale was not kept.</summary>
public enum RationaleRejection
{
    /// <summary>The rationale has no text.</summary>
    Empty,

    /// <summary>No box can be parsed from the rationale's answer block or, without one, from its text.</summary>
    NoBox,

    /// <summary>The rationale's final box overlaps the label with an IoU below the threshold.</summary>
    LowIoU,

    /// <summary>The teacher failed (unreachable, refused, or answered something that is not a chat completion).</summary>
    TeacherError,
}

/// <summary>The gate's decision on one rationale.</summary>
/// <param name="Kept">Whether the rationale is kept.</param>
/// <param name="Rejection">Why it was rejected (null when kept).</param>
/// <param name="FinalBox">The rationale's final box on the 0–1000 grid, when one could be parsed.</param>
/// <param name="IoU">IoU of <paramref name="FinalBox"/> with the label (0 without a box).</param>
public sealed record RationaleVerdict(bool Kept, RationaleRejection? Rejection, BoundingBox? FinalBox, double IoU);

/// <summary>
/// IoU-gated rejection (the paper keeps a rationale only when the box it concludes with matches the label). The final
/// box is the one in the first <c>&lt;answer&gt;</c> block when there is one (<see cref="RationaleFilter"/>, parsed like
/// the GRPO IoU reward), otherwise the last box of the text (the conclusion's); the IoU uses torchvision semantics.
/// </summary>
public static partial class RationaleGate
{
    /// <summary>The rationale's final box, or null when none can be parsed.</summary>
    public static BoundingBox? FinalBox(string rationale)
    {
        ArgumentNullException.ThrowIfNull(rationale);
        if (KvgRewards.ExtractFirstAnswer(rationale) is not null)
        {
            return RationaleFilter.ExtractAnswerBox(rationale);
        }

        var parsed = KvgRewards.ParseBox(rationale);
        return parsed.IsFailure ? null : parsed.Box;
    }

    /// <summary>Judges one rationale against the label box.</summary>
    public static RationaleVerdict Evaluate(string rationale, GridBox label, double threshold = 0.5)
    {
        ArgumentNullException.ThrowIfNull(rationale);
        if (double.IsNaN(threshold) || threshold < 0 || threshold > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The IoU threshold must lie in [0, 1].");
        }

        if (string.IsNullOrWhiteSpace(rationale))
        {
            return new RationaleVerdict(false, RationaleRejection.Empty, null, 0);
        }

        if (FinalBox(rationale) is not { } box)
        {
            return new RationaleVerdict(false, RationaleRejection.NoBox, null, 0);
        }

        var iou = BoxMath.Iou(box, label.ToBoundingBox());
        iou = double.IsNaN(iou) ? 0 : iou;
        return iou >= threshold ? new RationaleVerdict(true, null, box, iou) : new RationaleVerdict(false, RationaleRejection.LowIoU, box, iou);
    }

    /// <summary>
    /// The SFT target of a kept rationale: its reasoning (without think tags or answer blocks) inside one
    /// <c>&lt;think&gt;</c> block, a newline, and the answer block with the label box in the platform's answer format.
    /// </summary>
    public static string SftTarget(string rationale, string entity, GridBox label)
    {
        ArgumentNullException.ThrowIfNull(rationale);
        ArgumentException.ThrowIfNullOrWhiteSpace(entity);
        var body = AnswerBlock().Replace(rationale, string.Empty);
        body = ThinkTag().Replace(body, string.Empty).Trim();
        return $"<think>{body}</think>\n{KvgPrompts.Solution(entity, label.X1, label.Y1, label.X2, label.Y2)}";
    }

    [GeneratedRegex(@"<answer>[\S\s]*?(</answer>|$)")]
    private static partial Regex AnswerBlock();

    [GeneratedRegex(@"</?think>")]
    private static partial Regex ThinkTag();
}
