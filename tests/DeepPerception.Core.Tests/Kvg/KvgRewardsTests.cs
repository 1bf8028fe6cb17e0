using DeepPerception.Kvg;

namespace DeepPerception.Core.Tests.Kvg;

/// <summary>R1-V <c>grpo.py</c> reward functions (IoU reward with the 0.8 threshold, format reward).</summary>
public sealed class KvgRewardsTests
{
    private static readonly string Solution = KvgPrompts.Solution("Douglas DC-6", 0, 0, 100, 100);

    private static string Completion(string box) => $"<think>The left aircraft has four engines.</think>\n<answer>Douglas DC-6{box}</answer>";

    [Fact]
    public void Ground_truth_is_read_from_the_solution_with_type_2()
    {
        var gt = KvgRewards.ParseBox(KvgPrompts.Solution("Douglas DC-6", 519, 608, 986, 768));
        Assert.Equal(new BoundingBox(519, 608, 986, 768), gt.Box);
        Assert.Equal(2, gt.MatchPattern);
    }

    [Theory]
    [InlineData("(1,2),(3,4)", 2)]
    [InlineData("[1, 2, 3, 4]", 3)]
    [InlineData("(1, 2, 3, 4)", 4)]
    [InlineData("(1, 2)\n(3, 4)", 5)]
    [InlineData("(0.1,0.2),(0.3,0.4)", 0)] // no ".*?" fallback pattern in the reward
    [InlineData("[0.1, 0.2, 0.3, 0.4]", 0)]
    [InlineData("(438,471,800,762)", 0)]
    [InlineData("no box", 0)]
    public void Box_types_run_2_to_5(string text, int type)
    {
        Assert.Equal(type, KvgRewards.ParseBox(text).MatchPattern);
    }

    [Fact]
    public void Perfect_answer_scores_1_5_in_total()
    {
        var completion = Completion("(0,0),(100,100)");
        Assert.Equal(1.0, KvgRewards.IouReward(completion, Solution));
        Assert.Equal(0.5, KvgRewards.FormatReward(completion));
        Assert.Equal(1.5, KvgRewards.TotalReward(completion, Solution));
    }

    [Fact]
    public void Iou_of_exactly_four_fifths_passes_because_the_comparison_is_on_float32()
    {
        // IoU = 8000 / 10000. In float32 that is 0.800000011920929 > 0.8, as iou.item() > 0.8 sees it.
        var reward = KvgRewards.IouReward(Completion("(0,0),(100,80)"), Solution);
        Assert.Equal((double)0.8f, reward);
        Assert.True(reward > 0.8);
    }

    [Fact]
    public void Threshold_is_strict_and_below_it_the_reward_is_zero()
    {
        Assert.Equal(0.0, KvgRewards.IouReward(Completion("(0,0),(100,79)"), Solution));
        Assert.Equal((double)0.9f, KvgRewards.IouReward(Completion("(0,0),(100,90)"), Solution));

        // 0.5 is exact in float32, so with threshold 0.5 an IoU of 0.5 gets nothing.
        Assert.Equal(0.0, KvgRewards.IouReward(Completion("(0,0),(100,50)"), Solution, threshold: 0.5));
        Assert.Equal((double)0.51f, KvgRewards.IouReward(Completion("(0,0),(100,51)"), Solution, threshold: 0.5));
    }

    [Fact]
    public void Continuous_form_returns_the_iou()
    {
        Assert.Equal(0.5, KvgRewards.IouReward(Completion("(0,0),(100,50)"), Solution, continuous: true));
        Assert.Equal(0.0, KvgRewards.IouReward(Completion("(200,200),(300,300)"), Solution, continuous: true));
    }

    [Fact]
    public void No_answer_block_gives_zero_even_with_a_perfect_box()
    {
        Assert.Equal(0.0, KvgRewards.IouReward("<think>x</think> (0,0),(100,100)", Solution));
        Assert.Equal(0.0, KvgRewards.IouReward("<answer>(0,0),(100,100)", Solution));
    }

    [Fact]
    public void Only_the_first_answer_block_counts()
    {
        Assert.Equal(1.0, KvgRewards.IouReward("<answer>(0,0),(100,100)</answer> <answer>(0,0),(10,10)</answer>", Solution));
        Assert.Equal(0.0, KvgRewards.IouReward("<answer>(0,0),(10,10)</answer> <answer>(0,0),(100,100)</answer>", Solution));
    }

    [Fact]
    public void Answer_block_may_span_lines_but_not_carriage_returns_or_python_whitespace()
    {
        Assert.Equal(1.0, KvgRewards.IouReward("<answer>\nX\t(0,0),(100,100)\n</answer>", Solution));
        Assert.Null(KvgRewards.ExtractFirstAnswer("<answer>\r\n(0,0),(100,100)\r\n</answer>"));
        Assert.Equal(0.0, KvgRewards.IouReward("<answer>\r\n(0,0),(100,100)\r\n</answer>", Solution));

        // U+001C is whitespace for Python's \s (so excluded from [\S\n\t\v ]) but not for .NET's \s.
        Assert.Null(KvgRewards.ExtractFirstAnswer("<answer>\u001C(0,0),(100,100)</answer>"));
        Assert.Null(KvgRewards.ExtractFirstAnswer("<answer>a\u00A0b</answer>"));
        Assert.Equal("a\vb", KvgRewards.ExtractFirstAnswer("<answer>a\vb</answer>"));
    }

    [Fact]
    public void Unparseable_answer_scores_zero()
    {
        Assert.Equal(0.0, KvgRewards.IouReward("<answer>somewhere on the left</answer>", Solution));
    }

    [Theory]
    [InlineData("<think>a</think><answer>b</answer>", 0.5)]
    [InlineData("<think>a</think> \n <answer>b</answer> trailing text is fine", 0.5)]
    [InlineData("<think>\nline\n</think>\n<answer>\n(1,2),(3,4)\n</answer>", 0.5)]
    [InlineData("<think>a</think><think>b</think><answer>c</answer>", 0.5)]
    [InlineData("<think>a</think>\u2003<answer>b</answer>", 0.5)]
    [InlineData("<think>a</think>\u001C<answer>b</answer>", 0.5)] // Python \s includes U+001C
    [InlineData(" <think>a</think><answer>b</answer>", 0.0)] // re.match anchors at the start
    [InlineData("Sure. <think>a</think><answer>b</answer>", 0.0)]
    [InlineData("<think>a</think>x<answer>b</answer>", 0.0)]
    [InlineData("<think>a</think>", 0.0)]
    [InlineData("<answer>b</answer>", 0.0)]
    [InlineData("<think>a\rb</think><answer>c</answer>", 0.0)] // \r is not in [\S\n\t\v ]
    public void Format_reward_is_anchored_at_the_start(string completion, double expected)
    {
        Assert.Equal(expected, KvgRewards.FormatReward(completion));
    }

    [Fact]
    public void Box_format_bonus_never_fires()
    {
        foreach (var box in new[] { "(1,2),(3,4)", "[1, 2, 3, 4]", "(1, 2, 3, 4)", "(1, 2)\n(3, 4)" })
        {
            var completion = $"<think>t</think><answer>{box}</answer>";
            Assert.NotEqual(0, KvgRewards.ParseBox(KvgRewards.ExtractFirstAnswer(completion)!).MatchPattern);
            Assert.Equal(0.5, KvgRewards.FormatReward(completion));
        }
    }
}
