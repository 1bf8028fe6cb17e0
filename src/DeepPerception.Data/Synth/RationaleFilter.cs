using System.Globalization;
using System.Text.RegularExpressions;

namespace DeepPerception.Data.Synth;

/// <summary>
/// IoU-gated rejection of rationales: a rationale is kept only when the box in its final <c>&lt;answer&gt;</c> block
/// overlaps the label box with IoU at or above a threshold (the parsing follows R1-V's reward code: the first answer
/// block, the first matching box pattern, its last hit, ×1000 when the four values sum to less than 4).
/// </summary>
public static partial class RationaleFilter
{
    /// <summary>Extracts the answer box of a completion, or null when it has no answer block or no box in it.</summary>
    public static GridBox? ExtractAnswerBox(string completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        var answer = AnswerBlock().Match(completion);
        if (!answer.Success)
        {
            return null;
        }

        var content = answer.Groups[1].Value;
        foreach (var pattern in BoxPatterns)
        {
            var hits = pattern.Matches(content);
            if (hits.Count == 0)
            {
                continue;
            }

            var m = hits[^1];
            var values = new double[4];
            for (var i = 0; i < 4; i++)
            {
                if (!double.TryParse(m.Groups[i + 1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]))
                {
                    return new GridBox(0, 0, 0, 0);
                }
            }

            if (values.Sum() < 4)
            {
                for (var i = 0; i < 4; i++)
                {
                    values[i] *= 1000;
                }
            }

            return new GridBox((int)Math.Round(values[0]), (int)Math.Round(values[1]), (int)Math.Round(values[2]), (int)Math.Round(values[3]));
        }

        return null;
    }

    /// <summary>IoU of the completion's answer box with the label (0 when nothing can be parsed).</summary>
    public static double AnswerIoU(string completion, GridBox label) => ExtractAnswerBox(completion) is { } box ? box.IoU(label) : 0.0;

    /// <summary>Whether to keep a rationale: its answer box has IoU ≥ <paramref name="threshold"/> with the label.</summary>
    public static bool Keep(string completion, GridBox label, double threshold = 0.5)
    {
        if (double.IsNaN(threshold) || threshold < 0 || threshold > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The IoU threshold must lie in [0, 1].");
        }

        return AnswerIoU(completion, label) >= threshold;
    }

    /// <summary>Keeps the (completion, label) pairs that pass <see cref="Keep"/>.</summary>
    public static IEnumerable<T> Filter<T>(IEnumerable<T> items, Func<T, string> completion, Func<T, GridBox> label, double threshold = 0.5) =>
        items.Where(i => Keep(completion(i), label(i), threshold));

    private static readonly Regex[] BoxPatterns =
    [
        new(@"\((\d*?),.*?(\d*?)\),\((\d*?),(\d*?)\)", RegexOptions.CultureInvariant),
        new(@"\[(\d*?), (\d*?), (\d*?), (\d*?)\]", RegexOptions.CultureInvariant),
        new(@"\((\d*?), (\d*?), (\d*?), (\d*?)\)", RegexOptions.CultureInvariant),
        new(@"\((\d*?), (\d*?)\)\n?.*?\((\d*?), (\d*?)\)", RegexOptions.CultureInvariant),
    ];

    [GeneratedRegex(@"<answer>([\S\n\t\v ]*?)</answer>", RegexOptions.CultureInvariant)]
    private static partial Regex AnswerBlock();
}
