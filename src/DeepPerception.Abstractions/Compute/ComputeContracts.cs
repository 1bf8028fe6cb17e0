using System.Collections.Immutable;
using DeepPerception.Abstractions.Work;
using Orleans.Concurrency;

namespace DeepPerception.Abstractions.Compute;

/// <summary>What a GPU silo announces about itself.</summary>
/// <param name="SiloId">The silo's address (<c>SiloAddress.ToParsableString()</c>).</param>
/// <param name="SiloName">The silo's name.</param>
/// <param name="DeviceName">The accelerator, e.g. "NVIDIA H100 80GB" or "cpu".</param>
/// <param name="DeviceMemoryBytes">The accelerator memory.</param>
/// <param name="MaxConcurrentWork">How many jobs the silo runs at once.</param>
[GenerateSerializer, Immutable, Alias("dp.GpuSiloDescriptor")]
public sealed record GpuSiloDescriptor(
    [property: Id(0)] string SiloId,
    [property: Id(1)] string SiloName,
    [property: Id(2)] string DeviceName,
    [property: Id(3)] long DeviceMemoryBytes,
    [property: Id(4)] int MaxConcurrentWork);

/// <summary>A GPU silo as the registry sees it.</summary>
[GenerateSerializer, Immutable, Alias("dp.GpuSiloStatus")]
public sealed record GpuSiloStatus(
    [property: Id(0)] GpuSiloDescriptor Descriptor,
    [property: Id(1)] bool IsActive,
    [property: Id(2)] bool IsCordoned,
    [property: Id(3)] bool IsDraining,
    [property: Id(4)] ImmutableArray<string> RunningWork,
    [property: Id(5)] DateTimeOffset RegisteredAt)
{
    /// <summary>Whether the scheduler may start new work on the silo.</summary>
    public bool AcceptsWork => IsActive && !IsCordoned && !IsDraining;
}

/// <summary>
/// The registry of GPU silos: device, memory, running work, cordon and drain. Keyed <see cref="PlatformKeys.Singleton"/>.
/// </summary>
[Alias("dp.IGpuSiloRegistryGrain")]
public interface IGpuSiloRegistryGrain : IGrainWithStringKey
{
    /// <summary>Registers (or refreshes) a GPU silo.</summary>
    [Alias("Register")]
    Task RegisterAsync(GpuSiloDescriptor descriptor);

    /// <summary>Removes a silo (graceful shutdown).</summary>
    [Alias("Unregister")]
    Task UnregisterAsync(string siloId);

    /// <summary>Cordons (no new work) or uncordons a silo.</summary>
    [Alias("SetCordoned")]
    Task<GpuSiloStatus> SetCordonedAsync(string siloId, bool cordoned);

    /// <summary>Drains a silo: no new work, and its running work moves to other GPU silos (resuming from checkpoints).</summary>
    [Alias("Drain")]
    Task<GpuSiloStatus> DrainAsync(string siloId);

    /// <summary>Ends a drain and lets the silo take work again.</summary>
    [Alias("Undrain")]
    Task<GpuSiloStatus> UndrainAsync(string siloId);

    /// <summary>Lists the registered silos, with liveness taken from cluster membership.</summary>
    [Alias("GetSilos"), AlwaysInterleave]
    Task<ImmutableArray<GpuSiloStatus>> GetSilosAsync();

    /// <summary>Records the work the scheduler has running on each silo (called by the scheduler).</summary>
    [Alias("ReportRunningWork")]
    Task ReportRunningWorkAsync(ImmutableDictionary<string, ImmutableArray<string>> runningBySilo);
}

/// <summary>The scheduler's priority classes, highest first.</summary>
[GenerateSerializer, Alias("dp.WorkPriorityClass")]
public enum WorkPriorityClass
{
    /// <summary>Evaluation runs.</summary>
    Evaluation = 0,

    /// <summary>Short SFT jobs.</summary>
    ShortFineTune = 1,

    /// <summary>Long jobs (GRPO, long SFT).</summary>
    LongFineTune = 2,
}

/// <summary>Work to put in the queue.</summary>
/// <param name="WorkKey">The work grain's key.</param>
/// <param name="TenantId">The owning tenant.</param>
/// <param name="Kind">Job or evaluation.</param>
/// <param name="Method">The fine-tuning method (jobs only).</param>
/// <param name="EstimatedGpuSeconds">The estimate used for the priority class.</param>
/// <param name="Generation">Increases each time the same work is queued again after it ended (resume); a release of an
/// older generation does not remove a newer one.</param>
[GenerateSerializer, Immutable, Alias("dp.WorkItemRequest")]
public sealed record WorkItemRequest(
    [property: Id(0)] string WorkKey,
    [property: Id(1)] string TenantId,
    [property: Id(2)] WorkKind Kind,
    [property: Id(3)] Models.FineTuneMethod? Method,
    [property: Id(4)] double EstimatedGpuSeconds,
    [property: Id(5)] int Generation = 0);

/// <summary>Where a piece of work is in the scheduler.</summary>
[GenerateSerializer, Alias("dp.WorkPlacementState")]
public enum WorkPlacementState
{
    /// <summary>The scheduler does not know it.</summary>
    Unknown = 0,

    /// <summary>Waiting.</summary>
    Queued = 1,

    /// <summary>Running on a silo.</summary>
    Running = 2,
}

/// <summary>The scheduler's view of one piece of work.</summary>
[GenerateSerializer, Immutable, Alias("dp.WorkPlacement")]
public sealed record WorkPlacement(
    [property: Id(0)] string WorkKey,
    [property: Id(1)] WorkPlacementState State,
    [property: Id(2)] WorkPriorityClass Priority,
    [property: Id(3)] int? QueuePosition,
    [property: Id(4)] string? SiloId,
    [property: Id(5)] string Reason);

/// <summary>The scheduler's queue and running work.</summary>
[GenerateSerializer, Immutable, Alias("dp.SchedulerSnapshot")]
public sealed record SchedulerSnapshot(
    [property: Id(0)] ImmutableArray<WorkPlacement> Queued,
    [property: Id(1)] ImmutableArray<WorkPlacement> Running,
    [property: Id(2)] int AcceptingGpuSilos,
    [property: Id(3)] string Summary);

/// <summary>
/// The job scheduler: a priority queue (evaluation &gt; short SFT &gt; long GRPO) with fair share between tenants and
/// per-silo concurrency, dispatching only to registered, active, uncordoned, undrained GPU silos. Keyed
/// <see cref="PlatformKeys.Singleton"/>.
/// </summary>
[Alias("dp.IJobSchedulerGrain")]
public interface IJobSchedulerGrain : IGrainWithStringKey
{
    /// <summary>Queues work (idempotent per key) and schedules a dispatch pass.</summary>
    [Alias("Enqueue")]
    Task<WorkPlacement> EnqueueAsync(WorkItemRequest request);

    /// <summary>Forgets work of the given generation (or older) that finished or was cancelled, then runs a pass.</summary>
    [Alias("Release"), OneWay]
    Task ReleaseAsync(string workKey, int generation);

    /// <summary>
    /// Sends work whose attempt <paramref name="attempt"/> met a storage outage back to the queue, held back until a
    /// retry time that grows with each consecutive outage (the silo options' storage retry delays).
    /// </summary>
    [Alias("DeferForStorage"), OneWay]
    Task DeferForStorageAsync(string workKey, int attempt);

    /// <summary>Runs a dispatch pass (also runs periodically).</summary>
    [Alias("Pump"), OneWay]
    Task PumpAsync();

    /// <summary>Runs a dispatch pass and waits for it.</summary>
    [Alias("PumpNow")]
    Task<SchedulerSnapshot> PumpNowAsync();

    /// <summary>Returns where a piece of work is, with a human-readable reason.</summary>
    [Alias("GetPlacement"), AlwaysInterleave]
    Task<WorkPlacement> GetPlacementAsync(string workKey);

    /// <summary>Returns the queue and running work.</summary>
    [Alias("GetSnapshot"), AlwaysInterleave]
    Task<SchedulerSnapshot> GetSnapshotAsync();
}

/// <summary>Where a GPU worker activation runs.</summary>
[GenerateSerializer, Immutable, Alias("dp.WorkerPlacement")]
public sealed record WorkerPlacement(
    [property: Id(0)] string SiloId,
    [property: Id(1)] string SiloName);

/// <summary>
/// Executes one attempt of GPU work on a GPU silo (placement restricted to silos with role gpu). Keyed
/// "{workKey}/attempt-{n}".
/// </summary>
[Alias("dp.IGpuWorkerGrain")]
public interface IGpuWorkerGrain : IGrainWithStringKey
{
    /// <summary>Starts a fine-tuning attempt in the background and returns at once.</summary>
    [Alias("StartFineTune")]
    Task<WorkerPlacement> StartFineTuneAsync(FineTuneWorkOrder order);

    /// <summary>Starts an evaluation attempt in the background and returns at once.</summary>
    [Alias("StartEvaluation")]
    Task<WorkerPlacement> StartEvaluationAsync(EvaluationWorkOrder order);

    /// <summary>Cancels the attempt.</summary>
    [Alias("Cancel")]
    Task CancelAsync(string reason);

    /// <summary>Returns where this worker runs.</summary>
    [Alias("GetPlacement")]
    Task<WorkerPlacement> GetPlacementAsync();

    /// <summary>Returns whether the attempt is still running (or reporting its outcome) on this silo.</summary>
    [Alias("IsRunning")]
    Task<bool> IsRunningAsync();
}
