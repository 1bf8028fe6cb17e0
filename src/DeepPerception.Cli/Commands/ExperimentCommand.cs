using System.Diagnostics;
using DeepPerception.Cli.Infrastructure;
using DeepPerception.Data.Synth;
using DeepPerception.Experiments;

namespace DeepPerception.Cli.Commands;

/// <summary>
/// <c>experiment kvg-synth</c>: the miniature replication of the paper on KVG-Synth — base training, then direct SFT,
/// CoT-SFT and CoT-SFT + GRPO, each scored on the test split; writes <c>DIR/results.json</c> and prints the table.
/// </summary>
public sealed class ExperimentCommand : ICliCommand
{
    /// <inheritdoc />
    public string Name => "experiment kvg-synth";

    /// <inheritdoc />
    public string Summary => "Run the KVG-Synth replication (base → direct SFT, CoT-SFT, CoT-SFT+GRPO) and write results.json.";

    /// <inheritdoc />
    public IReadOnlyList<CliOption> Options { get; } =
    [
        new("out", "DIR", "output folder (results.json, eval/, metrics/, models/)", Required: true),
        new("preset", "quick|medium|full", "size of the run (default full, about an hour on one thread)"),
        new("quick", null, "same as --preset quick (a few minutes)"),
        new("threads", "N", "intra-op threads of the device worker (default 1)"),
        new("seed", "N", "world and training seed"),
        new("reward", "continuous|thresholded", "IoU reward form (thresholded = the paper's IoU > 0.8)"),
        new("base-epochs", "N", "epochs of base training"),
        new("sft-epochs", "N", "epochs of each SFT stage"),
        new("grpo-steps", "N", "GRPO optimizer steps"),
        new("grpo-lr", "X", "GRPO learning rate"),
        new("shapes", "N", "attribute-grounding samples in base training"),
        new("vision-depth", "N", "vision transformer blocks of the miniature model (medium 1, full 2)"),
        new("layers", "N", "decoder layers of the miniature model (medium 2, full 4)"),
        new("rope-theta", "X", "base of the decoder's rotary frequencies (rope_theta; default Qwen2-VL's 1e6)"),
        new("mrope-interleaved", null, "interleave the decoder's M-RoPE channels over the three axes (Qwen3-VL's layout) instead of Qwen2-VL's contiguous sections"),
        new("base-from", "DIR", "reuse the tokenizer and base model of an earlier run's --out folder instead of training them (same seed and image settings)"),
        new("train-samples", "N", "KVG-Synth training samples of each SFT stage (medium 480, full 1500)"),
        new("max-pixels", "N", "image resolution cap in pixels (medium 19600 = 140², full 38416 = 196²): more image tokens per image"),
        new("dense-shapes", "N", "extra base examples of dense grounding (every shape's box) on further shape images"),
        new("background-worlds", "N", "knowledge of the entities of N other worlds in the base stage (names no image shows), so the base learns to look names up rather than memorise them"),
        new("background-images", "N", "base examples that ground background-world entities by name in composites of all ten domains (needs --background-worlds)"),
        new("background-cot", "F", "share (0..1) of the background images written as CoT examples: the R1 instruction, a rationale in --cot-layout, the answer"),
        new("shape-cot", "N", "extra base examples that ground a shape after a templated rationale (the box far from the image, as in CoT)"),
        new("group-by-length", null, "batch SFT examples of similar length together (less padding when rationales and short answers mix)"),
        new("grpo-prompts", "N", "GRPO prompts per optimizer step"),
        new("rl-candidates", "N", "train samples screened by the RL filter"),
        new("grpo-temperature", "X", "sampling temperature of the RL filter, GRPO rollouts and the reward probe"),
        new("position-cue", "N", "diagnostic: a ±N-level colour ramp on every image's background (red left→right, green top→bottom; 0 = off)"),
        new("cot-layout", "box-in-analysis|locate-last|recall|describe", "where CoT targets put the box: in the visual analysis (copied by the answer), only in the answer after the comparisons, or in the answer right after one sentence that recalls the target's distinguishing attributes (recall) or repeats its knowledge-base sentence (describe)"),
    ];

    /// <inheritdoc />
    public Task<int> RunAsync(CliArguments args, CliContext context, CancellationToken cancellationToken)
    {
        var output = args.Required("out");
        var preset = args.Has("quick") ? "quick" : args.Choice("preset", "full", "quick", "medium", "full");
        var options = preset switch
        {
            "quick" => ExperimentOptions.Quick(output),
            "medium" => ExperimentOptions.Medium(output),
            _ => ExperimentOptions.Full(output),
        };
        var grpoSteps = args.IntOrNull("grpo-steps", 1);
        options = options with
        {
            Threads = args.Int("threads", options.Threads, 1, 256),
            Seed = args.Int("seed", options.Seed, 0),
            ContinuousIouReward = args.Has("reward") ? args.Choice("reward", "continuous", "continuous", "thresholded") == "continuous" : options.ContinuousIouReward,
            Base = options.Base with { Epochs = args.Int("base-epochs", options.Base.Epochs, 1) },
            Sft = options.Sft with { Epochs = args.Int("sft-epochs", options.Sft.Epochs, 1) },
            GrpoMaxSteps = grpoSteps ?? options.GrpoMaxSteps,
            GrpoEpochs = grpoSteps is int n ? Math.Max(options.GrpoEpochs, n) : options.GrpoEpochs,
            GrpoLearningRate = args.PositiveDouble("grpo-lr", options.GrpoLearningRate),
            ShapeSamples = args.Int("shapes", options.ShapeSamples, 0),
            DenseShapeSamples = args.Int("dense-shapes", options.DenseShapeSamples, 0),
            ShapeCotSamples = args.Int("shape-cot", options.ShapeCotSamples, 0),
            BackgroundWorlds = args.Int("background-worlds", options.BackgroundWorlds, 0),
            BackgroundImages = args.Int("background-images", options.BackgroundImages, 0),
            BackgroundCotShare = args.Has("background-cot") ? args.PositiveDouble("background-cot", 0) : options.BackgroundCotShare,
            GroupByLength = args.Has("group-by-length") || options.GroupByLength,
            BaseFrom = args.Has("base-from") ? args.ExistingDirectory("base-from") : null,
            TrainSamples = args.Int("train-samples", options.TrainSamples, 1),
            RopeTheta = args.PositiveDouble("rope-theta", options.RopeTheta),
            MropeInterleaved = args.Has("mrope-interleaved") || options.MropeInterleaved,
            MaxPixels = args.Int("max-pixels", options.MaxPixels, 56 * 56),
            Model = options.Model with { VisionDepth = args.Int("vision-depth", options.Model.VisionDepth, 1, 32), Layers = args.Int("layers", options.Model.Layers, 1, 64) },
            GrpoPromptsPerStep = args.Int("grpo-prompts", options.GrpoPromptsPerStep, 1),
            RlCandidates = args.Int("rl-candidates", options.RlCandidates, 1),
            GrpoTemperature = args.PositiveDouble("grpo-temperature", options.GrpoTemperature),
            Synth = options.Synth with { PositionCue = args.Int("position-cue", options.Synth.PositionCue, 0, 64) },
            CotLayout = args.Has("cot-layout")
                ? args.Choice("cot-layout", "box-in-analysis", "box-in-analysis", "locate-last", "recall", "describe") switch
                {
                    "locate-last" => CotLayout.LocateLast,
                    "recall" => CotLayout.Recall,
                    "describe" => CotLayout.Describe,
                    _ => CotLayout.BoxInAnalysis,
                }
                : options.CotLayout,
        };
        options.Validate();

        var clock = Stopwatch.StartNew();
        void Log(string line) => context.Error.WriteLine($"[{clock.Elapsed:hh\\:mm\\:ss}] {line}");
        Log($"kvg-synth {preset} → {Path.GetFullPath(output)} ({options.Threads} thread(s))");
        var result = KvgSynthExperiment.Run(options, Log, cancellationToken);
        context.Out.WriteLine($"{"variant",-14} {"overall",8} {"seen",8} {"unseen",8}");
        foreach (var row in result.Rows)
        {
            context.Out.WriteLine($"{row.Variant,-14} {row.Overall,8:F2} {row.Seen,8:F2} {row.Unseen,8:F2}");
        }

        context.Out.WriteLine($"results: {result.ResultsPath}");
        return Task.FromResult(CliApp.Success);
    }
}
