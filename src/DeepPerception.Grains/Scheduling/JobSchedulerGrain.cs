using System.Collections.Immutable;
using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Compute;
using DeepPerception.Abstractions.Evaluation;
using DeepPerception.Abstractions.Telemetry;
using DeepPerception.Abstractions.Work;
using DeepPerception.Grains.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DeepPerception.Grains.Scheduling;

/// <summary>
/// The scheduler grain: persists <see cref="SchedulerState"/> and runs <see cref="JobScheduler"/> passes on enqueue,
/// release, registry changes and a periodic timer. A pass (1) sends running work whose silo is no longer active back
/// to the queue, (2) moves work off draining silos, (3) pre-empts lower-priority work that ran long enough when
/// higher-priority work waits for a slot (it resumes later from its checkpoint), (4) starts queued work on silos with
/// free slots.
/// </summary>
[ControlPlane]
internal sealed partial class JobSchedulerGrain(
    [PersistentState("scheduler", PlatformStorage.Name)] IPersistentState<SchedulerState> state,
    IOptions<DeepPerceptionSiloOptions> options,
    TimeProvider time,
    ILogger<JobSchedulerGrain> logger) : Grain, IJobSchedulerGrain
{
    private readonly SchedulerPolicy _policy = new()
    {
        ShortFineTuneMaxGpuSeconds = options.Value.ShortFineTuneMaxGpuSeconds,
        PreemptionMinRunTime = options.Value.PreemptionMinRunTime,
    };
    private IReadOnlyList<SiloCapacity> _lastSilos = [];
    private DateTimeOffset _lastWorkerCheck = DateTimeOffset.MinValue;

    private JobScheduler Scheduler => new(state.State, _policy);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var interval = options.Value.SchedulerPassInterval;
        this.RegisterGrainTimer(PassAsync, new GrainTimerCreationOptions(interval, interval) { KeepAlive = true });
        return base.OnActivateAsync(cancellationToken);
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        PlatformMetrics.ClearSchedulerState();
        return base.OnDeactivateAsync(reason, cancellationToken);
    }

    async Task<WorkPlacement> IJobSchedulerGrain.EnqueueAsync(WorkItemRequest request)
    {
        Scheduler.Enqueue(request, time.GetUtcNow());
        await state.WriteStateAsync();
        this.AsReference<IJobSchedulerGrain>().PumpAsync().Ignore();
        return Scheduler.Placement(request.WorkKey, _lastSilos);
    }

    async Task IJobSchedulerGrain.ReleaseAsync(string workKey, int generation)
    {
        if (Scheduler.Release(workKey, generation))
        {
            await state.WriteStateAsync();
            await PassAsync();
        }
    }

    async Task IJobSchedulerGrain.DeferForStorageAsync(string workKey, int attempt)
    {
        var retryAt = Scheduler.DeferForStorage(workKey, attempt, options.Value.StorageRetryDelay,
            options.Value.StorageRetryMaxDelay, time.GetUtcNow());
        if (retryAt is not null)
        {
            LogDeferred(workKey, attempt, retryAt.Value);
            await state.WriteStateAsync();
            await GrainFactory.GetGrain<IGpuSiloRegistryGrain>(PlatformKeys.Singleton)
                .ReportRunningWorkAsync(Scheduler.RunningBySilo());
            PublishMetrics();
        }
    }

    Task IJobSchedulerGrain.PumpAsync() => PassAsync();

    async Task<SchedulerSnapshot> IJobSchedulerGrain.PumpNowAsync()
    {
        await PassAsync();
        return Snapshot();
    }

    Task<WorkPlacement> IJobSchedulerGrain.GetPlacementAsync(string workKey) =>
        Task.FromResult(Scheduler.Placement(workKey, _lastSilos));

    Task<SchedulerSnapshot> IJobSchedulerGrain.GetSnapshotAsync() => Task.FromResult(Snapshot());

    private SchedulerSnapshot Snapshot()
    {
        var scheduler = Scheduler;
        var queued = scheduler.QueueOrder().Select(w => scheduler.Placement(w.Key, _lastSilos)).ToImmutableArray();
        var running = state.State.Running.Keys.Order(StringComparer.Ordinal)
            .Select(k => scheduler.Placement(k, _lastSilos)).ToImmutableArray();
        var accepting = _lastSilos.Count(s => s.AcceptsWork);
        return new SchedulerSnapshot(queued, running, accepting,
            $"{queued.Length} queued, {running.Length} running, {accepting} GPU silo(s) accepting work.");
    }

    private async Task PassAsync()
    {
        var registry = GrainFactory.GetGrain<IGpuSiloRegistryGrain>(PlatformKeys.Singleton);
        var silos = await registry.GetSilosAsync();
        _lastSilos = silos.Select(s => new SiloCapacity(s.Descriptor.SiloId, s.Descriptor.SiloName,
            s.Descriptor.MaxConcurrentWork, s.AcceptsWork)).ToList();
        var scheduler = Scheduler;
        var changed = false;

        var live = silos.Where(s => s.IsActive).Select(s => s.Descriptor.SiloId).ToHashSet(StringComparer.Ordinal);
        foreach (var lost in scheduler.RunningOutside(live))
        {
            scheduler.Requeue(lost.Work.Key);
            changed = true;
            await InterruptAsync(lost, $"GPU silo {lost.SiloId} is no longer active");
        }

        foreach (var draining in silos.Where(s => s.IsDraining && s.IsActive))
        {
            foreach (var moved in scheduler.RunningOn(draining.Descriptor.SiloId))
            {
                scheduler.Requeue(moved.Work.Key);
                changed = true;
                await InterruptAsync(moved, $"GPU silo {draining.Descriptor.SiloName} is draining");
            }
        }

        if (time.GetUtcNow() - _lastWorkerCheck >= options.Value.WorkerCheckInterval)
        {
            _lastWorkerCheck = time.GetUtcNow();
            foreach (var running in state.State.Running.Values.ToList())
            {
                if (await WorkerStoppedAsync(running) && state.State.Running.TryGetValue(running.Work.Key, out var still)
                    && still.Attempt == running.Attempt)
                {
                    scheduler.Requeue(running.Work.Key);
                    changed = true;
                    await InterruptAsync(running, "its GPU worker stopped without reporting an outcome");
                }
            }
        }

        foreach (var preemption in scheduler.PlanPreemptions(_lastSilos, time.GetUtcNow()))
        {
            if (scheduler.Requeue(preemption.WorkKey) is { } preempted)
            {
                changed = true;
                LogPreempted(preemption.WorkKey, preemption.Attempt, preemption.ForWorkKey);
                await InterruptAsync(preempted, preemption.Reason);
            }
        }

        foreach (var decision in scheduler.Plan(_lastSilos, time.GetUtcNow()))
        {
            changed = true;
            try
            {
                var result = await WorkGrain(decision.Kind, decision.WorkKey).DispatchAsync(decision.SiloId);
                if (result.Started)
                {
                    scheduler.MarkRunning(decision.WorkKey, result.SiloId ?? decision.SiloId, result.Attempt, time.GetUtcNow());
                }
                else if (result.Drop)
                {
                    scheduler.Release(decision.WorkKey);
                }
                else
                {
                    scheduler.RecordDispatchError(decision.WorkKey, result.Reason ?? "not started");
                }
            }
            catch (Exception ex)
            {
                LogDispatchFailed(ex, decision.WorkKey, decision.SiloId);
                scheduler.RecordDispatchError(decision.WorkKey, ex.Message);
            }
        }

        if (changed)
        {
            await state.WriteStateAsync();
        }

        await registry.ReportRunningWorkAsync(scheduler.RunningBySilo());
        PublishMetrics();
    }

    private void PublishMetrics()
    {
        var names = _lastSilos.ToDictionary(s => s.SiloId, s => s.SiloName, StringComparer.Ordinal);
        var running = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var silo in _lastSilos)
        {
            running[silo.SiloName] = 0;
        }

        foreach (var work in state.State.Running.Values)
        {
            var name = names.GetValueOrDefault(work.SiloId, work.SiloId);
            running[name] = running.GetValueOrDefault(name) + 1;
        }

        PlatformMetrics.SetSchedulerState(state.State.Queue.Count, running);
    }

    private async Task<bool> WorkerStoppedAsync(RunningWork work)
    {
        try
        {
            return !await GrainFactory.GetGrain<IGpuWorkerGrain>($"{work.Work.Key}/attempt-{work.Attempt}").IsRunningAsync();
        }
        catch (Exception ex)
        {
            LogInterruptFailed(ex, work.Work.Key);
            return false;
        }
    }

    private async Task InterruptAsync(RunningWork work, string reason)
    {
        try
        {
            await WorkGrain(work.Work.Kind, work.Work.Key).InterruptAsync(work.Attempt, reason);
        }
        catch (Exception ex)
        {
            LogInterruptFailed(ex, work.Work.Key);
        }
    }

    private IScheduledWorkGrain WorkGrain(WorkKind kind, string key) => kind switch
    {
        WorkKind.Evaluation => GrainFactory.GetGrain<IEvaluationRunGrain>(key),
        _ => GrainFactory.GetGrain<IFineTuneJobGrain>(key),
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dispatch of {WorkKey} to {SiloId} failed")]
    private partial void LogDispatchFailed(Exception exception, string workKey, string siloId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pre-empting {WorkKey} attempt {Attempt} for {ForWorkKey}")]
    private partial void LogPreempted(string workKey, int attempt, string forWorkKey);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{WorkKey} attempt {Attempt} met a storage outage; retrying at {RetryAt}")]
    private partial void LogDeferred(string workKey, int attempt, DateTimeOffset retryAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Interrupting {WorkKey} failed")]
    private partial void LogInterruptFailed(Exception exception, string workKey);
}
