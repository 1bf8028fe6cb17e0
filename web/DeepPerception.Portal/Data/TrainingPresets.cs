using System.Globalization;

namespace DeepPerception.Portal.Data;

/// <summary>A starting point for the training wizard's hyper-parameters.</summary>
/// <param name="Id">The preset id.</param>
/// <param name="Name">The display name.</param>
/// <param name="Description">What it is for.</param>
/// <param name="MaxSteps">Optimizer steps (of each stage).</param>
/// <param name="LearningRate">The SFT learning rate (or the GRPO one for a GRPO-only recipe).</param>
/// <param name="GrpoLearningRate">The GRPO stage's learning rate.</param>
/// <param name="BatchSize">Examples per SFT step; prompts per GRPO step.</param>
/// <param name="CheckpointEvery">Checkpoint period in steps.</param>
/// <param name="Generations">GRPO completions per prompt.</param>
/// <param name="MaxCompletionLength">GRPO completion length cap.</param>
/// <param name="Beta">GRPO KL coefficient.</param>
/// <param name="Temperature">GRPO sampling temperature.</param>
/// <param name="MaxPixels">Image resolution cap.</param>
public sealed record TrainingPreset(
    string Id,
    string Name,
    string Description,
    int MaxSteps,
    double LearningRate,
    double GrpoLearningRate,
    int BatchSize,
    int CheckpointEvery,
    int Generations,
    int MaxCompletionLength,
    double Beta,
    double Temperature,
    int MaxPixels)
{
    /// <summary>The recipe settings of the preset for the given stages (GRPO settings only when a GRPO stage runs).</summary>
    public Dictionary<string, string> Settings(string stages)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["max_pixels"] = MaxPixels.ToString(CultureInfo.InvariantCulture),
        };
        if (stages != "sft")
        {
            settings["generations"] = Generations.ToString(CultureInfo.InvariantCulture);
            settings["max_completion_length"] = MaxCompletionLength.ToString(CultureInfo.InvariantCulture);
            settings["beta"] = Beta.ToString(CultureInfo.InvariantCulture);
            settings["temperature"] = Temperature.ToString(CultureInfo.InvariantCulture);
        }

        if (stages == "sft+grpo")
        {
            settings["grpo_learning_rate"] = GrpoLearningRate.ToString(CultureInfo.InvariantCulture);
        }

        return settings;
    }
}

/// <summary>The wizard's presets: a quick one for trying the platform, and the paper's settings.</summary>
public static class TrainingPresets
{
    /// <summary>A few steps at low resolution: finishes in about a minute on a CPU with a tiny model.</summary>
    public static readonly TrainingPreset Quick = new("quick", "Quick try-out",
        "4 steps at low resolution with a high learning rate: checks data and wiring in a minute; not for real models.",
        MaxSteps: 4, LearningRate: 1e-3, GrpoLearningRate: 1e-4, BatchSize: 2, CheckpointEvery: 2, Generations: 2,
        MaxCompletionLength: 32, Beta: 0.04, Temperature: 1.0, MaxPixels: 12544);

    /// <summary>
    /// The DeepPerception paper's settings: CoT-SFT with learning rate 5e-6, 16 examples per step, images up to 401,408
    /// pixels; GRPO with learning rate 1e-6, 16 prompts per step, 4 generations, completions up to 512 tokens, β 0.04 and
    /// temperature 1.
    /// </summary>
    public static readonly TrainingPreset Paper = new("paper", "Paper defaults (DeepPerception)",
        "CoT-SFT lr 5e-6, batch 16; GRPO lr 1e-6, 16 prompts × 4 generations, completions ≤ 512 tokens, β 0.04, T 1; max_pixels 401,408.",
        MaxSteps: 100, LearningRate: 5e-6, GrpoLearningRate: 1e-6, BatchSize: 16, CheckpointEvery: 50, Generations: 4,
        MaxCompletionLength: 512, Beta: 0.04, Temperature: 1.0, MaxPixels: 401408);

    /// <summary>All presets, in the order the wizard shows them.</summary>
    public static IReadOnlyList<TrainingPreset> All { get; } = [Quick, Paper];
}
