using DeepPerception.Experiments;
using DeepPerception.Kvg;

namespace DeepPerception.Experiments.Tests;

/// <summary>Box diversity and the significance report read back from a run folder.</summary>
public sealed class VariantComparisonsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "dp-compare-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void Box_diversity_counts_distinct_parsed_boxes_and_the_share_of_the_most_common()
    {
        var d = BoxDiversity.Of([
            "Alpha(10,20),(30,40)", "<answer>Beta(10,20),(30,40)</answer>", "Gamma(10,20),(30,40)", "(1,2),(3,4)", "no box at all",
        ]);
        Assert.Equal(4, d.Parsed);
        Assert.Equal(2, d.DistinctBoxes);
        Assert.Equal("(10,20),(30,40)", d.TopBox);
        Assert.Equal(0.75, d.TopBoxShare, 9);
        Assert.Equal(1.0, d.TopFiveShare, 9);
        Assert.Equal(new BoxDiversity(0, 0, null, 0, 0), BoxDiversity.Of(["nothing"]));
    }

    [Fact]
    public void A_run_folder_is_read_back_and_compared_pair_by_pair()
    {
        // direct SFT right on 2 of 4, CoT-SFT on 3 (one more, seen domain), CoT+GRPO on all 4.
        Write("direct-sft", [("aircraft/0", "aircraft", true), ("aircraft/1", "aircraft", false), ("dog/0", "dog", true), ("dog/1", "dog", false)]);
        Write("cot-sft", [("aircraft/0", "aircraft", true), ("aircraft/1", "aircraft", true), ("dog/0", "dog", true), ("dog/1", "dog", false)]);
        Write("cot-sft-grpo", [("aircraft/0", "aircraft", true), ("aircraft/1", "aircraft", true), ("dog/0", "dog", true), ("dog/1", "dog", true)]);
        var run = VariantComparisons.ReadRun(_dir);
        Assert.Equal(["cot-sft", "cot-sft-grpo", "direct-sft"], run.Select(v => v.Variant));
        var comparisons = VariantComparisons.Compute(run.ToDictionary(v => v.Variant, v => v.Outcomes));
        Assert.Equal(VariantComparisons.Pairs, comparisons.Select(c => (c.A, c.B)));
        Assert.Equal(25, comparisons[0].Overall.Difference, 9);
        Assert.Equal(50, comparisons[0].Seen!.Difference, 9);
        Assert.Equal(0, comparisons[0].Unseen!.Difference, 9);
        Assert.Equal(50, comparisons[1].Overall.Difference, 9);
        Assert.True(VariantComparisons.GoalMet(comparisons[1]));
        var json = VariantComparisons.ToJson(comparisons);
        Assert.Equal(50, json["paper_goal"]!["overall_gain"]!.GetValue<double>());
        Assert.True(json["paper_goal"]!["met"]!.GetValue<bool>());
        Assert.Contains("cot-sft-grpo − direct-sft", VariantComparisons.Describe(comparisons));
    }

    [Fact]
    public void A_broken_prediction_line_or_a_missing_eval_folder_is_named()
    {
        Assert.Throws<DirectoryNotFoundException>(() => VariantComparisons.ReadRun(_dir));
        var dir = Path.Combine(_dir, "eval", "direct-sft");
        Directory.CreateDirectory(dir);
        File.WriteAllLines(Path.Combine(dir, "predictions.jsonl"), ["""{"id":"a/0","domain":"aircraft","correct":true,"text":"x"}""", """{"id":"a/1"}"""]);
        var e = Assert.Throws<InvalidDataException>(() => VariantComparisons.ReadRun(_dir));
        Assert.Contains("line 2", e.Message);
        Assert.Contains("predictions.jsonl", e.Message);
    }

    private void Write(string variant, (string Id, string Domain, bool Correct)[] rows)
    {
        var dir = Path.Combine(_dir, "eval", variant);
        Directory.CreateDirectory(dir);
        File.WriteAllLines(Path.Combine(dir, "predictions.jsonl"), rows.Select(r =>
            System.Text.Json.JsonSerializer.Serialize(new { id = r.Id, domain = r.Domain, entity = "E", text = "E(1,2),(3,4)", iou = 0.5, correct = r.Correct, matched = "E" })));
    }
}
