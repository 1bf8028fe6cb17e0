namespace DeepPerception.Cli.Tests;

/// <summary><c>experiment compare</c> on a small run folder: the table, the goal line, comparisons.json, and bad input.</summary>
public sealed class ExperimentCompareTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "dp-cli-compare-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public async Task Prints_the_paired_comparisons_and_writes_comparisons_json()
    {
        Write("direct-sft", [true, false, false, false]);
        Write("cot-sft", [true, true, false, false]);
        Write("cot-sft-grpo", [true, true, true, false]);
        var run = await CliHarness.RunAsync("experiment", "compare", "--run", _dir);
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("cot-sft-grpo − direct-sft", run.Out);
        Assert.Contains("McNemar p", run.Out);
        Assert.Contains("paper goal", run.Out);
        Assert.Contains("met", run.Out);
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "comparisons.json")))!;
        Assert.Equal(3, json["comparisons"]!.AsArray().Count);
        Assert.Equal(50, json["paper_goal"]!["overall_gain"]!.GetValue<double>());
        Assert.Equal(1, json["box_diversity"]!["direct-sft"]!["distinct_boxes"]!.GetValue<int>());
    }

    [Fact]
    public async Task Several_runs_are_pooled_with_questions_paired_within_their_run()
    {
        // Run 1: CoT-SFT gains one question; run 2 (the same question ids, another seed): it gains two more.
        Write("direct-sft", [true, false, false, false], "seed-a");
        Write("cot-sft", [true, true, false, false], "seed-a");
        Write("direct-sft", [false, false, true, false], "seed-b");
        Write("cot-sft", [true, true, true, false], "seed-b");
        var report = Path.Combine(_dir, "pooled", "comparisons.json");
        var run = await CliHarness.RunAsync("experiment", "compare", "--run", $"{Path.Combine(_dir, "seed-a")},{Path.Combine(_dir, "seed-b")}", "--out", report);
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("pooled 2 runs", run.Out);
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(report))!;
        var overall = json["comparisons"]!.AsArray().Single()!["overall"]!;
        Assert.Equal(8, overall["items"]!.GetValue<int>());
        Assert.Equal(25, overall["accuracy_a"]!.GetValue<double>());
        Assert.Equal(62.5, overall["accuracy_b"]!.GetValue<double>());
        Assert.Equal(3, overall["only_b"]!.GetValue<int>());
        Assert.Equal(0, overall["only_a"]!.GetValue<int>());
        Assert.Equal(2, json["runs"]!.AsArray().Count);

        var missingOut = await CliHarness.RunAsync("experiment", "compare", "--run", $"{Path.Combine(_dir, "seed-a")},{Path.Combine(_dir, "seed-b")}");
        Assert.NotEqual(0, missingOut.ExitCode);
        Assert.Contains("--out", missingOut.Error);
    }

    [Fact]
    public async Task A_folder_without_eval_results_is_an_error_naming_it()
    {
        Directory.CreateDirectory(_dir);
        var run = await CliHarness.RunAsync("experiment", "compare", "--run", _dir);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("eval", run.Error);
    }

    private void Write(string variant, bool[] correct, string? run = null)
    {
        var dir = Path.Combine(run is null ? _dir : Path.Combine(_dir, run), "eval", variant);
        Directory.CreateDirectory(dir);
        var domains = new[] { "aircraft", "car", "dog", "flower" };
        File.WriteAllLines(Path.Combine(dir, "predictions.jsonl"), correct.Select((c, i) =>
            System.Text.Json.JsonSerializer.Serialize(new { id = $"{domains[i]}/0", domain = domains[i], entity = "E", text = "E(1,2),(3,4)", iou = 0.5, correct = c, matched = "E" })));
    }
}
