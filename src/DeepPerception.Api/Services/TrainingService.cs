using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Models;
using DeepPerception.Abstractions.Work;
using DeepPerception.Api.Identity;
using DeepPerception.Client;
using DeepPerception.Storage;

namespace DeepPerception.Api.Services;

/// <summary>
/// Fine-tuning jobs of the caller's tenant: create (recipe defaults from the DeepPerception paper, every value range
/// checked), list, status, metrics, GRPO rollout statistics, cancel and resume.
/// </summary>
public sealed class TrainingService(IGrainFactory grains, IArtifactStore store, ResourceIndex index, DeepPerceptionApiOptions options)
{
    private const string Kind = "fine-tunes";

    /// <summary>Paper default: SFT learning rate (CoT-SFT, full fine-tuning of the language model).</summary>
    public const double DefaultSftLearningRate = 5e-6;

    /// <summary>Paper default: GRPO learning rate.</summary>
    public const double DefaultGrpoLearningRate = 1e-6;

    /// <summary>Paper default: global batch (SFT examples per step, GRPO prompts per step).</summary>
    public const int DefaultBatchSize = 16;

    /// <summary>Default optimizer steps.</summary>
    public const int DefaultMaxSteps = 100;

    /// <summary>Default checkpoint period.</summary>
    public const int DefaultCheckpointEvery = 50;

    /// <summary>Default LoRA rank when the adapter is <c>lora</c>.</summary>
    public const int DefaultLoraRank = 16;

    /// <summary>Paper defaults of the GRPO stage and of image resolution, added to a recipe's settings unless given.</summary>
    public static IReadOnlyDictionary<string, string> PaperGrpoDefaults { get; } = new Dictionary<string, string>
    {
        ["generations"] = "4",
        ["temperature"] = "1",
        ["beta"] = "0.04",
        ["max_completion_length"] = "512",
    };

    /// <summary>Paper default image cap (max_pixels 401408).</summary>
    public const string DefaultMaxPixels = "401408";

    private static readonly Dictionary<string, (double Min, double Max, bool Integer)> NumericSettings = new(StringComparer.Ordinal)
    {
        ["generations"] = (2, 64, true),
        ["temperature"] = (1e-3, 10, false),
        ["beta"] = (0, 10, false),
        ["max_completion_length"] = (1, 4096, true),
        ["grpo_steps"] = (1, 100_000, true),
        ["grpo_learning_rate"] = (1e-12, 0.1, false),
        ["lora_alpha"] = (1e-6, 4096, false),
        ["lora_dropout"] = (0, 0.9, false),
        ["grad_accum"] = (1, 256, true),
        ["warmup_ratio"] = (0, 1, false),
        ["weight_decay"] = (0, 1, false),
        ["max_grad_norm"] = (1e-6, 1e4, false),
        ["epochs"] = (0, 1000, true),
        ["max_pixels"] = (3136, 16_777_216, true),
        ["composites"] = (0, 1_000_000, true),
        ["composite_max_canvas"] = (128, 4096, true),
    };

    private static readonly Dictionary<string, string[]> ChoiceSettings = new(StringComparer.Ordinal)
    {
        ["target"] = ["cot", "direct", "cot-composite"],
        ["train_vision"] = ["true", "false"],
        ["group_by_length"] = ["true", "false"],
    };

    private IFineTuneJobGrain Grain(PlatformPrincipal caller, string jobId) =>
        grains.GetGrain<IFineTuneJobGrain>(PlatformKeys.Scoped(caller.TenantId, jobId, "job id"));

    /// <summary>Builds the platform recipe from a request body, filling in the documented defaults.</summary>
    /// <exception cref="InvalidRequestException">A value is unknown or out of range.</exception>
    public static TrainingRecipe BuildRecipe(RecipeBody? body)
    {
        body ??= new RecipeBody();
        var stages = body.Stages ?? "sft";
        if (stages is not ("sft" or "grpo" or "sft+grpo"))
        {
            throw new InvalidRequestException($"recipe.stages must be sft, grpo or sft+grpo (got '{stages}').");
        }

        var adapter = body.Adapter ?? "full";
        if (adapter is not ("lora" or "full"))
        {
            throw new InvalidRequestException($"recipe.adapter must be lora or full (got '{adapter}').");
        }

        var grpoOnly = stages == "grpo";
        var maxSteps = Range(body.MaxSteps ?? DefaultMaxSteps, 1, 100_000, "recipe.maxSteps");
        var learningRate = body.LearningRate ?? (grpoOnly ? DefaultGrpoLearningRate : DefaultSftLearningRate);
        if (!double.IsFinite(learningRate) || learningRate <= 0 || learningRate > 0.1)
        {
            throw new InvalidRequestException($"recipe.learningRate must be in (0, 0.1] (got {learningRate.ToString(CultureInfo.InvariantCulture)}).");
        }

        var batch = Range(body.BatchSize ?? DefaultBatchSize, 1, 1024, "recipe.batchSize");
        var checkpointEvery = Range(body.CheckpointEvery ?? Math.Min(DefaultCheckpointEvery, maxSteps), 0, maxSteps, "recipe.checkpointEvery");
        var seed = Range(body.Seed ?? 0, 0, int.MaxValue, "recipe.seed");
        var settings = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in body.Settings ?? new Dictionary<string, string>())
        {
            if (key is "stages" or "lora_rank")
            {
                throw new InvalidRequestException($"recipe.settings.{key} is set through recipe.{(key == "stages" ? "stages" : "loraRank")}.");
            }

            if (NumericSettings.TryGetValue(key, out var range))
            {
                if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || !double.IsFinite(number)
                    || number < range.Min || number > range.Max || (range.Integer && number != Math.Floor(number)))
                {
                    throw new InvalidRequestException(
                        $"recipe.settings.{key} must be {(range.Integer ? "an integer" : "a number")} in [{range.Min.ToString(CultureInfo.InvariantCulture)}, {range.Max.ToString(CultureInfo.InvariantCulture)}] (got '{value}').");
                }
            }
            else if (ChoiceSettings.TryGetValue(key, out var choices))
            {
                if (!choices.Contains(value))
                {
                    throw new InvalidRequestException($"recipe.settings.{key} must be one of {string.Join(", ", choices)} (got '{value}').");
                }
            }
            else
            {
                throw new InvalidRequestException(
                    $"Unknown recipe setting '{key}'. Known: {string.Join(", ", NumericSettings.Keys.Concat(ChoiceSettings.Keys).Order(StringComparer.Ordinal))}.");
            }

            settings[key] = value;
        }

        settings["stages"] = stages;
        if (adapter == "lora")
        {
            settings["lora_rank"] = Range(body.LoraRank ?? DefaultLoraRank, 1, 256, "recipe.loraRank").ToString(CultureInfo.InvariantCulture);
        }
        else if (body.LoraRank is not null)
        {
            throw new InvalidRequestException("recipe.loraRank needs recipe.adapter 'lora'.");
        }

        if (stages != "sft")
        {
            foreach (var (key, value) in PaperGrpoDefaults)
            {
                settings.TryAdd(key, value);
            }
        }

        settings.TryAdd("max_pixels", DefaultMaxPixels);
        return new TrainingRecipe(grpoOnly ? FineTuneMethod.Grpo : FineTuneMethod.Sft, maxSteps, learningRate, batch, checkpointEvery, seed,
            settings.ToImmutable());
    }

    /// <summary>The GPU seconds reserved for a recipe when the request names no estimate.</summary>
    public double Estimate(TrainingRecipe recipe)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        var stages = recipe.Settings.GetValueOrDefault("stages", "sft");
        var generations = int.Parse(recipe.Settings.GetValueOrDefault("generations", "4"), CultureInfo.InvariantCulture);
        var grpoSteps = stages == "sft+grpo"
            ? int.Parse(recipe.Settings.GetValueOrDefault("grpo_steps", recipe.MaxSteps.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture)
            : stages == "grpo" ? recipe.MaxSteps : 0;
        var sftSteps = stages == "grpo" ? 0 : recipe.MaxSteps;
        return options.GpuSecondsPerTrainingStep * (sftSteps + grpoSteps * generations);
    }

    /// <summary>Starts a fine-tuning job (the GPU-seconds estimate is reserved from the tenant's budget).</summary>
    public async Task<FineTuneJobDto> CreateAsync(PlatformPrincipal caller, CreateFineTuneBody body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(body);
        PlatformKeys.ValidateId(body.ModelId, "model id");
        PlatformKeys.ValidateId(body.DatasetId, "dataset id");
        if (body.DatasetVersion < 1)
        {
            throw new InvalidRequestException($"datasetVersion must be at least 1 (got {body.DatasetVersion}).");
        }

        if (body.ParentVersion is < 1)
        {
            throw new InvalidRequestException($"parentVersion must be at least 1 (got {body.ParentVersion}).");
        }

        var recipe = BuildRecipe(body.Recipe);
        var estimate = body.EstimatedGpuSeconds ?? Estimate(recipe);
        if (!double.IsFinite(estimate) || estimate <= 0 || estimate > 1e9)
        {
            throw new InvalidRequestException($"estimatedGpuSeconds must be in (0, 1e9] (got {estimate.ToString(CultureInfo.InvariantCulture)}).");
        }

        var jobId = body.JobId ?? "ft-" + Guid.NewGuid().ToString("N")[..12];
        var grain = Grain(caller, jobId);
        var status = await grain.SubmitAsync(new FineTuneRequest(body.ModelId, body.ParentVersion, body.DatasetId, body.DatasetVersion, recipe, estimate))
            .ConfigureAwait(false);
        await index.AddAsync(caller.TenantId, Kind, jobId, cancellationToken).ConfigureAwait(false);
        return Mapping.Job(status);
    }

    /// <summary>Lists the tenant's jobs, newest first.</summary>
    public async Task<IReadOnlyList<FineTuneJobDto>> ListAsync(PlatformPrincipal caller, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var result = new List<FineTuneJobDto>();
        foreach (var id in await index.ListAsync(caller.TenantId, Kind, cancellationToken).ConfigureAwait(false))
        {
            result.Add(Mapping.Job(await Grain(caller, id).GetStatusAsync().ConfigureAwait(false)));
        }

        return result.OrderByDescending(j => j.SubmittedAt).ToArray();
    }

    /// <summary>Returns a job.</summary>
    public async Task<FineTuneJobDto> GetAsync(PlatformPrincipal caller, string jobId) =>
        Mapping.Job(await Grain(caller, jobId).GetStatusAsync().ConfigureAwait(false));

    /// <summary>The job's recent progress snapshots (loss, learning rate, rewards, ...).</summary>
    public async Task<JobMetricsDto> GetMetricsAsync(PlatformPrincipal caller, string jobId)
    {
        var s = await Grain(caller, jobId).GetStatusAsync().ConfigureAwait(false);
        return new JobMetricsDto(jobId, s.RecentProgress.IsDefault ? [] : s.RecentProgress.Select(Mapping.Progress).ToArray(), s.Outcome?.Metrics);
    }

    /// <summary>Default number of GRPO steps whose rollouts <see cref="GetRolloutsAsync"/> returns.</summary>
    public const int DefaultRolloutSteps = 5;

    /// <summary>
    /// The GRPO stage's rollout statistics (snapshots that carry rewards) and the rollouts of its newest
    /// <paramref name="steps"/> steps, newest first, read from the latest attempt that has written any.
    /// </summary>
    /// <exception cref="InvalidRequestException"><paramref name="steps"/> is outside [1, 20].</exception>
    public async Task<RolloutsDto> GetRolloutsAsync(PlatformPrincipal caller, string jobId, int steps = DefaultRolloutSteps,
        CancellationToken cancellationToken = default)
    {
        Range(steps, 1, RolloutLog.KeepSteps, "steps");
        var s = await Grain(caller, jobId).GetStatusAsync().ConfigureAwait(false);
        var samples = s.RecentProgress.IsDefault ? [] : s.RecentProgress
            .Where(p => (p.Message?.Contains("grpo", StringComparison.OrdinalIgnoreCase) ?? false)
                        || (p.Metrics?.Keys.Any(k => k.Contains("reward", StringComparison.Ordinal)) ?? false))
            .Select(Mapping.Progress).ToArray();
        var rollouts = new List<RolloutSampleDto>();
        for (var attempt = s.Attempt; attempt >= 1 && rollouts.Count == 0; attempt--)
        {
            var folder = RolloutLog.AttemptFolder(caller.TenantId, jobId, attempt);
            var stepKeys = new List<(long Step, string Key)>();
            await foreach (var info in store.ListAsync(RolloutLog.Folder(folder), cancellationToken).ConfigureAwait(false))
            {
                if (RolloutLog.TryParseStepKey(info.Key, out var step))
                {
                    stepKeys.Add((step, info.Key));
                }
            }

            foreach (var (_, key) in stepKeys.OrderByDescending(k => k.Step).Take(steps))
            {
                RolloutStepRecord? file;
                try
                {
                    var content = await store.GetAsync(key, cancellationToken).ConfigureAwait(false);
                    file = JsonSerializer.Deserialize<RolloutStepRecord>(content.Content, RolloutLog.Json);
                }
                catch (ArtifactNotFoundException)
                {
                    continue; // pruned by the trainer between the listing and the read
                }

                if (file?.Samples is null)
                {
                    continue;
                }

                rollouts.AddRange(file.Samples.Select(r => RolloutSample(jobId, file.Step, r)));
            }
        }

        return new RolloutsDto(jobId, samples, rollouts);
    }

    /// <summary>The PNG image of one of the job's GRPO prompts, from the latest attempt that stored it.</summary>
    /// <exception cref="InvalidRequestException">The prompt id is malformed.</exception>
    /// <exception cref="ResourceNotFoundException">The job has no such image.</exception>
    public async Task<byte[]> GetRolloutImageAsync(PlatformPrincipal caller, string jobId, string promptId, CancellationToken cancellationToken = default)
    {
        if (!RolloutLog.IsValidPromptId(promptId))
        {
            throw new InvalidRequestException($"'{promptId}' is not a valid prompt id (1-128 of A-Z a-z 0-9 . _ -, not starting with '.').");
        }

        var s = await Grain(caller, jobId).GetStatusAsync().ConfigureAwait(false);
        for (var attempt = s.Attempt; attempt >= 1; attempt--)
        {
            var key = RolloutLog.ImageKey(RolloutLog.AttemptFolder(caller.TenantId, jobId, attempt), promptId);
            try
            {
                return (await store.GetAsync(key, cancellationToken).ConfigureAwait(false)).Content;
            }
            catch (ArtifactNotFoundException)
            {
            }
        }

        throw new ResourceNotFoundException($"Job '{jobId}' has no rollout image for prompt '{promptId}'.");
    }

    private static RolloutSampleDto RolloutSample(string jobId, long step, RolloutSampleRecord r)
    {
        var imageId = r.ImageKey[(r.ImageKey.LastIndexOf('/') + 1)..];
        imageId = imageId.EndsWith(".png", StringComparison.Ordinal) ? imageId[..^4] : imageId;
        return new RolloutSampleDto((int)step, r.PromptId, r.Index, r.Entity, r.Completion, r.Rewards, r.Total, r.Advantage, r.Length,
            Box(r.Predicted), Box(r.True) ?? new BoxDto(0, 0, 0, 0),
            $"/v1/fine-tunes/{Uri.EscapeDataString(jobId)}/rollouts/images/{Uri.EscapeDataString(imageId)}");
    }

    private static BoxDto? Box(double[]? box) => box is { Length: 4 } ? new BoxDto(box[0], box[1], box[2], box[3]) : null;

    /// <summary>Cancels a queued or running job.</summary>
    public async Task<FineTuneJobDto> CancelAsync(PlatformPrincipal caller, string jobId, string? reason)
    {
        var grain = Grain(caller, jobId);
        await grain.GetStatusAsync().ConfigureAwait(false);
        var text = string.IsNullOrWhiteSpace(reason) ? $"cancelled by key {caller.KeyId}" : TenantService.ValidateName(reason, "reason");
        return Mapping.Job(await grain.CancelAsync(text).ConfigureAwait(false));
    }

    /// <summary>Queues a failed or cancelled job again (it resumes from its last checkpoint).</summary>
    public async Task<FineTuneJobDto> ResumeAsync(PlatformPrincipal caller, string jobId)
    {
        var grain = Grain(caller, jobId);
        await grain.GetStatusAsync().ConfigureAwait(false);
        return Mapping.Job(await grain.ResumeAsync().ConfigureAwait(false));
    }

    private static int Range(int value, int min, int max, string name) =>
        value < min || value > max ? throw new InvalidRequestException($"{name} must be in [{min}, {max}] (got {value}).") : value;
}
