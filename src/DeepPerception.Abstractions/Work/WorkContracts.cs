using System.Collections.Immutable;
using DeepPerception.Abstractions.Models;

namespace DeepPerception.Abstractions.Work;

/// <summary>The lifecycle state of scheduled GPU work (fine-tuning jobs and evaluation runs).</summary>
[GenerateSerializer, Alias("dp.WorkState")]
public enum WorkState
{
    /// <summary>Waiting in the scheduler's queue.</summary>
    Queued = 0,

    /// <summary>Running on a GPU silo.</summary>
    Running = 1,

    /// <summary>Finished successfully.</summary>
    Succeeded = 2,

    /// <summary>Finished with an error.</summary>
    Failed = 3,

    /// <summary>Cancelled by a user.</summary>
    Cancelled = 4,

    /// <summary>
    /// The last attempt stopped because the artifact store stayed unavailable after its retries (a storage outage); the
    /// work keeps its checkpoints and the scheduler starts it again later, with backoff, resuming from the last one.
    /// </summary>
    WaitingForStorage = 5,
}

/// <summary>How a run ended.</summary>
[GenerateSerializer, Alias("dp.OutcomeKind")]
public enum OutcomeKind
{
    /// <summary>Completed.</summary>
    Succeeded = 0,

    /// <summary>Failed.</summary>
    Failed = 1,

    /// <summary>Stopped by cancellation.</summary>
    Cancelled = 2,
}

/// <summary>The kind of scheduled work.</summary>
[GenerateSerializer, Alias("dp.WorkKind")]
public enum WorkKind
{
    /// <summary>A fine-tuning job (<see cref="IFineTuneJobGrain"/>).</summary>
    FineTune = 0,

    /// <summary>An evaluation run (<see cref="Evaluation.IEvaluationRunGrain"/>).</summary>
    Evaluation = 1,
}

/// <summary>A progress snapshot reported by a running engine.</summary>
/// <param name="Step">Steps (or evaluated samples) done.</param>
/// <param name="TotalSteps">Steps (or samples) in all.</param>
/// <param name="Metrics">Current metrics (loss, reward, accuracy, ...).</param>
/// <param name="CheckpointKey">Set when a durable checkpoint at <paramref name="Step"/> has just been written.</param>
/// <param name="Message">A short human-readable note.</param>
[GenerateSerializer, Immutable, Alias("dp.JobProgress")]
public sealed record JobProgress(
    [property: Id(0)] int Step,
    [property: Id(1)] int TotalSteps,
    [property: Id(2)] ImmutableDictionary<string, double> Metrics,
    [property: Id(3)] string? CheckpointKey,
    [property: Id(4)] string? Message);

/// <summary>The outcome of a fine-tuning run.</summary>
/// <param name="Kind">How it ended.</param>
/// <param name="OutputCheckpointKey">The final weights (on success).</param>
/// <param name="Metrics">Final metrics.</param>
/// <param name="GpuSeconds">GPU seconds this attempt used.</param>
/// <param name="Error">The error (on failure).</param>
[GenerateSerializer, Immutable, Alias("dp.JobOutcome")]
public sealed record JobOutcome(
    [property: Id(0)] OutcomeKind Kind,
    [property: Id(1)] string? OutputCheckpointKey,
    [property: Id(2)] ImmutableDictionary<string, double> Metrics,
    [property: Id(3)] double GpuSeconds,
    [property: Id(4)] string? Error);

/// <summary>What the engine needs to run a fine-tuning attempt.</summary>
/// <param name="JobKey">The job's grain key "{tenantId}/{jobId}".</param>
/// <param name="TenantId">The owning tenant.</param>
/// <param name="BaseCheckpointKey">The weights to start from (base model or parent version).</param>
/// <param name="SamplesIndexKey">The dataset version's samples index.</param>
/// <param name="KnowledgeBase">The dataset's knowledge base.</param>
/// <param name="Recipe">The training recipe.</param>
/// <param name="CheckpointPrefix">The artifact prefix under which this attempt writes its checkpoints.</param>
/// <param name="OutputKey">The artifact key for the final weights.</param>
[GenerateSerializer, Immutable, Alias("dp.FineTuneSpec")]
public sealed record FineTuneSpec(
    [property: Id(0)] string JobKey,
    [property: Id(1)] string TenantId,
    [property: Id(2)] string BaseCheckpointKey,
    [property: Id(3)] string SamplesIndexKey,
    [property: Id(4)] ImmutableArray<Datasets.KnowledgeEntry> KnowledgeBase,
    [property: Id(5)] TrainingRecipe Recipe,
    [property: Id(6)] string CheckpointPrefix,
    [property: Id(7)] string OutputKey);

/// <summary>A fine-tuning attempt handed to a GPU worker.</summary>
[GenerateSerializer, Immutable, Alias("dp.FineTuneWorkOrder")]
public sealed record FineTuneWorkOrder(
    [property: Id(0)] int Attempt,
    [property: Id(1)] FineTuneSpec Spec,
    [property: Id(2)] string? ResumeFromCheckpointKey);

/// <summary>A pinned evaluation harness: which benchmark, which exact data, which metric.</summary>
/// <param name="HarnessId">The harness name, e.g. "kvg-bench".</param>
/// <param name="Version">The harness version.</param>
/// <param name="BenchmarkKey">The benchmark data in the artifact store.</param>
/// <param name="BenchmarkSha256">The SHA-256 of the benchmark data (lowercase hex).</param>
/// <param name="PrimaryMetric">The metric the leaderboard ranks by.</param>
/// <param name="Settings">Fixed harness settings (prompt template, IoU threshold, ...).</param>
[GenerateSerializer, Immutable, Alias("dp.HarnessDescriptor")]
public sealed record HarnessDescriptor(
    [property: Id(0)] string HarnessId,
    [property: Id(1)] string Version,
    [property: Id(2)] string BenchmarkKey,
    [property: Id(3)] string BenchmarkSha256,
    [property: Id(4)] string PrimaryMetric,
    [property: Id(5)] ImmutableDictionary<string, string> Settings)
{
    /// <summary>Whether two descriptors pin the same harness (all fields equal, settings compared by content).</summary>
    public bool SameAs(HarnessDescriptor other) =>
        HarnessId == other.HarnessId && Version == other.Version && BenchmarkKey == other.BenchmarkKey
        && string.Equals(BenchmarkSha256, other.BenchmarkSha256, StringComparison.OrdinalIgnoreCase)
        && PrimaryMetric == other.PrimaryMetric && Settings.Count == other.Settings.Count
        && Settings.All(kv => other.Settings.TryGetValue(kv.Key, out var v) && v == kv.Value);
}

/// <summary>What the engine needs to run an evaluation.</summary>
[GenerateSerializer, Immutable, Alias("dp.EvaluationSpec")]
public sealed record EvaluationSpec(
    [property: Id(0)] string RunKey,
    [property: Id(1)] string TenantId,
    [property: Id(2)] string ModelCheckpointKey,
    [property: Id(3)] HarnessDescriptor Harness,
    [property: Id(4)] string OutputPrefix);

/// <summary>An evaluation attempt handed to a GPU worker.</summary>
[GenerateSerializer, Immutable, Alias("dp.EvaluationWorkOrder")]
public sealed record EvaluationWorkOrder(
    [property: Id(0)] int Attempt,
    [property: Id(1)] EvaluationSpec Spec);

/// <summary>The outcome of an evaluation.</summary>
[GenerateSerializer, Immutable, Alias("dp.EvaluationOutcome")]
public sealed record EvaluationOutcome(
    [property: Id(0)] OutcomeKind Kind,
    [property: Id(1)] ImmutableDictionary<string, double> Metrics,
    [property: Id(2)] string? ReportKey,
    [property: Id(3)] double GpuSeconds,
    [property: Id(4)] string? Error);

/// <summary>The answer of work asked by the scheduler to start on a silo.</summary>
/// <param name="Started">Whether the work started.</param>
/// <param name="Attempt">The attempt number that started.</param>
/// <param name="SiloId">Where it actually runs.</param>
/// <param name="Drop">True when the work no longer wants to run (cancelled, finished) and must leave the queue.</param>
/// <param name="Reason">Why it did not start.</param>
[GenerateSerializer, Immutable, Alias("dp.DispatchResult")]
public sealed record DispatchResult(
    [property: Id(0)] bool Started,
    [property: Id(1)] int Attempt,
    [property: Id(2)] string? SiloId,
    [property: Id(3)] bool Drop,
    [property: Id(4)] string? Reason);

/// <summary>
/// Operations every schedulable work grain offers to the scheduler and the GPU workers. Callers outside the platform
/// runtime should not use them.
/// </summary>
[Alias("dp.IScheduledWorkGrain")]
public interface IScheduledWorkGrain : IGrainWithStringKey
{
    /// <summary>Starts a new attempt on the given GPU silo (id from <c>SiloAddress.ToParsableString()</c>).</summary>
    [Alias("Dispatch")]
    Task<DispatchResult> DispatchAsync(string siloId);

    /// <summary>The running attempt lost its silo (or the silo is draining): stop it and go back to the queue.</summary>
    [Alias("Interrupt")]
    Task InterruptAsync(int attempt, string reason);

    /// <summary>Records progress of an attempt; returns false when the attempt is stale or cancelled and must stop.</summary>
    [Alias("ReportProgress")]
    Task<bool> ReportProgressAsync(int attempt, JobProgress progress);

    /// <summary>
    /// The attempt stopped because the artifact store stayed unavailable (<paramref name="reason"/>): the work moves to
    /// <see cref="WorkState.WaitingForStorage"/> and the scheduler starts it again later from its last checkpoint.
    /// </summary>
    [Alias("ReportStorageOutage")]
    Task ReportStorageOutageAsync(int attempt, string reason);
}
