using DeepPerception.Kvg;

namespace DeepPerception.Core.Tests.Kvg;

/// <summary>
/// <c>evaluate.py::get_bbox</c>. Expected values were worked out by hand with Python <c>re</c> semantics
/// (lazy quantifiers, no DOTALL, first pattern with a hit wins, last hit used).
/// </summary>
public sealed class KvgAnswerParserTests
{
    private static void AssertBox(ParsedBox p, double x1, double y1, double x2, double y2, int pattern, ParseStatus status = ParseStatus.Parsed)
    {
        Assert.Equal(status, p.Status);
        Assert.Equal(pattern, p.MatchPattern);
        Assert.Equal(x1, p.X1);
        Assert.Equal(y1, p.Y1);
        Assert.Equal(x2, p.X2);
        Assert.Equal(y2, p.Y2);
    }

    [Fact]
    public void Pattern_1_answer_block_on_one_line()
    {
        var p = KvgAnswerParser.Parse("<think>two jets, the left one has canards</think>\n<answer>Sukhoi Su-30(519,608),(986,768)</answer>");
        AssertBox(p, 519, 608, 986, 768, 1);
    }

    [Fact]
    public void Pattern_1_wins_over_an_earlier_so_the_answer_is()
    {
        var p = KvgAnswerParser.Parse("So the answer is (1,2),(3,4). <answer>(5,6),(7,8)</answer>");
        AssertBox(p, 5, 6, 7, 8, 1);
    }

    [Fact]
    public void Pattern_1_second_group_takes_the_digits_right_before_the_closing_parenthesis()
    {
        // .*? stops as early as possible, then (\d*?) grows until ")" fits: "(1,2) no (3,4),(5,6)" gives y1 = 4.
        var p = KvgAnswerParser.Parse("<answer>(1,2) no (3,4),(5,6)</answer>");
        AssertBox(p, 1, 4, 5, 6, 1);
    }

    [Fact]
    public void Pattern_1_needs_the_box_directly_before_the_closing_tag()
    {
        // The solution string with special tokens kept: "<|box_end|> </answer>" follows the box, so pattern 3 wins.
        var p = KvgAnswerParser.Parse(KvgPrompts.Solution("Douglas DC-6", 519, 608, 986, 768));
        AssertBox(p, 519, 608, 986, 768, 3);

        // With special tokens skipped (as decoding does) the block is "<answer> Douglas DC-6(519,608),(986,768) </answer>",
        // still with a space before </answer>: pattern 3 as well.
        AssertBox(KvgAnswerParser.Parse("<answer> Douglas DC-6(519,608),(986,768) </answer>"), 519, 608, 986, 768, 3);
    }

    [Fact]
    public void Answer_tag_on_another_line_falls_through_to_pattern_3()
    {
        // No DOTALL: ".*?" cannot cross the newline after <answer>.
        AssertBox(KvgAnswerParser.Parse("<think>...</think>\n<answer>\nThe box is (10,20),(30,40)</answer>"), 10, 20, 30, 40, 3);
        AssertBox(KvgAnswerParser.Parse("<answer>\n(10,20),(30,40)\n</answer>"), 10, 20, 30, 40, 3);
    }

    [Fact]
    public void Pattern_2_so_the_answer_is()
    {
        AssertBox(KvgAnswerParser.Parse("Looking at the tail fin. So the answer is (100,200),(300,400)"), 100, 200, 300, 400, 2);
    }

    [Fact]
    public void Pattern_3_native_qwen_answer_with_special_tokens_skipped()
    {
        AssertBox(KvgAnswerParser.Parse("Sukhoi Su-30(519,608),(986,768)"), 519, 608, 986, 768, 3);
    }

    [Fact]
    public void Pattern_3_uses_the_last_hit()
    {
        AssertBox(KvgAnswerParser.Parse("first (10,20),(30,40) and then (50,60),(70,80)."), 50, 60, 70, 80, 3);
    }

    [Fact]
    public void Last_hit_across_lines()
    {
        AssertBox(KvgAnswerParser.Parse("(1,2),(300,400)\nreconsidering\n(500,600),(700,800)"), 500, 600, 700, 800, 3);
    }

    [Fact]
    public void Pattern_4_normalised_floats_are_scaled_by_1000()
    {
        // "\((\d*?)," cannot read "0.1", so patterns 1-3 fail; pattern 4 reads the four strings; the sum 1.0 < 4.
        var p = KvgAnswerParser.Parse("<answer>(0.1,0.2),(0.3,0.4)</answer>");
        AssertBox(p, 0.1 * 1000, 0.2 * 1000, 0.3 * 1000, 0.4 * 1000, 4);
    }

    [Fact]
    public void Pattern_4_strips_x_and_bracket_from_group_1_and_float_strips_spaces()
    {
        // g1 = "x12" -> "12"; g2 = " 34"; g3 = "56"; g4 = " 78".
        AssertBox(KvgAnswerParser.Parse("Top-left (x12, 34) and bottom-right (56, 78)."), 12, 34, 56, 78, 4);
        AssertBox(KvgAnswerParser.Parse("([12, 34) to (56, 78)"), 12, 34, 56, 78, 4);
    }

    [Fact]
    public void Pattern_4_conversion_failure_gives_zeros()
    {
        var p = KvgAnswerParser.Parse("between (a, b) and (c, d)");
        AssertBox(p, 0, 0, 0, 0, 4, ParseStatus.ConversionFailed);
        Assert.True(p.IsFailure);
    }

    [Fact]
    public void Pattern_3_with_an_empty_group_is_a_conversion_failure()
    {
        // g1 = "" -> float('') raises.
        AssertBox(KvgAnswerParser.Parse("(,5),(6,7)"), 0, 0, 0, 0, 3, ParseStatus.ConversionFailed);
    }

    [Fact]
    public void Pattern_5_list_with_comma_space()
    {
        AssertBox(KvgAnswerParser.Parse("The bounding box is [100, 200, 300, 400]."), 100, 200, 300, 400, 5);
    }

    [Fact]
    public void Pattern_6_list_of_floats_scaled()
    {
        AssertBox(KvgAnswerParser.Parse("[0.1, 0.2, 0.5, 0.6]"), 0.1 * 1000, 0.2 * 1000, 0.5 * 1000, 0.6 * 1000, 6);
    }

    [Fact]
    public void Pattern_7_four_numbers_in_parentheses()
    {
        AssertBox(KvgAnswerParser.Parse("Box: (100, 200, 300, 400)"), 100, 200, 300, 400, 7);
    }

    [Fact]
    public void Bare_four_numbers_without_spaces_match_nothing()
    {
        // "(438,471,800,762)" has only one "(", so pattern 4 fails too; nothing matches.
        AssertBox(KvgAnswerParser.Parse("(438,471,800,762)"), 0, 0, 0, 0, 0, ParseStatus.NoMatch);
    }

    [Fact]
    public void Pattern_8_two_points_on_two_lines()
    {
        AssertBox(KvgAnswerParser.Parse("(100, 200)\n(300, 400)"), 100, 200, 300, 400, 8);
        AssertBox(KvgAnswerParser.Parse("top-left (10, 20)\nand bottom-right (30, 40)"), 10, 20, 30, 40, 8);
    }

    [Fact]
    public void Sum_below_4_multiplies_by_1000_and_sum_of_4_does_not()
    {
        AssertBox(KvgAnswerParser.Parse("(1,1),(1,0)"), 1000, 1000, 1000, 0, 3);
        AssertBox(KvgAnswerParser.Parse("(1,1),(1,1)"), 1, 1, 1, 1, 3);
    }

    [Fact]
    public void Nan_sum_is_not_scaled_and_negative_values_are()
    {
        var p = KvgAnswerParser.Parse("[nan, 0.5, 0.5, 0.5]");
        Assert.Equal(6, p.MatchPattern);
        Assert.True(double.IsNaN(p.X1));
        Assert.Equal(0.5, p.Y1);

        AssertBox(KvgAnswerParser.Parse("[-1, 0.5, 0.5, 0.5]"), -1000, 500, 500, 500, 6);
    }

    [Fact]
    public void No_match_gives_zeros_and_pattern_0()
    {
        AssertBox(KvgAnswerParser.Parse("I cannot find the aircraft."), 0, 0, 0, 0, 0, ParseStatus.NoMatch);
        AssertBox(KvgAnswerParser.Parse(string.Empty), 0, 0, 0, 0, 0, ParseStatus.NoMatch);
    }

    [Fact]
    public void Unicode_digits_match_backslash_d_and_convert_like_python()
    {
        AssertBox(KvgAnswerParser.Parse("(\u0661\u0660,\u0662\u0660),(\u0663\u0660,\u0664\u0660)"), 10, 20, 30, 40, 3);
        AssertBox(KvgAnswerParser.Parse("(\U0001D7CF\U0001D7CE,20),(30,40)"), 10, 20, 30, 40, 3);
    }

    [Fact]
    public void Dot_does_not_cross_newlines_in_pattern_3()
    {
        // "(1,\n2),(3,4)": in pattern 3 the ".*?" between x1 and y1 cannot take "\n"; pattern 4 neither.
        // Pattern 8 needs ", " separators. So nothing matches.
        AssertBox(KvgAnswerParser.Parse("(1,\n2),(3,4)"), 0, 0, 0, 0, 0, ParseStatus.NoMatch);
    }

    [Fact]
    public void Reports_eight_patterns()
    {
        Assert.Equal(8, KvgAnswerParser.PatternCount);
        Assert.Equal(@"<answer>.*?\((\d*?),.*?(\d*?)\),\((\d*?),(\d*?)\)</answer>", KvgAnswerParser.PythonPatterns[0]);
    }
}
