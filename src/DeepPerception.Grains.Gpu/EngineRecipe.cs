using System.Collections.Immutable;
using System.Globalization;
using DeepPerception.Abstractions.Models;
using DeepPerception.ML.Qwen2VL;
using DeepPerception.ML.Training;

namespace DeepPerception.Grains.Gpu;

/// <summary>A training recipe is not valid for the engine (unknown setting, bad value).</summary>
public sealed class InvalidRecipeException(string message) : ArgumentException(message);

/// <summary>The training stages of a recipe.</summary>
public enum EngineStage
{
    /// <summary>Supervised fine-tuning.</summary>
    Sft,

    /// <summary>GRPO.</summary>
    Grpo,
}

/// <summary>
/// The engine's reading of a <see cref="TrainingRecipe"/>: <see cref="TrainingRecipe.Method"/> picks SFT or GRPO, and
/// <see cref="TrainingRecipe.Settings"/> refines it. Known settings (all optional):
/// <list type="bullet">
/// <item><c>stages</c>: <c>sft</c>, <c>grpo</c> or <c>sft+grpo</c> (the paper's CoT-SFT then GRPO); default from the method.</item>
/// <item><c>target</c>: SFT target, <c>cot</c> (think block built from the knowledge base, then the answer; default),
/// <c>direct</c>, or <c>cot-composite</c> (the paper's data synthesis first: multi-entity composites of the dataset's
/// labelled images with templated four-phase rationales kept by the IoU gate; the GRPO stage also uses the composites).</item>
/// <item><c>composites</c>: composites to build for <c>cot-composite</c> (default: as many as the dataset has samples);
/// <c>composite_max_canvas</c>: their largest canvas side (default 448; the smallest is half of it).</item>
/// <item><c>lora_rank</c> (0 = full fine-tuning, default 0), <c>lora_alpha</c> (default 2 × rank), <c>lora_dropout</c> (default 0.05).</item>
/// <item><c>train_vision</c>: also train the vision tower and merger in full fine-tuning (default false).</item>
/// <item><c>group_by_length</c>: batch SFT examples of similar token length together (<see cref="SftOptions.GroupByLength"/>;
/// default false), so that short direct answers are not padded to the length of a rationale.</item>
/// <item><c>grad_accum</c> (1), <c>warmup_ratio</c> (0.1), <c>weight_decay</c> (0), <c>max_grad_norm</c> (1), <c>epochs</c> (enough for <c>MaxSteps</c>).</item>
/// <item>GRPO: <c>generations</c> (4), <c>max_completion_length</c> (64), <c>temperature</c> (1), <c>beta</c> (0.04),
/// <c>grpo_steps</c> (steps of the GRPO stage in <c>sft+grpo</c>; default <c>MaxSteps</c>), <c>grpo_learning_rate</c>.</item>
/// <item><c>max_pixels</c>: image resolution cap (default the checkpoint's).</item>
/// </list>
/// </summary>
public sealed record EngineRecipe
{
    private static readonly ImmutableHashSet<string> Known = ImmutableHashSet.Create(StringComparer.Ordinal,
        "stages", "target", "lora_rank", "lora_alpha", "lora_dropout", "train_vision", "grad_accum", "warmup_ratio", "weight_decay",
        "max_grad_norm", "epochs", "generations", "max_completion_length", "temperature", "beta", "grpo_steps", "grpo_learning_rate",
        "max_pixels", "composites", "composite_max_canvas", "group_by_length");

    /// <summary>The stages in order.</summary>
    public required IReadOnlyList<EngineStage> Stages { get; init; }

    /// <summary>Whether SFT targets carry a think block.</summary>
    public bool CotTargets { get; init; } = true;

    /// <summary>Whether training runs on synthesized composites with templated rationales (<c>target</c> = <c>cot-composite</c>).</summary>
    public bool CompositeTargets { get; init; }

    /// <summary>Composites to build (0 = as many as the dataset has samples).</summary>
    public int Composites { get; init; }

    /// <summary>Largest canvas side of the composites.</summary>
    public int CompositeMaxCanvas { get; init; } = 448;

    /// <summary>The LoRA adapter, or null for full fine-tuning.</summary>
    public LoraOptions? Lora { get; init; }

    /// <summary>Whether the vision tower and merger are trained too (full fine-tuning).</summary>
    public bool TrainVision { get; init; }

    /// <summary>Whether SFT batches group examples of similar length (<see cref="SftOptions.GroupByLength"/>).</summary>
    public bool GroupByLength { get; init; }

    /// <summary>Optimizer steps of the SFT stage.</summary>
    public int SftSteps { get; init; }

    /// <summary>Optimizer steps of the GRPO stage.</summary>
    public int GrpoSteps { get; init; }

    /// <summary>The SFT learning rate.</summary>
    public double LearningRate { get; init; }

    /// <summary>The GRPO learning rate.</summary>
    public double GrpoLearningRate { get; init; }

    /// <summary>Examples per SFT batch; prompts per GRPO step.</summary>
    public int BatchSize { get; init; }

    /// <summary>Checkpoint period in steps (0 = none).</summary>
    public int CheckpointEvery { get; init; }

    /// <summary>The seed.</summary>
    public long Seed { get; init; }

    /// <summary>Gradient accumulation (SFT).</summary>
    public int GradientAccumulation { get; init; } = 1;

    /// <summary>Warm-up ratio (SFT).</summary>
    public double WarmupRatio { get; init; } = 0.1;

    /// <summary>Weight decay (SFT).</summary>
    public double WeightDecay { get; init; }

    /// <summary>Gradient clipping norm.</summary>
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>Epochs (0 = as many as <see cref="SftSteps"/> needs).</summary>
    public int Epochs { get; init; }

    /// <summary>GRPO generations per prompt.</summary>
    public int Generations { get; init; } = 4;

    /// <summary>GRPO completion length cap.</summary>
    public int MaxCompletionLength { get; init; } = 64;

    /// <summary>GRPO sampling temperature.</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>GRPO KL coefficient.</summary>
    public double Beta { get; init; } = 0.04;

    /// <summary>Image resolution cap, or null for the checkpoint's default.</summary>
    public int? MaxPixels { get; init; }

    /// <summary>The freeze switches of the recipe.</summary>
    public FreezeOptions Freeze => new() { Vision = !TrainVision, Merger = !TrainVision, LanguageModel = false, Lora = Lora };

    /// <summary>Reads and validates a recipe.</summary>
    /// <exception cref="InvalidRecipeException">A value is missing, unknown or out of range.</exception>
    public static EngineRecipe From(TrainingRecipe recipe)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        var settings = recipe.Settings ?? ImmutableDictionary<string, string>.Empty;
        var unknown = settings.Keys.Where(k => !Known.Contains(k)).Order(StringComparer.Ordinal).ToArray();
        if (unknown.Length > 0)
        {
            throw new InvalidRecipeException($"Unknown recipe setting(s): {string.Join(", ", unknown)}. Known: {string.Join(", ", Known.Order(StringComparer.Ordinal))}.");
        }

        if (recipe.MaxSteps < 1)
        {
            throw new InvalidRecipeException($"Recipe MaxSteps must be at least 1 (got {recipe.MaxSteps}).");
        }

        if (recipe.BatchSize < 1)
        {
            throw new InvalidRecipeException($"Recipe BatchSize must be at least 1 (got {recipe.BatchSize}).");
        }

        if (!(recipe.LearningRate > 0) || !double.IsFinite(recipe.LearningRate))
        {
            throw new InvalidRecipeException($"Recipe LearningRate must be a positive number (got {recipe.LearningRate}).");
        }

        if (recipe.CheckpointEverySteps < 0)
        {
            throw new InvalidRecipeException($"Recipe CheckpointEverySteps must not be negative (got {recipe.CheckpointEverySteps}).");
        }

        var stages = settings.TryGetValue("stages", out var s)
            ? s switch
            {
                "sft" => new[] { EngineStage.Sft },
                "grpo" => [EngineStage.Grpo],
                "sft+grpo" => [EngineStage.Sft, EngineStage.Grpo],
                _ => throw new InvalidRecipeException($"Recipe setting 'stages' must be sft, grpo or sft+grpo (got '{s}')."),
            }
            : recipe.Method == FineTuneMethod.Grpo ? [EngineStage.Grpo] : [EngineStage.Sft];
        var target = settings.TryGetValue("target", out var t) ? t : "cot";
        if (target is not ("cot" or "direct" or "cot-composite"))
        {
            throw new InvalidRecipeException($"Recipe setting 'target' must be cot, direct or cot-composite (got '{t}').");
        }

        var composite = target == "cot-composite";
        if (!composite && (settings.ContainsKey("composites") || settings.ContainsKey("composite_max_canvas")))
        {
            throw new InvalidRecipeException("Recipe settings 'composites' and 'composite_max_canvas' need 'target' = 'cot-composite'.");
        }
        var rank = Int(settings, "lora_rank", 0, 0, 1024);
        var lora = rank > 0
            ? new LoraOptions { Rank = rank, Alpha = Double(settings, "lora_alpha", 2.0 * rank, 1e-9, 1e6), Dropout = Double(settings, "lora_dropout", 0.05, 0, 0.99) }
            : null;
        var grpoSteps = stages.Length == 2 ? Int(settings, "grpo_steps", recipe.MaxSteps, 1, int.MaxValue) : recipe.MaxSteps;
        int? maxPixels = settings.ContainsKey("max_pixels") ? Int(settings, "max_pixels", 0, 28 * 28 * 4, int.MaxValue) : null;
        return new EngineRecipe
        {
            Stages = stages,
            CotTargets = target != "direct",
            CompositeTargets = composite,
            Composites = Int(settings, "composites", 0, 0, 1_000_000),
            CompositeMaxCanvas = Int(settings, "composite_max_canvas", 448, 128, 4096),
            Lora = lora,
            TrainVision = Bool(settings, "train_vision", false),
            GroupByLength = Bool(settings, "group_by_length", false),
            SftSteps = recipe.MaxSteps,
            GrpoSteps = grpoSteps,
            LearningRate = recipe.LearningRate,
            GrpoLearningRate = Double(settings, "grpo_learning_rate", recipe.LearningRate, 1e-12, 1),
            BatchSize = recipe.BatchSize,
            CheckpointEvery = recipe.CheckpointEverySteps,
            Seed = recipe.Seed,
            GradientAccumulation = Int(settings, "grad_accum", 1, 1, 1024),
            WarmupRatio = Double(settings, "warmup_ratio", 0.1, 0, 1),
            WeightDecay = Double(settings, "weight_decay", 0, 0, 1),
            MaxGradNorm = Double(settings, "max_grad_norm", 1.0, 1e-9, 1e9),
            Epochs = Int(settings, "epochs", 0, 0, 100_000),
            Generations = Int(settings, "generations", 4, 2, 256),
            MaxCompletionLength = Int(settings, "max_completion_length", 64, 1, 8192),
            Temperature = Double(settings, "temperature", 1.0, 1e-6, 100),
            Beta = Double(settings, "beta", 0.04, 0, 100),
            MaxPixels = maxPixels,
        };
    }

    private static int Int(IReadOnlyDictionary<string, string> settings, string name, int fallback, int min, int max)
    {
        if (!settings.TryGetValue(name, out var text))
        {
            return fallback;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new InvalidRecipeException($"Recipe setting '{name}' must be an integer in [{min}, {max}] (got '{text}').");
        }

        return value;
    }

    private static double Double(IReadOnlyDictionary<string, string> settings, string name, double fallback, double min, double max)
    {
        if (!settings.TryGetValue(name, out var text))
        {
            return fallback;
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value) || value < min || value > max)
        {
            throw new InvalidRecipeException($"Recipe setting '{name}' must be a number in [{min}, {max}] (got '{text}').");
        }

        return value;
    }

    private static bool Bool(IReadOnlyDictionary<string, string> settings, string name, bool fallback) =>
        !settings.TryGetValue(name, out var text) ? fallback
        : text switch
        {
            "true" => true,
            "false" => false,
            _ => throw new InvalidRecipeException($"Recipe setting '{name}' must be true or false (got '{text}')."),
        };
}
