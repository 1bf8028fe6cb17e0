using System.Globalization;
using System.Text.RegularExpressions;

namespace DeepPerception.Kvg;

/// <summary>The evaluation prompt variants (<c>--prompt</c> of the reference evaluator).</summary>
public enum KvgPromptStyle
{
    /// <summary><c>None</c>: the raw question (base-model baselines).</summary>
    None,

    /// <summary><c>r1</c>: the question in the think/answer grounding template (DeepPerception and GRPO).</summary>
    R1,

    /// <summary><c>cot-normal</c>: zero-shot chain of thought, question + ". Let's think step by step".</summary>
    CotNormal,

    /// <summary><c>cot-kvg</c>: a description turn, the model's reply, then a grounding turn.</summary>
    CotKvg,
}

/// <summary>The user turns of one evaluation prompt.</summary>
/// <param name="FirstTurn">The first user text (after the image).</param>
/// <param name="SecondTurn">For <see cref="KvgPromptStyle.CotKvg"/>, the user text that follows the model's reply to the first turn; otherwise null.</param>
/// <param name="FirstTurnImageDropped">
/// True for <see cref="KvgPromptStyle.CotKvg"/>: the reference HF path calls the processor for turn 1 without
/// images (a bug in the released code), so the first turn sees no pixels.
/// </param>
public sealed record KvgPromptTurns(string FirstTurn, string? SecondTurn, bool FirstTurnImageDropped);

/// <summary>The exact prompt, query and answer strings of DeepPerception's KVG task.</summary>
public static class KvgPrompts
{
    /// <summary>Qwen2-VL special token opening an object reference.</summary>
    public const string ObjectRefStart = "<|object_ref_start|>";

    /// <summary>Qwen2-VL special token closing an object reference.</summary>
    public const string ObjectRefEnd = "<|object_ref_end|>";

    /// <summary>Qwen2-VL special token opening a box.</summary>
    public const string BoxStart = "<|box_start|>";

    /// <summary>Qwen2-VL special token closing a box.</summary>
    public const string BoxEnd = "<|box_end|>";

    /// <summary>
    /// <c>GROUNDING_TEMPLATE</c> / <c>QUESTION_TEMPLATE</c> (eval <c>r1</c> and GRPO), with <c>{Question}</c> as the
    /// placeholder. Note the two spaces after the question.
    /// </summary>
    public const string GroundingTemplate =
        "{Question}  Output the thinking process in <think> </think> and final answer (bounding box) in <answer> </answer> tags.";

    /// <summary>The FGVR (multiple-choice) variant of the template, with <c>{Question}</c> as the placeholder.</summary>
    public const string FgvrTemplate =
        "{Question}  Output the thinking process in <think> </think> and final answer in <answer> </answer> tags.";

    /// <summary>The suffix <c>cot-normal</c> appends to the question.</summary>
    public const string CotNormalSuffix = ". Let's think step by step";

    /// <summary>The query text before the entity reference.</summary>
    public const string QueryPrefix = "Find and give the bounding box of ";

    /// <summary>The reference entity-extraction regex (<c>REF_PATTERN</c>), verbatim.</summary>
    public const string RefPythonPattern = @"<\|object_ref_start\|>(.*?)<\|object_ref_end\|>";

    /// <summary>The KVG-Bench ground-truth regex on the <c>answer</c> field (<c>PATTERN</c> of <c>inference.py</c>), verbatim.</summary>
    public const string GroundTruthPythonPattern = @"<\|box_start\|>\(([0-9]*?),([0-9]*?)\),\(([0-9]*?),([0-9]*?)\)<\|box_end\|>";

    private static readonly Regex RefRegex = new(RefPythonPattern, RegexOptions.CultureInvariant);

    private static readonly Regex GroundTruthRegex = new(GroundTruthPythonPattern, RegexOptions.CultureInvariant);

    /// <summary>Parses a <c>--prompt</c> value: <c>None</c> (or null/empty), <c>r1</c>, <c>cot-normal</c>, <c>cot-kvg</c>.</summary>
    public static KvgPromptStyle ParseStyle(string? value) => value switch
    {
        null or "" or "None" => KvgPromptStyle.None,
        "r1" => KvgPromptStyle.R1,
        "cot-normal" => KvgPromptStyle.CotNormal,
        "cot-kvg" => KvgPromptStyle.CotKvg,
        _ => throw new ArgumentException($"Unknown KVG prompt style '{value}' (expected None, r1, cot-normal or cot-kvg).", nameof(value)),
    };

    /// <summary>The <c>r1</c> prompt: <see cref="GroundingTemplate"/> with the question substituted.</summary>
    public static string R1(string question)
    {
        ArgumentNullException.ThrowIfNull(question);
        return GroundingTemplate.Replace("{Question}", question, StringComparison.Ordinal);
    }

    /// <summary>The <c>cot-normal</c> prompt.</summary>
    public static string CotNormal(string question)
    {
        ArgumentNullException.ThrowIfNull(question);
        return question + CotNormalSuffix;
    }

    /// <summary>The first <c>cot-kvg</c> turn for an entity.</summary>
    public static string CotKvgFirstTurn(string entity)
    {
        ArgumentNullException.ThrowIfNull(entity);
        return $"Which object in this image is {entity}? Give a detailed and discriminative description of the appearance of it";
    }

    /// <summary>The second <c>cot-kvg</c> turn for an entity.</summary>
    public static string CotKvgSecondTurn(string entity)
    {
        ArgumentNullException.ThrowIfNull(entity);
        return $"Based on the description, find and give the bounding box of {ObjectRefStart}{entity}{ObjectRefEnd}";
    }

    /// <summary>The user turns for a question under a prompt style.</summary>
    /// <exception cref="KvgFormatException">cot-kvg on a question without an object reference.</exception>
    public static KvgPromptTurns Build(KvgPromptStyle style, string question)
    {
        ArgumentNullException.ThrowIfNull(question);
        switch (style)
        {
            case KvgPromptStyle.None:
                return new KvgPromptTurns(question, null, false);
            case KvgPromptStyle.R1:
                return new KvgPromptTurns(R1(question), null, false);
            case KvgPromptStyle.CotNormal:
                return new KvgPromptTurns(CotNormal(question), null, false);
            case KvgPromptStyle.CotKvg:
                var entity = ExtractEntity(question)
                    ?? throw new KvgFormatException($"The cot-kvg prompt needs an object reference in the question: '{question}'.");
                return new KvgPromptTurns(CotKvgFirstTurn(entity), CotKvgSecondTurn(entity), true);
            default:
                throw new ArgumentOutOfRangeException(nameof(style), style, "Unknown prompt style.");
        }
    }

    /// <summary>The KVG query: <c>Find and give the bounding box of &lt;|object_ref_start|&gt;{name}&lt;|object_ref_end|&gt;</c>.</summary>
    public static string Query(string entity)
    {
        ArgumentNullException.ThrowIfNull(entity);
        return QueryPrefix + ObjectRefStart + entity + ObjectRefEnd;
    }

    /// <summary>The entity between the first object-reference tokens of a question (<c>re.search(REF_PATTERN)</c>), or null.</summary>
    public static string? ExtractEntity(string question)
    {
        ArgumentNullException.ThrowIfNull(question);
        var m = RefRegex.Match(question);
        return m.Success ? m.Groups[1].Value : null;
    }

    /// <summary>Box text in Qwen grounding syntax: <c>(x1,y1),(x2,y2)</c>, no spaces.</summary>
    public static string BoxText(int x1, int y1, int x2, int y2) =>
        string.Create(CultureInfo.InvariantCulture, $"({x1},{y1}),({x2},{y2})");

    /// <summary>Native Qwen2-VL grounding output: <c>&lt;|object_ref_start|&gt;E&lt;|object_ref_end|&gt;&lt;|box_start|&gt;(x1,y1),(x2,y2)&lt;|box_end|&gt;</c>.</summary>
    public static string NativeAnswer(string entity, int x1, int y1, int x2, int y2)
    {
        ArgumentNullException.ThrowIfNull(entity);
        return ObjectRefStart + entity + ObjectRefEnd + BoxStart + BoxText(x1, y1, x2, y2) + BoxEnd;
    }

    /// <summary>
    /// The GRPO solution / CoT answer string:
    /// <c>&lt;answer&gt; &lt;|object_ref_start|&gt;E&lt;|object_ref_end|&gt;&lt;|box_start|&gt;(x1,y1),(x2,y2)&lt;|box_end|&gt; &lt;/answer&gt;</c>.
    /// </summary>
    public static string Solution(string entity, int x1, int y1, int x2, int y2) =>
        "<answer> " + NativeAnswer(entity, x1, y1, x2, y2) + " </answer>";

    /// <summary>
    /// Reads the ground-truth box from a KVG-Bench <c>answer</c> field: the first match of the box regex, each group
    /// through Python <c>float()</c>.
    /// </summary>
    /// <exception cref="KvgFormatException">No box in the text, or an empty coordinate.</exception>
    public static BoundingBox ParseGroundTruth(string answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        var m = GroundTruthRegex.Match(answer);
        if (!m.Success)
        {
            throw new KvgFormatException($"No '<|box_start|>(x1,y1),(x2,y2)<|box_end|>' box in the answer '{answer}'.");
        }

        var v = new double[4];
        for (var i = 0; i < 4; i++)
        {
            if (!PythonFloat.TryParse(m.Groups[i + 1].Value, out v[i]))
            {
                throw new KvgFormatException($"Coordinate {i + 1} of the ground-truth box in '{answer}' is empty.");
            }
        }

        return new BoundingBox(v[0], v[1], v[2], v[3]);
    }
}

/// <summary>Text that does not have the KVG format a component requires.</summary>
public class KvgFormatException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public KvgFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with an inner cause.</summary>
    public KvgFormatException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
