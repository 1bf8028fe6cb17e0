using DeepPerception.Kvg;

namespace DeepPerception.Core.Tests.Kvg;

/// <summary>Python regex class translation, and agreement of the backtracking and linear-time engines.</summary>
public sealed class RegexEngineTests
{
    public static TheoryData<string> Texts { get; } = new()
    {
        "<think>two jets</think>\n<answer>Sukhoi Su-30(519,608),(986,768)</answer>",
        "So the answer is (1,2),(3,4). <answer>(5,6),(7,8)</answer>",
        "<answer>(1,2) no (3,4),(5,6)</answer>",
        "<answer> <|object_ref_start|>E<|object_ref_end|><|box_start|>(519,608),(986,768)<|box_end|> </answer>",
        "<answer>\nThe box is (10,20),(30,40)</answer>",
        "Looking at the tail fin. So the answer is (100,200),(300,400)",
        "first (10,20),(30,40) and then (50,60),(70,80).",
        "(1,2),(300,400)\nreconsidering\n(500,600),(700,800)",
        "<answer>(0.1,0.2),(0.3,0.4)</answer>",
        "Top-left (x12, 34) and bottom-right (56, 78).",
        "([12, 34) to (56, 78)",
        "between (a, b) and (c, d)",
        "(,5),(6,7)",
        "The bounding box is [100, 200, 300, 400].",
        "[0.1, 0.2, 0.5, 0.6]",
        "Box: (100, 200, 300, 400)",
        "(438,471,800,762)",
        "(100, 200)\n(300, 400)",
        "top-left (10, 20)\nand bottom-right (30, 40)",
        "(1,1),(1,0)",
        "[nan, 0.5, 0.5, 0.5]",
        "(\u0661\u0660,\u0662\u0660),(\u0663\u0660,\u0664\u0660)",
        "(\U0001D7CF\U0001D7CE,20),(30,40)",
        "(1,\n2),(3,4)",
        "I cannot find the aircraft.",
        "(1, 7 23),(4,5)",
        "a (b, c) d (e, f) g (h, i) j (k, l)",
        "[1, 2, 3, 4] then [5, 6, 7, 8]",
        "((1,2),(3,4))",
        "(1,2),(3,4)(5,6),(7,8)",
        "(1, 2)\n\n(3, 4)",
    };

    [Theory]
    [MemberData(nameof(Texts))]
    public void Both_engines_agree_on_the_evaluator_patterns(string text)
    {
        Assert.Equal(KvgAnswerParser.Parse(text), KvgAnswerParser.ParseLinear(text));
    }

    [Theory]
    [MemberData(nameof(Texts))]
    public void Both_engines_agree_on_the_reward_patterns(string text)
    {
        Assert.Equal(KvgRewards.ParseBox(text), KvgRewards.ParseBoxLinear(text));
    }

    [Fact]
    public void Pathological_text_still_returns_a_result()
    {
        // Pattern 4 backtracks polynomially here (Python's sre as well); the linear engine takes over.
        var text = string.Concat(Enumerable.Repeat("(a, b, ", 300));
        Assert.Equal(new ParsedBox(0, 0, 0, 0, 0, ParseStatus.NoMatch), KvgAnswerParser.Parse(text));
    }

    [Fact]
    public void Translation_of_python_classes()
    {
        Assert.Equal(@"a\(b\)", PythonRegexClasses.Translate(@"a\(b\)"));
        Assert.Equal(PythonRegexClasses.Digit + "*?", PythonRegexClasses.Translate(@"\d*?"));
        Assert.Equal(PythonRegexClasses.Whitespace + "*", PythonRegexClasses.Translate(@"\s*"));
        Assert.Equal(PythonRegexClasses.NotWhitespaceOrNewlineTabVtabSpace + "*?", PythonRegexClasses.Translate(@"[\S\n\t\v ]*?"));
        Assert.Throws<NotSupportedException>(() => PythonRegexClasses.Translate(@"\w"));
        Assert.Throws<NotSupportedException>(() => PythonRegexClasses.Translate("[a-z]"));
    }

    [Theory]
    [InlineData("5", true)]
    [InlineData("\u0665", true)] // Arabic-Indic five
    [InlineData("\u096B", true)] // Devanagari five
    [InlineData("\U0001D7D3", true)] // mathematical bold five
    [InlineData("\U000104A5", true)] // Osmanya five
    [InlineData("\u00B2", false)] // superscript two: No, not Nd
    [InlineData("\u2165", false)] // Roman numeral six: Nl
    [InlineData("a", false)]
    public void Digit_class_is_unicode_nd_including_astral(string text, bool isDigit)
    {
        Assert.Equal(isDigit, System.Text.RegularExpressions.Regex.IsMatch(text, "^" + PythonRegexClasses.Digit + "$"));
    }

    [Theory]
    [InlineData(" ", true)]
    [InlineData("\u001C", true)]
    [InlineData("\u001F", true)]
    [InlineData("\u0085", true)]
    [InlineData("\u00A0", true)]
    [InlineData("\u3000", true)]
    [InlineData("\u200B", false)] // zero-width space is not whitespace in Python
    [InlineData("\u180E", false)] // Mongolian vowel separator (Cf since Unicode 6.3)
    [InlineData("x", false)]
    public void Whitespace_class_is_python_isspace(string text, bool isSpace)
    {
        Assert.Equal(isSpace, System.Text.RegularExpressions.Regex.IsMatch(text, "^" + PythonRegexClasses.Whitespace + "$"));
        Assert.Equal(isSpace, PythonRegexClasses.WhitespaceChars.Contains(text[0], StringComparison.Ordinal));
    }
}
