using System.Text.Json;
using System.Text.RegularExpressions;

namespace DeepPerception.Abstractions.Work;

/// <summary>One GRPO rollout as stored in a step file: a completion of one prompt with its rewards and boxes.</summary>
/// <param name="PromptId">The prompt's sample id.</param>
/// <param name="Index">The completion's index within its group.</param>
/// <param name="Completion">The decoded completion.</param>
/// <param name="Rewards">The reward of each reward function.</param>
/// <param name="Total">The summed reward.</param>
/// <param name="Advantage">The group-normalised advantage.</param>
/// <param name="Length">Completion length in tokens.</param>
/// <param name="Predicted">The box parsed from the completion on the 0–1000 grid (x1, y1, x2, y2), or null when none parsed.</param>
/// <param name="True">The ground-truth box on the 0–1000 grid (x1, y1, x2, y2).</param>
/// <param name="Entity">The entity the prompt asks for.</param>
/// <param name="ImageKey">The artifact key of the prompt's PNG image.</param>
public sealed record RolloutSampleRecord(
    string PromptId, int Index, string Completion, IReadOnlyDictionary<string, double> Rewards, double Total, double Advantage,
    int Length, double[]? Predicted, double[] True, string Entity, string ImageKey);

/// <summary>The rollouts of one GRPO optimizer step.</summary>
/// <param name="Step">The GRPO stage's step (1-based).</param>
/// <param name="Samples">The step's rollouts.</param>
public sealed record RolloutStepRecord(long Step, IReadOnlyList<RolloutSampleRecord> Samples);

/// <summary>
/// Where a fine-tuning attempt keeps its GRPO rollout gallery: <c>{attempt}/rollouts/step-{step:D6}.json</c> and
/// <c>{attempt}/rollouts/images/{promptId}.png</c>, the attempt folder being the parent of the checkpoint prefix.
/// </summary>
public static partial class RolloutLog
{
    /// <summary>How many step files an attempt keeps (older ones are deleted).</summary>
    public const int KeepSteps = 20;

    /// <summary>The JSON form of step files.</summary>
    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web);

    /// <summary>The attempt folder of a checkpoint prefix (its parent).</summary>
    /// <exception cref="ArgumentException">The prefix has no parent folder.</exception>
    public static string AttemptFolder(string checkpointPrefix)
    {
        ArgumentException.ThrowIfNullOrEmpty(checkpointPrefix);
        var trimmed = checkpointPrefix.TrimEnd('/');
        var slash = trimmed.LastIndexOf('/');
        return slash <= 0
            ? throw new ArgumentException($"Checkpoint prefix '{checkpointPrefix}' has no parent folder.", nameof(checkpointPrefix))
            : trimmed[..slash];
    }

    /// <summary>The attempt folder of a job attempt: <c>{tenant}/jobs/{job}/attempt-{n}</c>.</summary>
    public static string AttemptFolder(string tenantId, string jobId, int attempt) => $"{tenantId}/jobs/{jobId}/attempt-{attempt}";

    /// <summary>The folder of the rollout files under an attempt folder (with a trailing slash).</summary>
    public static string Folder(string attemptFolder) => attemptFolder + "/rollouts/";

    /// <summary>The key of one step's file.</summary>
    public static string StepKey(string attemptFolder, long step) => $"{Folder(attemptFolder)}step-{step:D6}.json";

    /// <summary>The key of one prompt's image; <paramref name="promptId"/> must be a valid prompt id.</summary>
    /// <exception cref="ArgumentException">The id is not a valid prompt id.</exception>
    public static string ImageKey(string attemptFolder, string promptId) =>
        IsValidPromptId(promptId)
            ? $"{Folder(attemptFolder)}images/{promptId}.png"
            : throw new ArgumentException($"'{promptId}' is not a valid prompt id (1-128 of A-Z a-z 0-9 . _ -, not starting with '.').", nameof(promptId));

    /// <summary>Whether an id can name a rollout image: 1–128 characters of letters, digits, '.', '_' or '-', not starting with '.'.</summary>
    public static bool IsValidPromptId(string? promptId) => promptId is not null && PromptIdPattern().IsMatch(promptId);

    /// <summary>Whether a key names a step file; gives its step.</summary>
    public static bool TryParseStepKey(string key, out long step)
    {
        step = 0;
        var match = StepKeyPattern().Match(key);
        return match.Success && long.TryParse(match.Groups[1].Value, out step);
    }

    [GeneratedRegex("^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex PromptIdPattern();

    [GeneratedRegex(@"/rollouts/step-(\d{6,})\.json$")]
    private static partial Regex StepKeyPattern();
}
