using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DeepPerception.Experiments;
using TorchSharp;

namespace DeepPerception.Experiments.Tests;

/// <summary>The quick KVG-Synth experiment end to end: every stage learns and results.json has the four rows.</summary>
public sealed class KvgSynthExperimentTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dp-kvg-exp-").FullName;

    // Margins below what seeded quick runs showed (see docs/experiments/kvg-synth-experiment.md).
    private const double GrpoRewardGain = 0.02;
    private const double MeanIouFactor = 1.5;

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

        // GRPO ran every step with finite rewards in [0, 1.5].
        var rewards = result.Stage("grpo").Metrics.Select(m => m.Extra["reward"]).ToList();
        Assert.NotEmpty(rewards);
        Assert.All(rewards, r => Assert.InRange(r, 0, 1.5));

        // GRPO raises the policy's mean reward on its prompts: the same prompts, sampled with the same seeds before the
        // first and after the last update (quick preset: continuous IoU reward + format reward).
        var grpo = result.GrpoReward;
        Assert.True(grpo.RewardAfter >= grpo.RewardBefore + GrpoRewardGain,
            $"GRPO probe reward {grpo.RewardBefore:F3} → {grpo.RewardAfter:F3} (iou {grpo.IouBefore:F3} → {grpo.IouAfter:F3}, format {grpo.FormatBefore:F3} → {grpo.FormatAfter:F3})");

        // The best trained variant grounds far better than a uniformly random box: Acc@0.5 at least 5× and 5 points above
        // it, and mean IoU at least MeanIouFactor× the random box's mean IoU. The base model (never trained on the r1
        // prompt) stays below CoT-SFT in mean IoU.
        var random = result.Baselines.UniformRandomBox;
        var best = new[] { "direct-sft", "cot-sft", "cot-sft-grpo" }.Select(v => result.Row(v)).MaxBy(r => r.Overall)!;
        Assert.True(best.Overall >= 5 * random && best.Overall >= random + 5,
            $"best trained variant {best.Variant} {best.Overall:F1} vs random box {random:F1}");
        var bestIou = new[] { "direct-sft", "cot-sft", "cot-sft-grpo" }.Max(v => result.Row(v).MeanIou);
        Assert.True(bestIou >= MeanIouFactor * result.Baselines.UniformRandomBoxMeanIou,
            $"best trained mean IoU {bestIou:F3} vs random box {result.Baselines.UniformRandomBoxMeanIou:F3}");
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
        Assert.NotNull(root["baselines"]!["uniform_random_box_mean_iou"]);
        Assert.Equal(grpo.RewardBefore, root["grpo"]!["reward_before"]!.GetValue<double>(), 3);
        Assert.Equal(grpo.RewardAfter, root["grpo"]!["reward_after"]!.GetValue<double>(), 3);
        foreach (var stage in new[] { "base", "direct-sft", "cot-sft", "grpo" })
        {
            Assert.True(File.ReadLines(Path.Combine(_dir, "metrics", stage + ".jsonl")).Any(), stage);
        }

        foreach (var variant in KvgSynthExperiment.Variants)
        {
            Assert.True(File.Exists(Path.Combine(_dir, "eval", variant, "kvg-score.json")), variant);
            Assert.Equal(options.TestSamples, File.ReadLines(Path.Combine(_dir, "eval", variant, "predictions.jsonl")).Count());
        }

        // Significance: the three paired comparisons, consistent with the rows, and the same figures from the run folder.
        Assert.Equal(VariantComparisons.Pairs, result.Comparisons.Select(c => (c.A, c.B)));
        foreach (var c in result.Comparisons)
        {
            Assert.Equal(result.Row(c.B).Overall - result.Row(c.A).Overall, c.Overall.Difference, 6);
            Assert.Equal(result.Row(c.B).Unseen - result.Row(c.A).Unseen, c.Unseen!.Difference, 6);
            Assert.InRange(c.Overall.Difference, c.Overall.CiLow, c.Overall.CiHigh);
        }

        var fromFolder = VariantComparisons.Compute(VariantComparisons.ReadRun(_dir).ToDictionary(v => v.Variant, v => v.Outcomes), options.Seed);
        Assert.Equal(result.Comparisons.Select(c => c.Overall), fromFolder.Select(c => c.Overall));
        Assert.Equal(3, root["comparisons"]!.AsArray().Count);
        Assert.Equal(VariantComparisons.GoalMet(result.Comparisons[1]), root["paper_goal"]!["met"]!.GetValue<bool>());
        foreach (var row in rows)
        {
            Assert.InRange(row!["box_diversity"]!["distinct_boxes"]!.GetValue<int>(), 0, options.TestSamples);
            var variant = result.Row(row["variant"]!.GetValue<string>());
            Assert.Equal(options.TestSamples, variant.NamesTarget.SeenTotal + variant.NamesTarget.UnseenTotal);
            Assert.True(variant.NamesTarget.SeenTotal > 0 && variant.NamesTarget.UnseenTotal > 0, variant.NamesTarget.ToString());
            Assert.Equal(variant.NamesTarget.Unseen, row["names_target"]!["unseen"]!.GetValue<int>());
            Assert.Equal(variant.NamesTarget.SeenTotal, variant.WritesKnowledge.SeenTotal);
            Assert.InRange(variant.KnowledgeAndRight.Seen, 0, variant.WritesKnowledge.Seen);
            Assert.InRange(variant.KnowledgeAndRight.Unseen, 0, variant.WritesKnowledge.Unseen);
            Assert.Equal(variant.WritesKnowledge.Seen, row["writes_knowledge"]!["seen"]!.GetValue<int>());
            Assert.Equal(variant.KnowledgeAndRight.Unseen, row["knowledge_and_right"]!["unseen"]!.GetValue<int>());
        }

        // A direct answer (the name and a box) never holds a knowledge sentence.
        Assert.Equal(0, result.Row("direct-sft").WritesKnowledge.Seen + result.Row("direct-sft").WritesKnowledge.Unseen);

        // Direct SFT has learnt Qwen2-VL's native answer, which opens with the queried name, for seen-domain entities (the
        // names its training images use) more often than for unseen ones (seed 7: 8 of 20 against 0 of 20).
        var direct = result.Row("direct-sft").NamesTarget;
        Assert.True(direct.Seen >= 3 && direct.Seen > direct.Unseen, $"direct SFT writes the queried name in {direct}");

        // The base model on held-out shapes: every item lands somewhere, and results.json carries the same figures.
        var shapesReport = result.BaseShapes;
        Assert.Equal(options.TestSamples, shapesReport.Items);
        Assert.Equal(shapesReport.Items, shapesReport.TargetObject + shapesReport.OtherObject + shapesReport.NoObject);
        // Acc@0.5 and the object match agree up to an IoU on the 0.5 boundary (the scorer rounds IoU to float32 as the paper's code does).
        Assert.InRange(shapesReport.Accuracy - (100.0 * shapesReport.TargetObject / shapesReport.Items), -100.0 / shapesReport.Items, 100.0 / shapesReport.Items);
        Assert.Equal(shapesReport.TargetObject, root["base_shapes"]!["target_object"]!.GetValue<int>());
        Assert.InRange(root["base_shapes"]!["random_object"]!.GetValue<double>(), 1, 100);

        Assert.True(File.Exists(Path.Combine(_dir, "models", "cot-sft", "tokenizer.json")));
        Assert.Contains(log, l => l.Contains("baselines", StringComparison.Ordinal));
        Assert.Contains(log, l => l.Contains("McNemar", StringComparison.Ordinal));
    }

    [Fact]
    public void A_run_can_reuse_the_tokenizer_and_base_of_an_earlier_run()
    {
        torch.set_num_threads(1);
        var first = ExperimentOptions.Quick(Path.Combine(_dir, "first")) with
        {
            Threads = 1, TrainSamples = 16, RlCandidates = 4, TestSamples = 10, ShapeSamples = 24, ShapeCotSamples = 4, Base = new StageOptions(1, 4e-3, 8),
            Sft = new StageOptions(1, 4e-3, 8), GrpoMaxSteps = 1, GrpoRewardProbePrompts = 1, GrpoRewardProbeSamples = 2, RandomBoxTrials = 5,
            BackgroundWorlds = 2, BackgroundImages = 8, BackgroundCotShare = 0.5,
        };
        var firstLog = new List<string>();
        KvgSynthExperiment.Run(first, firstLog.Add);

        // Two background worlds add knowledge of up to 400 other entities to the base stage, and 8 images that name them.
        var background = int.Parse(Regex.Match(string.Join("\n", firstLog), @"background knowledge: (\d+) pairs").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.InRange(background, 300, 2 * 200 * first.KnowledgePerEntity);
        Assert.Contains(firstLog, l => l.Contains($"[base] {200 * first.KnowledgePerEntity + background + 8 + 28} examples", StringComparison.Ordinal));
        Assert.Contains(firstLog, l => l.Contains("background images: 8 that name other worlds' entities, 4 of them as CoT examples", StringComparison.Ordinal));

        // ShapeSamples differs on purpose: the held-out shape images follow the 24 + 4 the reused base trained on.
        var log = new List<string>();
        var secondDir = Path.Combine(_dir, "second");
        KvgSynthExperiment.Run(first with { OutputDirectory = secondDir, BaseFrom = first.OutputDirectory, ShapeSamples = 0 }, log.Add);
        Assert.Contains(log, l => l.Contains("reusing", StringComparison.Ordinal) && l.Contains("saw 28 shape images", StringComparison.Ordinal));
        Assert.DoesNotContain(log, l => l.Contains("[base]", StringComparison.Ordinal));
        Assert.False(Directory.Exists(Path.Combine(secondDir, "models", "base")));
        Assert.True(File.Exists(Path.Combine(secondDir, "models", "direct-sft", "tokenizer.json")));

        // The base variant is the earlier run's model: the same answers to the same test questions.
        Assert.Equal(File.ReadAllLines(Path.Combine(first.OutputDirectory, "eval", "base", "predictions.jsonl")),
            File.ReadAllLines(Path.Combine(secondDir, "eval", "base", "predictions.jsonl")));

        // A base trained with other positions or another shape is refused, naming what differs.
        var theta = Assert.Throws<ArgumentException>(() => KvgSynthExperiment.Run(
            first with { OutputDirectory = Path.Combine(_dir, "theta"), BaseFrom = first.OutputDirectory, RopeTheta = 10, MropeInterleaved = true }, _ => { }));
        Assert.Equal(nameof(ExperimentOptions.BaseFrom), theta.ParamName);
        Assert.Contains($"rope theta {first.RopeTheta} (this run: 10), interleaved M-RoPE False (this run: True)", theta.Message);

        // A folder without a trained base is refused, naming the setting.
        var e = Assert.Throws<ArgumentException>(() =>
            KvgSynthExperiment.Run(first with { OutputDirectory = Path.Combine(_dir, "third"), BaseFrom = secondDir }, _ => { }));
        Assert.Equal(nameof(ExperimentOptions.BaseFrom), e.ParamName);

        // So is one whose results.json does not say how many shape images its base saw.
        var broken = Path.Combine(_dir, "broken");
        Directory.CreateDirectory(Path.Combine(broken, "models", "base"));
        Directory.CreateDirectory(Path.Combine(broken, "tokenizer"));
        File.Copy(Path.Combine(first.OutputDirectory, "models", "base", "config.json"), Path.Combine(broken, "models", "base", "config.json"));
        File.Copy(Path.Combine(first.OutputDirectory, "tokenizer", "tokenizer.json"), Path.Combine(broken, "tokenizer", "tokenizer.json"));
        File.WriteAllText(Path.Combine(broken, "results.json"), """{"options":{"DenseShapeSamples":0}}""");
        var missing = Assert.Throws<ArgumentException>(() =>
            KvgSynthExperiment.Run(first with { OutputDirectory = Path.Combine(_dir, "fourth"), BaseFrom = broken }, _ => { }));
        Assert.Contains("options.ShapeSamples is missing", missing.Message);
    }

    [Fact]
    public void Bad_options_are_refused_with_the_setting_named()
    {
        var e = Assert.Throws<ArgumentException>(() => (ExperimentOptions.Quick(_dir) with { Generations = 1 }).Validate());
        Assert.Contains("Generations", e.Message);
        var theta = Assert.Throws<ArgumentException>(() => (ExperimentOptions.Quick(_dir) with { RopeTheta = 1 }).Validate());
        Assert.Equal(nameof(ExperimentOptions.RopeTheta), theta.ParamName);
        var shapeCot = Assert.Throws<ArgumentException>(() => (ExperimentOptions.Quick(_dir) with { ShapeCotSamples = -1 }).Validate());
        Assert.Equal(nameof(ExperimentOptions.ShapeCotSamples), shapeCot.ParamName);
        var background = Assert.Throws<ArgumentException>(() => (ExperimentOptions.Quick(_dir) with { BackgroundWorlds = -1 }).Validate());
        Assert.Equal(nameof(ExperimentOptions.BackgroundWorlds), background.ParamName);
        var images = Assert.Throws<ArgumentException>(() => (ExperimentOptions.Quick(_dir) with { BackgroundImages = 10 }).Validate());
        Assert.Equal(nameof(ExperimentOptions.BackgroundImages), images.ParamName);
        var cotWithoutImages = Assert.Throws<ArgumentException>(() => (ExperimentOptions.Quick(_dir) with { BackgroundCotShare = 0.5 }).Validate());
        Assert.Equal(nameof(ExperimentOptions.BackgroundCotShare), cotWithoutImages.ParamName);
        var cotAboveOne = Assert.Throws<ArgumentException>(() =>
            (ExperimentOptions.Quick(_dir) with { BackgroundWorlds = 1, BackgroundImages = 4, BackgroundCotShare = 1.5 }).Validate());
        Assert.Equal(nameof(ExperimentOptions.BackgroundCotShare), cotAboveOne.ParamName);
    }

    [Theory]
    [InlineData(0.0, "........")]
    [InlineData(0.25, "...x...x")]
    [InlineData(0.5, ".x.x.x.x")]
    [InlineData(1.0, "xxxxxxxx")]
    public void Background_cot_images_are_spread_evenly_among_the_background_images(double share, string expected)
    {
        var options = ExperimentOptions.Quick(_dir) with { BackgroundWorlds = 1, BackgroundImages = 8, BackgroundCotShare = share };
        options.Validate();
        Assert.Equal(expected, string.Concat(Enumerable.Range(0, 8).Select(i => options.IsBackgroundCot(i) ? 'x' : '.')));
    }
}
