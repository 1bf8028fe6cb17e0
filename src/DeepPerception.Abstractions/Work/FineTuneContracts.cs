using System.Collections.Immutable;
using DeepPerception.Abstractions.Models;

namespace DeepPerception.Abstractions.Work;

/// <summary>Request to fine-tune a model on a dataset version.</summary>
/// <param name="ModelId">The tenant's model to fine-tune.</param>
/// <param name="ParentModelVersion">The version to start from; null starts from the model's base checkpoint.</param>
/// <param name="DatasetId">The tenant's dataset.</param>
/// <param name="DatasetVersion">The dataset version (frozen once the job is accepted).</param>
/// <param name="Recipe">The training recipe (SFT or GRPO).</param>
/// <param name="EstimatedGpuSeconds">The GPU seconds reserved from the tenant's budget up front.</param>
[GenerateSerializer, Immutable, Alias("dp.FineTuneRequest")]
public sealed record FineTuneRequest(
    [property: Id(0)] string ModelId,
    [property: Id(1)] int? ParentModelVersion,
    [property: Id(2)] string DatasetId,
    [property: Id(3)] int DatasetVersion,
    [property: Id(4)] TrainingRecipe Recipe,
    [property: Id(5)] double EstimatedGpuSeconds);

/// <summary>The observable status of a fine-tuning job.</summary>
[GenerateSerializer, Immutable, Alias("dp.FineTuneJobStatus")]
public sealed record FineTuneJobStatus(
    [property: Id(0)] string JobKey,
    [property: Id(1)] WorkState State,
    [property: Id(2)] FineTuneMethod Method,
    [property: Id(3)] int Attempt,
    [property: Id(4)] string? SiloId,
    [property: Id(5)] JobProgress? LatestProgress,
    [property: Id(6)] string? LastCheckpointKey,
    [property: Id(7)] string StatusMessage,
    [property: Id(8)] int? ResultModelVersion,
    [property: Id(9)] JobOutcome? Outcome,
    [property: Id(10)] DateTimeOffset SubmittedAt,
    [property: Id(11)] DateTimeOffset UpdatedAt,
    [property: Id(12)] ImmutableArray<JobProgress> RecentProgress,
    [property: Id(13)] FineTuneRequest Request)
{
    /// <summary>"running(SFT)" / "running(GRPO)" while running, otherwise the state name in lowercase.</summary>
    public string Phase => State == WorkState.Running
        ? $"running({Method.ToString().ToUpperInvariant()})"
        : State.ToString().ToLowerInvariant();
}

/// <summary>Receives a job's progress and state changes (subscribe with <see cref="IFineTuneJobGrain.SubscribeAsync"/>).</summary>
[Alias("dp.IFineTuneJobObserver")]
public interface IFineTuneJobObserver : IGrainObserver
{
    /// <summary>A progress snapshot arrived.</summary>
    [Alias("OnProgress")]
    void OnProgress(string jobKey, JobProgress progress);

    /// <summary>The job's state changed.</summary>
    [Alias("OnStatusChanged")]
    void OnStatusChanged(FineTuneJobStatus status);
}

/// <summary>
/// A fine-tuning job: queued → running(SFT|GRPO) → succeeded / failed / cancelled, with progress snapshots,
/// checkpoint-based resume and observers. Keyed "{tenantId}/{jobId}".
/// </summary>
[Alias("dp.IFineTuneJobGrain")]
public interface IFineTuneJobGrain : IScheduledWorkGrain
{
    /// <summary>
    /// Validates the request (tenant, model, dataset version), reserves the estimated GPU seconds, freezes the dataset
    /// version and queues the job.
    /// </summary>
    /// <exception cref="ResourceNotFoundException">The tenant, model, dataset or version does not exist.</exception>
    /// <exception cref="QuotaExceededException">The tenant's GPU-seconds budget cannot cover the estimate.</exception>
    [Alias("Submit")]
    Task<FineTuneJobStatus> SubmitAsync(FineTuneRequest request);

    /// <summary>Returns the status.</summary>
    [Alias("GetStatus")]
    Task<FineTuneJobStatus> GetStatusAsync();

    /// <summary>Cancels a queued or running job.</summary>
    [Alias("Cancel")]
    Task<FineTuneJobStatus> CancelAsync(string reason);

    /// <summary>Queues a failed or cancelled job again; it resumes from its last checkpoint.</summary>
    [Alias("Resume")]
    Task<FineTuneJobStatus> ResumeAsync();

    /// <summary>Subscribes an observer.</summary>
    [Alias("Subscribe")]
    Task SubscribeAsync(IFineTuneJobObserver observer);

    /// <summary>Unsubscribes an observer.</summary>
    [Alias("Unsubscribe")]
    Task UnsubscribeAsync(IFineTuneJobObserver observer);

    /// <summary>Records the end of an attempt (called by the GPU worker).</summary>
    [Alias("ReportOutcome")]
    Task ReportOutcomeAsync(int attempt, JobOutcome outcome);
}
