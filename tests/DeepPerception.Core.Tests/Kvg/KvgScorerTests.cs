using DeepPerception.Kvg;

namespace DeepPerception.Core.Tests.Kvg;

/// <summary>
/// Scoring on a hand-made set. Every ground truth is (0,0,100,100); the expected numbers were computed by hand:
/// <code>
/// id  category  answer                      pattern  IoU              correct
/// a1  aircraft  &lt;answer&gt;(0,0),(100,100)&lt;/answer&gt;  1   1                yes
/// a2  aircraft  X(0,0),(100,50)                3   0.5              yes (≥ 0.5)
/// a3  aircraft  (0,0),(100,40)                 3   0.4 (float32)    no
/// b1  bird      nothing                        0   0                no
/// b2  bird      [0, 0, 50, 50]                 5   0.25             no
/// d1  dog       (0,0),(100,100)                3   1                yes
/// d2  dog       (a, b) to (c, d)               4   0 (conversion)   no
/// d3  dog       (0,0),(100,80)                 3   0.8 (float32)    yes
/// seen   = 5 cases, 2 correct = 40.00 %, mean IoU = (1 + 0.5 + 0.4 + 0 + 0.25) / 5 = 0.43
/// unseen = 3 cases, 2 correct = 66.67 %, mean IoU = (1 + 0 + 0.8) / 3 = 0.6
/// all    = 8 cases, 4 correct = 50.00 %, mean IoU = 3.95 / 8 = 0.49375
/// aircraft 2/3 = 66.67 %; bird 0/2 = 0.00 %; dog 2/3 = 66.67 % (the seen macro average would be 33.33 %, not 40).
/// </code>
/// </summary>
public sealed class KvgScorerTests
{
    private static readonly BoundingBox[] Gt = [new(0, 0, 100, 100)];

    internal static KvgScorer HandMadeSet()
    {
        var scorer = new KvgScorer();
        scorer.Add(new KvgCase("aircraft/1", "aircraft", "<think>t</think>\n<answer>(0,0),(100,100)</answer>", Gt, null, 480, 640));
        scorer.Add(new KvgCase("aircraft/2", "aircraft", "X(0,0),(100,50)", Gt, null, 480, 640));
        scorer.Add(new KvgCase("aircraft/3", "aircraft", "(0,0),(100,40)", Gt, null, 480, 640));
        scorer.Add(new KvgCase("bird/1", "bird", "nothing", Gt, null, 480, 640));
        scorer.Add(new KvgCase("bird/2", "bird", "[0, 0, 50, 50]", Gt, null, 480, 640));
        scorer.Add(new KvgCase("dog/1", "dog", "(0,0),(100,100)", Gt, "A brown dog.", 480, 640));
        scorer.Add(new KvgCase("dog/2", "dog", "(a, b) to (c, d)", Gt, null, 480, 640));
        scorer.Add(new KvgCase("dog/3", "dog", "(0,0),(100,80)", Gt, null, 480, 640));
        return scorer;
    }

    [Fact]
    public void Per_case_results()
    {
        var r = HandMadeSet().Results;
        Assert.Equal([1, 3, 3, 0, 5, 3, 4, 3], r.Select(x => x.Prediction.MatchPattern));
        Assert.Equal([1.0, 0.5, (double)0.4f, 0, 0.25, 1, 0, (double)0.8f], r.Select(x => x.Iou));
        Assert.Equal([true, true, false, false, false, true, false, true], r.Select(x => x.IsCorrect));
    }

    [Fact]
    public void Micro_averages_over_seen_unseen_and_all()
    {
        var score = HandMadeSet().Compute();

        Assert.Equal(8, score.Overall.Count);
        Assert.Equal(4, score.Overall.Correct);
        Assert.Equal(0.5, score.Overall.Accuracy);
        Assert.Equal("50.00", score.Overall.FormatPercent());
        Assert.Equal(0.49375, score.Overall.MeanIou, 7);

        Assert.NotNull(score.Seen);
        Assert.Equal(5, score.Seen.Count);
        Assert.Equal(2, score.Seen.Correct);
        Assert.Equal(0.4, score.Seen.Accuracy);
        Assert.Equal("40.00", score.Seen.FormatPercent());
        Assert.Equal(0.43, score.Seen.MeanIou, 7);

        Assert.NotNull(score.Unseen);
        Assert.Equal(3, score.Unseen.Count);
        Assert.Equal(2, score.Unseen.Correct);
        Assert.Equal("66.67", score.Unseen.FormatPercent());
        Assert.Equal(0.6, score.Unseen.MeanIou, 7);
    }

    [Fact]
    public void Per_category_scores_in_split_order()
    {
        var score = HandMadeSet().Compute();
        Assert.Equal(["aircraft", "bird", "dog"], score.PerCategory.Keys);
        Assert.Equal("66.67", score.PerCategory["aircraft"].FormatPercent());
        Assert.Equal((1 + 0.5 + 0.4) / 3, score.PerCategory["aircraft"].MeanIou, 7);
        Assert.Equal("0.00", score.PerCategory["bird"].FormatPercent());
        Assert.Equal(0.125, score.PerCategory["bird"].MeanIou, 7);
        Assert.Equal(2, score.PerCategory["dog"].Correct);
    }

    [Fact]
    public void Parse_statistics()
    {
        var score = HandMadeSet().Compute();
        Assert.Equal([1, 1, 0, 4, 1, 1, 0, 0, 0], score.Overall.PatternCounts);
        Assert.Equal(1, score.Overall.Unmatched);
        Assert.Equal(1, score.Overall.ConversionFailures);
        Assert.Equal(2, score.ParseFailures);
        Assert.Equal(1, score.PerCategory["dog"].ParseFailures);
    }

    [Fact]
    public void Paper_style_percentages()
    {
        // DeepPerception overall: 831 / 1336 = 62.20 %.
        var g = new KvgGroupScore(1336, 831, 0.6, new int[9], 0);
        Assert.Equal("62.20", g.FormatPercent());
        Assert.Equal(831.0 / 1336, g.Accuracy);
    }

    [Fact]
    public void Configurable_split()
    {
        var scorer = new KvgScorer(new KvgCategorySplit(["cars"], ["boats"]));
        scorer.Add(new KvgCase("1", "cars", "(0,0),(100,100)", Gt));
        var score = scorer.Compute();
        Assert.NotNull(score.Seen);
        Assert.Null(score.Unseen);
        Assert.Equal(["cars"], score.PerCategory.Keys);
    }

    [Fact]
    public void Bad_cases_are_rejected()
    {
        var scorer = new KvgScorer();
        scorer.Add(new KvgCase("x", "dog", "(0,0),(1,1)", Gt));
        Assert.Throws<ArgumentException>(() => scorer.Add(new KvgCase("x", "dog", "(0,0),(1,1)", Gt)));
        var e = Assert.Throws<ArgumentException>(() => scorer.Add(new KvgCase("y", "cat", "(0,0),(1,1)", Gt)));
        Assert.Contains("cat", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => scorer.Add(new KvgCase("z", "dog", "(0,0),(1,1)", [])));
        Assert.Throws<InvalidOperationException>(() => new KvgScorer().Compute());
        Assert.Throws<ArgumentException>(() => new KvgCategorySplit(["a"], ["a"]));
    }
}
