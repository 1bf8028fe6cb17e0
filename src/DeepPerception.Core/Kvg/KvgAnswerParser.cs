using System.Text.RegularExpressions;

namespace DeepPerception.Kvg;

/// <summary>Outcome of parsing a box out of decoded model text.</summary>
public enum ParseStatus
{
    /// <summary>No pattern matched; the box is (0,0,0,0) and the match pattern 0.</summary>
    NoMatch = 0,

    /// <summary>A pattern matched and all four values converted with Python <c>float()</c> semantics.</summary>
    Parsed = 1,

    /// <summary>A pattern matched but a value did not convert; the box is [0,0,0,0] as in the reference code.</summary>
    ConversionFailed = 2,
}

/// <summary>A box parsed from model output, with the 1-based index of the pattern that produced it (0 = none).</summary>
/// <param name="X1">Left.</param>
/// <param name="Y1">Top.</param>
/// <param name="X2">Right.</param>
/// <param name="Y2">Bottom.</param>
/// <param name="MatchPattern">1-based index of the winning pattern in its pattern list, or 0.</param>
/// <param name="Status">Whether the text matched and converted.</param>
public readonly record struct ParsedBox(double X1, double Y1, double X2, double Y2, int MatchPattern, ParseStatus Status)
{
    /// <summary>The four coordinates as a box.</summary>
    public BoundingBox Box => new(X1, Y1, X2, Y2);

    /// <summary>True when the text matched no pattern or a value did not convert.</summary>
    public bool IsFailure => Status != ParseStatus.Parsed;
}

/// <summary>
/// An ordered list of box regexes applied with the reference <c>get_bbox</c> rules: the first pattern with at
/// least one <c>findall</c> hit wins, its last hit is used, group 1 loses every <c>[</c> and <c>x</c>, the four
/// groups go through Python <c>float()</c> (any failure gives [0,0,0,0]), and if the four values sum to less
/// than 4 all are multiplied by 1000.
/// </summary>
/// <remarks>
/// Matching uses .NET's backtracking engine, which explores alternatives in the same order as Python's <c>sre</c>
/// and so yields the same matches and groups. Some patterns (e.g. evaluator pattern 4,
/// <c>\((.*?),.*?(.*?)\).*?\((.*?),.*?(.*?)\)</c>) take polynomial time on long lines with many parentheses and
/// commas but no match — Python hangs on those too. A pattern that runs longer than
/// <see cref="BacktrackingTimeout"/> is re-run with <see cref="RegexOptions.NonBacktracking"/>, which is linear in
/// the input and designed to return the same leftmost, priority-respecting matches; the test suite checks that both
/// engines agree on every parser case.
/// </remarks>
public sealed class BoxPatternSet
{
    /// <summary>How long one pattern may backtrack on one text before the linear-time engine takes over.</summary>
    public static readonly TimeSpan BacktrackingTimeout = TimeSpan.FromSeconds(2);

    private readonly Regex[] _regexes;
    private readonly Lazy<Regex>[] _linear;

    /// <summary>Creates the set from Python pattern strings (translated to .NET with Python's class semantics).</summary>
    /// <param name="pythonPatterns">Patterns in priority order; each must have exactly four groups.</param>
    /// <param name="indexOffset">Value added to the 0-based index to form the reported match pattern.</param>
    public BoxPatternSet(IReadOnlyList<string> pythonPatterns, int indexOffset)
    {
        ArgumentNullException.ThrowIfNull(pythonPatterns);
        PythonPatterns = pythonPatterns;
        IndexOffset = indexOffset;
        var translated = pythonPatterns.Select(PythonRegexClasses.Translate).ToArray();
        _regexes = translated.Select(p => new Regex(p, RegexOptions.CultureInvariant, BacktrackingTimeout)).ToArray();
        _linear = translated
            .Select(p => new Lazy<Regex>(() => new Regex(p, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking)))
            .ToArray();
        foreach (var regex in _regexes)
        {
            if (regex.GetGroupNumbers().Length != 5)
            {
                throw new ArgumentException($"Pattern '{regex}' must have exactly four groups.", nameof(pythonPatterns));
            }
        }
    }

    /// <summary>The patterns exactly as written in the Python source.</summary>
    public IReadOnlyList<string> PythonPatterns { get; }

    /// <summary>Added to the 0-based pattern index to give the reported match pattern (1 for the evaluator, 2 for the reward).</summary>
    public int IndexOffset { get; }

    /// <summary>Applies the patterns to <paramref name="text"/>.</summary>
    public ParsedBox Parse(string text) => Parse(text, forceLinear: false);

    /// <summary>Applies the patterns with a chosen engine (the linear one only when forced); for cross-checking engines.</summary>
    internal ParsedBox Parse(string text, bool forceLinear)
    {
        ArgumentNullException.ThrowIfNull(text);
        for (var i = 0; i < _regexes.Length; i++)
        {
            Match? last;
            if (forceLinear)
            {
                last = LastMatch(_linear[i].Value, text);
            }
            else
            {
                try
                {
                    last = LastMatch(_regexes[i], text);
                }
                catch (RegexMatchTimeoutException)
                {
                    last = LastMatch(_linear[i].Value, text);
                }
            }

            if (last is null)
            {
                continue;
            }

            var pattern = i + IndexOffset;
            var g1 = last.Groups[1].Value.Replace("[", string.Empty, StringComparison.Ordinal).Replace("x", string.Empty, StringComparison.Ordinal);
            if (!PythonFloat.TryParse(g1, out var a)
                || !PythonFloat.TryParse(last.Groups[2].Value, out var b)
                || !PythonFloat.TryParse(last.Groups[3].Value, out var c)
                || !PythonFloat.TryParse(last.Groups[4].Value, out var d))
            {
                // [0, 0, 0, 0] * 1000 is still zero.
                return new ParsedBox(0, 0, 0, 0, pattern, ParseStatus.ConversionFailed);
            }

            // Python sum() adds left to right starting from 0.
            var sum = 0.0 + a + b + c + d;
            if (sum < 4)
            {
                a *= 1000;
                b *= 1000;
                c *= 1000;
                d *= 1000;
            }

            return new ParsedBox(a, b, c, d, pattern, ParseStatus.Parsed);
        }

        return new ParsedBox(0, 0, 0, 0, 0, ParseStatus.NoMatch);
    }

    /// <summary>The last non-overlapping match, scanning left to right as <c>re.findall</c> does.</summary>
    private static Match? LastMatch(Regex regex, string text)
    {
        Match? last = null;
        for (var m = regex.Match(text); m.Success; m = m.NextMatch())
        {
            last = m;
        }

        return last;
    }
}

/// <summary>
/// The KVG-Bench answer parser, <c>evaluate.py::get_bbox</c> of DeepPerception: eight patterns, match pattern 1..8.
/// </summary>
public static class KvgAnswerParser
{
    /// <summary>The evaluator's eight patterns, verbatim from the Python source, in priority order.</summary>
    public static IReadOnlyList<string> PythonPatterns { get; } =
    [
        @"<answer>.*?\((\d*?),.*?(\d*?)\),\((\d*?),(\d*?)\)</answer>",
        @"So the answer is.*?\((\d*?),.*?(\d*?)\),\((\d*?),(\d*?)\)",
        @"\((\d*?),.*?(\d*?)\),\((\d*?),(\d*?)\)",
        @"\((.*?),.*?(.*?)\).*?\((.*?),.*?(.*?)\)",
        @"\[(\d*?), (\d*?), (\d*?), (\d*?)\]",
        @"\[(.*?), (.*?), (.*?), (.*?)\]",
        @"\((\d*?), (\d*?), (\d*?), (\d*?)\)",
        @"\((\d*?), (\d*?)\)\n?.*?\((\d*?), (\d*?)\)",
    ];

    /// <summary>Number of patterns (the match pattern ranges over 0..PatternCount).</summary>
    public static int PatternCount => PythonPatterns.Count;

    private static readonly BoxPatternSet Patterns = new(PythonPatterns, 1);

    /// <summary>Parses the box out of text decoded with special tokens skipped.</summary>
    public static ParsedBox Parse(string decodedText) => Patterns.Parse(decodedText);

    /// <summary>Parses with the linear-time engine only (cross-check of the two engines).</summary>
    internal static ParsedBox ParseLinear(string decodedText) => Patterns.Parse(decodedText, forceLinear: true);
}
