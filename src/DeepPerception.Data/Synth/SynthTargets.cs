using System.Globalization;
using DeepPerception.Kvg;

namespace DeepPerception.Data.Synth;

/// <summary>Where a templated rationale puts the target's box.</summary>
public enum CotLayout
{
    /// <summary>
    /// The visual analysis names the target's place with its box ("The second from the left (x1,y1),(x2,y2) has …"), the
    /// comparisons follow, and the answer repeats the box: the answer copies a box written earlier.
    /// </summary>
    BoxInAnalysis,

    /// <summary>
    /// The comparisons come first and the analysis ends on the target's place without a box ("… The second from the
    /// left has …. So it is NAME."); the box is written once, in the answer right after it.
    /// </summary>
    LocateLast,

    /// <summary>
    /// The analysis only recalls what singles the target out ("NAME has A and B."): no place, no comparisons. The box is
    /// written once, in the answer right after the recalled attributes, so it is placed about twenty tokens after the
    /// image instead of a hundred.
    /// </summary>
    Recall,

    /// <summary>
    /// The analysis repeats the target's knowledge-base sentence (<see cref="SynthText.Knowledge"/>), the form in which the
    /// base stage learnt every entity of all ten domains; the box is written once, in the answer right after it.
    /// </summary>
    Describe,
}

/// <summary>
/// Training targets for a sample: the direct (answer-only) target for plain SFT and short templated CoT rationales
/// following the paper's four phases (planning → visual analysis with boxes → comparison with the same-type objects in
/// the image → conclusion).
/// </summary>
public static class SynthTargets
{
    /// <summary>Upper bound on the number of words inside the <c>&lt;think&gt;</c> block.</summary>
    public const int MaxThinkWords = 60;

    private static readonly string[] Ordinals = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth"];

    /// <summary>Qwen2-VL's native grounding output: <c>&lt;|object_ref_start|&gt;E&lt;|object_ref_end|&gt;&lt;|box_start|&gt;(x1,y1),(x2,y2)&lt;|box_end|&gt;</c>.</summary>
    public static string Direct(SynthSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var b = sample.TargetGridBox;
        return KvgPrompts.NativeAnswer(sample.Target.Label, b.X1, b.Y1, b.X2, b.Y2);
    }

    /// <summary>
    /// Dense grounding: every object of the image in reading order (layout row, then column), one native answer per line
    /// (<c>&lt;|object_ref_start|&gt;label&lt;|object_ref_end|&gt;&lt;|box_start|&gt;(x1,y1),(x2,y2)&lt;|box_end|&gt;</c>), labelled by
    /// <paramref name="label"/> (default: the object's label). One image supervises as many boxes as it has objects.
    /// </summary>
    public static string Dense(SynthSample sample, Func<SynthObject, string>? label = null)
    {
        ArgumentNullException.ThrowIfNull(sample);
        return string.Join("\n", sample.Objects.OrderBy(o => o.Row).ThenBy(o => o.Column).Select(o =>
        {
            var b = o.Box.ToGrid(sample.Image.Width, sample.Image.Height);
            return KvgPrompts.NativeAnswer(label?.Invoke(o) ?? o.Label, b.X1, b.Y1, b.X2, b.Y2);
        }));
    }

    /// <summary>The answer block: <c>&lt;answer&gt; …Direct… &lt;/answer&gt;</c>.</summary>
    public static string AnswerBlock(SynthSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var b = sample.TargetGridBox;
        return KvgPrompts.Solution(sample.Target.Label, b.X1, b.Y1, b.X2, b.Y2);
    }

    /// <summary>The full CoT target: a <c>&lt;think&gt;</c> block, a newline and the answer block.</summary>
    public static string Cot(SynthSample sample, CotLayout layout = CotLayout.BoxInAnalysis) => Think(sample, layout) + "\n" + AnswerBlock(sample);

    /// <summary>The <c>&lt;think&gt;…&lt;/think&gt;</c> block (at most <see cref="MaxThinkWords"/> words inside).</summary>
    public static string Think(SynthSample sample, CotLayout layout = CotLayout.BoxInAnalysis)
    {
        ArgumentNullException.ThrowIfNull(sample);
        for (var comparisons = 2; comparisons >= 0; comparisons--)
        {
            var text = sample.Target.Entity is not null ? EntityThink(sample, comparisons, layout) : ShapeThink(sample, comparisons, layout);
            if (CountWords(text) <= MaxThinkWords || comparisons == 0)
            {
                return $"<think>{text}</think>";
            }
        }

        throw new InvalidOperationException("unreachable");
    }

    /// <summary>Number of whitespace-separated words.</summary>
    public static int CountWords(string text) => text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;

    /// <summary>
    /// The attribute kinds that single the target out among the other entities of the image, chosen greedily (the kind
    /// that rules out most remaining distractors first); at least two kinds are returned.
    /// </summary>
    public static IReadOnlyList<SynthAttributeKind> DistinguishingKinds(SynthSample sample)
    {
        var target = sample.Target.Entity ?? throw new ArgumentException("The sample's target is not an entity.", nameof(sample));
        var remaining = sample.Objects.Where(o => o != sample.Target && o.Entity is not null).Select(o => o.Entity!).ToList();
        var all = remaining.ToList();
        var chosen = new List<SynthAttributeKind>();
        while (remaining.Count > 0)
        {
            var best = SynthAttributes.Kinds.Where(k => !chosen.Contains(k))
                .OrderByDescending(k => remaining.Count(e => e.Attributes.Value(k) != target.Attributes.Value(k)))
                .First();
            var ruledOut = remaining.RemoveAll(e => e.Attributes.Value(best) != target.Attributes.Value(best));
            if (ruledOut == 0)
            {
                throw new InvalidOperationException($"Entities in sample {sample.Id} cannot be told apart from {target.Name}.");
            }

            chosen.Add(best);
        }

        while (chosen.Count < 2)
        {
            chosen.Add(SynthAttributes.Kinds.Where(k => !chosen.Contains(k))
                .OrderByDescending(k => all.Count(e => e.Attributes.Value(k) != target.Attributes.Value(k)))
                .First());
        }

        return chosen;
    }

    /// <summary>How a rationale names the place of an object, from the layout (e.g. "The second from the left").</summary>
    public static string Subject(SynthSample sample, SynthObject obj)
    {
        switch (sample.Layout)
        {
            case SynthLayout.HorizontalConcat:
                return $"The {Ordinals[obj.Column]} from the left";
            case SynthLayout.VerticalConcat:
                return $"The {Ordinals[obj.Row]} from the top";
            case SynthLayout.Grid:
                return string.Create(CultureInfo.InvariantCulture, $"The one in row {obj.Row + 1}, column {obj.Column + 1}");
            default:
                {
                    var cx = (obj.Box.X1 + obj.Box.X2) / 2.0 / sample.Image.Width;
                    var cy = (obj.Box.Y1 + obj.Box.Y2) / 2.0 / sample.Image.Height;
                    var v = cy < 1 / 3.0 ? "top" : cy < 2 / 3.0 ? string.Empty : "bottom";
                    var h = cx < 1 / 3.0 ? "left" : cx < 2 / 3.0 ? string.Empty : "right";
                    var region = (v, h) switch
                    {
                        ("", "") => "centre",
                        ("", _) => h,
                        (_, "") => v,
                        _ => $"{v} {h}",
                    };
                    return $"The one at the {region}";
                }
        }
    }

    private static string EntityThink(SynthSample sample, int comparisons, CotLayout layout)
    {
        var target = sample.Target.Entity!;
        var kinds = DistinguishingKinds(sample);
        var phrases = SynthText.JoinAnd(kinds.Select(k => SynthText.Phrase(target, k)).ToList());
        if (layout == CotLayout.Recall)
        {
            return $"{target.Name} has {phrases}.";
        }

        if (layout == CotLayout.Describe)
        {
            return SynthText.Knowledge(target);
        }

        var parts = new List<string>
        {
            $"{target.Name} has {phrases}.",
            string.Create(CultureInfo.InvariantCulture, $"The image shows {sample.Objects.Count} {target.Domain.PluralNoun}."),
        };
        var located = layout == CotLayout.LocateLast
            ? $"{Subject(sample, sample.Target)} has {phrases}."
            : $"{Subject(sample, sample.Target)} {sample.Answer} has {phrases}.";
        if (layout == CotLayout.BoxInAnalysis)
        {
            parts.Add(located);
        }

        var others = sample.Objects.Where(o => o != sample.Target && o.Entity is not null)
            .OrderBy(o => o.Entity!.Family == target.Family ? 0 : 1)
            .ThenBy(o => o.Entity!.Attributes.DifferingFrom(target.Attributes).Count)
            .ThenBy(o => sample.Objects.ToList().IndexOf(o))
            .Take(comparisons);
        foreach (var o in others)
        {
            var kind = kinds.FirstOrDefault(k => o.Entity!.Attributes.Value(k) != target.Attributes.Value(k), kinds[0]);
            parts.Add($"{Subject(sample, o)} has {SynthText.Phrase(o.Entity!, kind)}.");
        }

        if (layout == CotLayout.LocateLast)
        {
            parts.Add(located);
        }

        parts.Add($"So it is {target.Name}.");
        return string.Join(" ", parts);
    }

    private static string ShapeThink(SynthSample sample, int comparisons, CotLayout layout)
    {
        var target = sample.Target.Shape ?? throw new ArgumentException("The sample's target has neither an entity nor shape attributes.", nameof(sample));
        if (layout is CotLayout.Recall or CotLayout.Describe)
        {
            return $"I need {sample.Target.Label}.";
        }

        var parts = new List<string>
        {
            $"I need {sample.Target.Label}.",
            string.Create(CultureInfo.InvariantCulture, $"The image shows {sample.Objects.Count} shapes."),
        };
        var located = layout == CotLayout.LocateLast
            ? $"{Subject(sample, sample.Target)} is {target.FullDescription}."
            : $"{Subject(sample, sample.Target)} {sample.Answer} is {target.FullDescription}.";
        if (layout == CotLayout.BoxInAnalysis)
        {
            parts.Add(located);
        }

        foreach (var o in sample.Objects.Where(o => o != sample.Target && o.Shape is not null).Take(comparisons))
        {
            parts.Add($"{Subject(sample, o)} is {o.Shape!.FullDescription}.");
        }

        if (layout == CotLayout.LocateLast)
        {
            parts.Add(located);
        }

        parts.Add("So that is the one.");
        return string.Join(" ", parts);
    }
}
