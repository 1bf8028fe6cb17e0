using System.Text.RegularExpressions;

namespace DeepPerception.Kvg;

/// <summary>
/// The GRPO reward functions of DeepPerception's R1-V <c>grpo.py</c> (IoU reward and format reward), with the
/// reference regex and float semantics.
/// </summary>
public static class KvgRewards
{
    /// <summary>The released IoU threshold: the reward is the IoU when it is strictly above this, else 0.</summary>
    public const double DefaultIouThreshold = 0.8;

    /// <summary>Reward of a completion in the expected think/answer format.</summary>
    public const double FormatRewardValue = 0.5;

    /// <summary>The bonus <c>format_reward</c> adds when the answer's box type is 1 (never reached: types start at 2).</summary>
    public const double BoxFormatBonusValue = 0.5;

    /// <summary><c>answer_pattern</c>, verbatim.</summary>
    public const string AnswerPythonPattern = @"<answer>([\S\n\t\v ]*?)</answer>";

    /// <summary>The format-reward pattern, verbatim (applied with <c>re.match</c>, anchored at the start only).</summary>
    public const string FormatPythonPattern = @"<think>[\S\n\t\v ]*?</think>\s*<answer>[\S\n\t\v ]*?</answer>";

    /// <summary>The reward's four box patterns, verbatim; their match type is index + 2 (2..5), 0 when none match.</summary>
    public static IReadOnlyList<string> BoxPythonPatterns { get; } =
    [
        @"\((\d*?),.*?(\d*?)\),\((\d*?),(\d*?)\)",
        @"\[(\d*?), (\d*?), (\d*?), (\d*?)\]",
        @"\((\d*?), (\d*?), (\d*?), (\d*?)\)",
        @"\((\d*?), (\d*?)\)\n?.*?\((\d*?), (\d*?)\)",
    ];

    private static readonly BoxPatternSet BoxPatterns = new(BoxPythonPatterns, 2);

    private static readonly Regex AnswerRegex = new(PythonRegexClasses.Translate(AnswerPythonPattern), RegexOptions.CultureInvariant);

    private static readonly Regex FormatRegex = new(@"\A" + PythonRegexClasses.Translate(FormatPythonPattern), RegexOptions.CultureInvariant);

    /// <summary><c>get_bbox</c> of <c>grpo.py</c>: the box and its type (2..5, or 0 when nothing matches).</summary>
    public static ParsedBox ParseBox(string text) => BoxPatterns.Parse(text);

    /// <summary>Parses with the linear-time engine only (cross-check of the two engines).</summary>
    internal static ParsedBox ParseBoxLinear(string text) => BoxPatterns.Parse(text, forceLinear: true);

    /// <summary>The content of the first <c>&lt;answer&gt;…&lt;/answer&gt;</c> block (may span lines), or null.</summary>
    public static string? ExtractFirstAnswer(string completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        var m = AnswerRegex.Match(completion);
        return m.Success ? m.Groups[1].Value : null;
    }

    /// <summary>
    /// <c>iou_reward</c>: GT = <see cref="ParseBox"/> of the solution string; if the completion has an answer
    /// block, IoU (torchvision float32 semantics) between the GT and the box parsed from the first block.
    /// Thresholded form (the released one): the IoU if it is strictly greater than <paramref name="threshold"/>,
    /// else 0. Continuous form: the IoU itself. No answer block, or a NaN IoU, gives 0.
    /// </summary>
    /// <remarks>
    /// The comparison uses the float32 IoU widened to double, exactly as <c>iou.item() &gt; 0.8</c> does. A box
    /// pair whose exact IoU is 4/5 therefore gets a reward: float32(0.8) = 0.800000011920929 &gt; 0.8.
    /// </remarks>
    public static double IouReward(string completion, string solution, double threshold = DefaultIouThreshold, bool continuous = false)
    {
        ArgumentNullException.ThrowIfNull(completion);
        ArgumentNullException.ThrowIfNull(solution);
        var gt = ParseBox(solution);
        var answer = ExtractFirstAnswer(completion);
        if (answer is null)
        {
            return 0.0;
        }

        var pred = ParseBox(answer);
        var iou = BoxMath.Iou(gt.Box, pred.Box);
        if (double.IsNaN(iou))
        {
            return 0.0;
        }

        if (continuous)
        {
            return iou;
        }

        return iou > threshold ? iou : 0.0;
    }

    /// <summary>True when the completion starts with <c>&lt;think&gt;…&lt;/think&gt;</c>, optional whitespace, then <c>&lt;answer&gt;…&lt;/answer&gt;</c>.</summary>
    public static bool HasThinkAnswerFormat(string completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        return FormatRegex.IsMatch(completion);
    }

    /// <summary>
    /// <c>format_reward</c>: 0.5 for the think/answer format (anchored at the start, trailing text allowed), plus
    /// 0.5 if the first answer block's box type is 1. The box types run 0, 2..5, so the bonus never fires and
    /// the reward is 0 or 0.5; the check is kept as written in the reference.
    /// </summary>
    public static double FormatReward(string completion)
    {
        var think = HasThinkAnswerFormat(completion) ? FormatRewardValue : 0.0;
        var bonus = 0.0;
        var answer = ExtractFirstAnswer(completion);
        if (answer is not null && ParseBox(answer).MatchPattern == 1)
        {
            bonus = BoxFormatBonusValue;
        }

        return bonus + think;
    }

    /// <summary>The summed default reward functions (<c>["iou", "format"]</c>).</summary>
    public static double TotalReward(string completion, string solution, double threshold = DefaultIouThreshold, bool continuous = false) =>
        IouReward(completion, solution, threshold, continuous) + FormatReward(completion);
}
