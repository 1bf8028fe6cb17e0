using System.Collections.Immutable;
using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Compute;
using DeepPerception.Abstractions.Models;
using DeepPerception.Abstractions.Work;

namespace DeepPerception.Grains.Scheduling;

/// <summary>Scheduling policy.</summary>
public sealed class SchedulerPolicy
{
    /// <summary>SFT jobs estimated at or below this many GPU seconds are "short"; default 2 hours.</summary>
    public double ShortFineTuneMaxGpuSeconds { get; set; } = 7200;

    /// <summary>
    /// Pre-emption by checkpoint: running work of a lower priority class that has run at least this long may be
    /// interrupted for queued higher-priority work when no GPU slot is free. Null (default) turns pre-emption off.
    /// </summary>
    public TimeSpan? PreemptionMinRunTime { get; set; }
}

/// <summary>A queued piece of work.</summary>
public sealed class QueuedWork
{
    /// <summary>The work grain key.</summary>
    public string Key { get; set; } = string.Empty;

    /// <summary>The owning tenant.</summary>
    public string TenantId { get; set; } = string.Empty;

    /// <summary>The kind of work.</summary>
    public WorkKind Kind { get; set; }

    /// <summary>The priority class.</summary>
    public WorkPriorityClass Priority { get; set; }

    /// <summary>The generation (see <see cref="WorkItemRequest.Generation"/>).</summary>
    public int Generation { get; set; }

    /// <summary>Arrival order (kept when work is re-queued).</summary>
    public long Sequence { get; set; }

    /// <summary>When it was first queued.</summary>
    public DateTimeOffset EnqueuedAt { get; set; }

    /// <summary>Why the last dispatch attempt did not start it.</summary>
    public string? LastDispatchError { get; set; }

    /// <summary>When set, the work is held back until then (it met a storage outage).</summary>
    public DateTimeOffset? NotBefore { get; set; }

    /// <summary>
    /// Consecutive storage outages of this work; an outage more than twice the longest hold-back after the previous one
    /// starts counting again.
    /// </summary>
    public int StorageOutages { get; set; }

    /// <summary>When the work last met a storage outage.</summary>
    public DateTimeOffset? LastStorageOutageAt { get; set; }
}

/// <summary>A running piece of work.</summary>
public sealed class RunningWork
{
    /// <summary>The queue entry it came from.</summary>
    public QueuedWork Work { get; set; } = new();

    /// <summary>The silo running it.</summary>
    public string SiloId { get; set; } = string.Empty;

    /// <summary>The attempt number.</summary>
    public int Attempt { get; set; }

    /// <summary>When it started.</summary>
    public DateTimeOffset StartedAt { get; set; }
}

/// <summary>The scheduler's persistent state.</summary>
public sealed class SchedulerState
{
    /// <summary>The next arrival number.</summary>
    public long NextSequence { get; set; } = 1;

    /// <summary>Queued work.</summary>
    public List<QueuedWork> Queue { get; set; } = [];

    /// <summary>Running work by key.</summary>
    public Dictionary<string, RunningWork> Running { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>What the scheduler knows about a GPU silo when it plans.</summary>
public sealed record SiloCapacity(string SiloId, string SiloName, int MaxConcurrentWork, bool AcceptsWork);

/// <summary>A planned start of queued work on a silo.</summary>
public sealed record DispatchDecision(string WorkKey, WorkKind Kind, string SiloId);

/// <summary>
/// A planned pre-emption: running work <see cref="WorkKey"/> (attempt <see cref="Attempt"/> on <see cref="SiloId"/>)
/// is interrupted so that the queued, higher-priority <see cref="ForWorkKey"/> can start; it goes back to the queue and
/// later resumes from its last checkpoint.
/// </summary>
public sealed record PreemptionDecision(string WorkKey, WorkKind Kind, string SiloId, int Attempt, string ForWorkKey, string Reason);

/// <summary>
/// The scheduling rules, free of Orleans: priority classes (evaluation &gt; short SFT &gt; long jobs), fair share
/// between tenants inside a class (the tenant with the least running work goes first), arrival order last, and
/// per-silo concurrency limits. Only silos that accept work (registered, active, not cordoned, not draining) get work.
/// </summary>
public sealed class JobScheduler(SchedulerState state, SchedulerPolicy policy)
{
    /// <summary>The state this scheduler works on.</summary>
    public SchedulerState State => state;

    /// <summary>Returns the priority class of a request.</summary>
    public WorkPriorityClass Classify(WorkItemRequest request) => request.Kind switch
    {
        WorkKind.Evaluation => WorkPriorityClass.Evaluation,
        _ when request.Method == FineTuneMethod.Sft && request.EstimatedGpuSeconds <= policy.ShortFineTuneMaxGpuSeconds
            => WorkPriorityClass.ShortFineTune,
        _ => WorkPriorityClass.LongFineTune,
    };

    /// <summary>Queues work; queuing known work again changes nothing.</summary>
    public void Enqueue(WorkItemRequest request, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(request.WorkKey) || string.IsNullOrEmpty(request.TenantId))
        {
            throw new InvalidRequestException("Work needs a key and a tenant.");
        }

        var known = Find(request.WorkKey) ?? (state.Running.TryGetValue(request.WorkKey, out var r) ? r.Work : null);
        if (known is not null)
        {
            if (known.Generation >= request.Generation)
            {
                return;
            }

            // A newer generation replaces whatever is left of the old one.
            Release(request.WorkKey);
        }

        state.Queue.Add(new QueuedWork
        {
            Key = request.WorkKey,
            TenantId = request.TenantId,
            Kind = request.Kind,
            Priority = Classify(request),
            Generation = request.Generation,
            Sequence = state.NextSequence++,
            EnqueuedAt = now,
        });
    }

    /// <summary>Forgets queued or running work of <paramref name="generation"/> or older; returns whether it was known.</summary>
    public bool Release(string key, int generation)
    {
        var known = Find(key) ?? (state.Running.TryGetValue(key, out var running) ? running.Work : null);
        return known is not null && known.Generation <= generation && Release(key);
    }

    /// <summary>Forgets queued or running work; returns whether it was known.</summary>
    public bool Release(string key)
    {
        var removed = state.Queue.RemoveAll(w => w.Key == key) > 0;
        return state.Running.Remove(key) || removed;
    }

    /// <summary>
    /// Sends work that met a storage outage back to the queue (from running, when <paramref name="attempt"/> is the
    /// running one; queued work stays queued), held back for <paramref name="baseDelay"/> doubled per consecutive outage
    /// up to <paramref name="maxDelay"/>. Returns the retry time, or null when the work is unknown or the attempt stale.
    /// </summary>
    public DateTimeOffset? DeferForStorage(string key, int attempt, TimeSpan baseDelay, TimeSpan maxDelay, DateTimeOffset now)
    {
        QueuedWork? work;
        if (state.Running.TryGetValue(key, out var running))
        {
            if (running.Attempt != attempt)
            {
                return null;
            }

            work = Requeue(key)!.Work;
        }
        else
        {
            work = Find(key);
        }

        if (work is null)
        {
            return null;
        }

        if (work.LastStorageOutageAt is { } last && now - last > maxDelay * 2)
        {
            work.StorageOutages = 0;
        }

        work.StorageOutages++;
        work.LastStorageOutageAt = now;
        var factor = Math.Pow(2, Math.Min(work.StorageOutages - 1, 20));
        var delay = TimeSpan.FromTicks((long)Math.Min(baseDelay.Ticks * factor, maxDelay.Ticks));
        work.NotBefore = now + delay;
        return work.NotBefore;
    }

    /// <summary>
    /// Plans which queued work starts where, without changing the state. Work held back after a storage outage
    /// (<see cref="QueuedWork.NotBefore"/> later than <paramref name="now"/>) is left out; without <paramref name="now"/>
    /// nothing is held back.
    /// </summary>
    public IReadOnlyList<DispatchDecision> Plan(IReadOnlyList<SiloCapacity> silos, DateTimeOffset? now = null)
    {
        var free = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var silo in silos.Where(s => s.AcceptsWork))
        {
            var slots = silo.MaxConcurrentWork - state.Running.Values.Count(r => r.SiloId == silo.SiloId);
            if (slots > 0)
            {
                free[silo.SiloId] = slots;
            }
        }

        var tenantLoad = state.Running.Values.GroupBy(r => r.Work.TenantId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var pending = state.Queue.Where(w => Ready(w, now)).ToList();
        var decisions = new List<DispatchDecision>();
        while (free.Count > 0 && pending.Count > 0)
        {
            var next = pending
                .OrderBy(w => w.Priority)
                .ThenBy(w => tenantLoad.GetValueOrDefault(w.TenantId))
                .ThenBy(w => w.Sequence)
                .First();
            var silo = free.OrderByDescending(f => f.Value).ThenBy(f => f.Key, StringComparer.Ordinal).First().Key;
            decisions.Add(new DispatchDecision(next.Key, next.Kind, silo));
            pending.Remove(next);
            tenantLoad[next.TenantId] = tenantLoad.GetValueOrDefault(next.TenantId) + 1;
            if (--free[silo] == 0)
            {
                free.Remove(silo);
            }
        }

        return decisions;
    }

    /// <summary>
    /// Plans pre-emptions, without changing the state: for each queued piece of work that <see cref="Plan"/> cannot start
    /// (highest priority first), the running work of a strictly lower priority class on a silo that accepts work and
    /// that has run at least <see cref="SchedulerPolicy.PreemptionMinRunTime"/> is chosen (lowest class first, then the
    /// tenant running the most, then the most recently started). Each running piece of work is chosen at most once.
    /// Empty when pre-emption is off.
    /// </summary>
    public IReadOnlyList<PreemptionDecision> PlanPreemptions(IReadOnlyList<SiloCapacity> silos, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(silos);
        if (policy.PreemptionMinRunTime is not { } minRun)
        {
            return [];
        }

        var accepting = silos.Where(s => s.AcceptsWork).Select(s => s.SiloId).ToHashSet(StringComparer.Ordinal);
        if (accepting.Count == 0)
        {
            return [];
        }

        var planned = Plan(silos, now).Select(d => d.WorkKey).ToHashSet(StringComparer.Ordinal);
        var waiting = QueueOrder().Where(w => !planned.Contains(w.Key) && Ready(w, now)).ToList();
        var candidates = state.Running.Values
            .Where(r => accepting.Contains(r.SiloId) && now - r.StartedAt >= minRun)
            .ToList();
        var tenantLoad = state.Running.Values.GroupBy(r => r.Work.TenantId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var decisions = new List<PreemptionDecision>();
        foreach (var work in waiting)
        {
            var victim = candidates
                .Where(r => r.Work.Priority > work.Priority)
                .OrderByDescending(r => r.Work.Priority)
                .ThenByDescending(r => tenantLoad.GetValueOrDefault(r.Work.TenantId))
                .ThenByDescending(r => r.StartedAt)
                .ThenBy(r => r.Work.Key, StringComparer.Ordinal)
                .FirstOrDefault();
            if (victim is null)
            {
                continue;
            }

            candidates.Remove(victim);
            tenantLoad[victim.Work.TenantId] = tenantLoad.GetValueOrDefault(victim.Work.TenantId) - 1;
            decisions.Add(new PreemptionDecision(victim.Work.Key, victim.Work.Kind, victim.SiloId, victim.Attempt, work.Key,
                $"pre-empted by higher-priority {Describe(work.Priority)} '{work.Key}' after running {(now - victim.StartedAt).TotalSeconds:0} s"));
        }

        return decisions;
    }

    /// <summary>Moves queued work to running.</summary>
    public void MarkRunning(string key, string siloId, int attempt, DateTimeOffset now)
    {
        var work = Find(key) ?? throw new InvalidOperationException($"Work '{key}' is not queued.");
        state.Queue.Remove(work);
        work.LastDispatchError = null;
        work.NotBefore = null;
        state.Running[key] = new RunningWork { Work = work, SiloId = siloId, Attempt = attempt, StartedAt = now };
    }

    /// <summary>Records why queued work did not start.</summary>
    public void RecordDispatchError(string key, string reason)
    {
        if (Find(key) is { } work)
        {
            work.LastDispatchError = reason;
        }
    }

    /// <summary>Moves running work back to the queue, keeping its original arrival order.</summary>
    public RunningWork? Requeue(string key)
    {
        if (!state.Running.Remove(key, out var running))
        {
            return null;
        }

        state.Queue.Add(running.Work);
        return running;
    }

    /// <summary>Running work whose silo is not in <paramref name="liveSiloIds"/>.</summary>
    public IReadOnlyList<RunningWork> RunningOutside(IReadOnlySet<string> liveSiloIds) =>
        state.Running.Values.Where(r => !liveSiloIds.Contains(r.SiloId)).ToList();

    /// <summary>Running work on a silo.</summary>
    public IReadOnlyList<RunningWork> RunningOn(string siloId) =>
        state.Running.Values.Where(r => r.SiloId == siloId).ToList();

    /// <summary>Running work keys by silo.</summary>
    public ImmutableDictionary<string, ImmutableArray<string>> RunningBySilo() =>
        state.Running.Values.GroupBy(r => r.SiloId, StringComparer.Ordinal)
            .ToImmutableDictionary(g => g.Key, g => g.Select(r => r.Work.Key).Order(StringComparer.Ordinal).ToImmutableArray());

    /// <summary>Where a piece of work is and why.</summary>
    public WorkPlacement Placement(string key, IReadOnlyList<SiloCapacity> silos)
    {
        if (state.Running.TryGetValue(key, out var running))
        {
            var name = silos.FirstOrDefault(s => s.SiloId == running.SiloId)?.SiloName ?? running.SiloId;
            return new WorkPlacement(key, WorkPlacementState.Running, running.Work.Priority, null, running.SiloId,
                $"Running attempt {running.Attempt} on GPU silo {name}.");
        }

        var ordered = QueueOrder();
        var index = ordered.FindIndex(w => w.Key == key);
        if (index < 0)
        {
            return new WorkPlacement(key, WorkPlacementState.Unknown, WorkPriorityClass.LongFineTune, null, null,
                "The scheduler does not know this work.");
        }

        var work = ordered[index];
        return new WorkPlacement(key, WorkPlacementState.Queued, work.Priority, index + 1, null,
            WaitingReason(work, index, silos));
    }

    /// <summary>Queued work in the order it would be considered (ignoring fair share, which depends on the moment).</summary>
    public List<QueuedWork> QueueOrder() => state.Queue.OrderBy(w => w.Priority).ThenBy(w => w.Sequence).ToList();

    private string WaitingReason(QueuedWork work, int index, IReadOnlyList<SiloCapacity> silos)
    {
        if (work.NotBefore is { } notBefore)
        {
            return $"Waiting for storage: the artifact store was unavailable ({work.StorageOutages} outage(s) in a row); "
                   + $"the next try starts at {notBefore:HH:mm:ss} UTC or later and resumes from the last checkpoint.";
        }

        var accepting = silos.Where(s => s.AcceptsWork).ToList();
        if (accepting.Count == 0)
        {
            return silos.Count == 0
                ? "Queued: waiting for a GPU silo (no GPU silo is registered)."
                : $"Queued: waiting for a GPU silo ({silos.Count} registered, none active and accepting work: cordoned, draining or down).";
        }

        if (work.LastDispatchError is not null)
        {
            return $"Queued: the last start failed ({work.LastDispatchError}); retrying.";
        }

        var capacity = accepting.Sum(s => s.MaxConcurrentWork);
        return $"Queued at position {index + 1}: all {capacity} GPU slots on {accepting.Count} silo(s) are busy.";
    }

    private static string Describe(WorkPriorityClass priority) => priority switch
    {
        WorkPriorityClass.Evaluation => "evaluation",
        WorkPriorityClass.ShortFineTune => "short fine-tune",
        _ => "long fine-tune",
    };

    private static bool Ready(QueuedWork work, DateTimeOffset? now) =>
        now is null || work.NotBefore is null || work.NotBefore <= now;

    private QueuedWork? Find(string key) => state.Queue.FirstOrDefault(w => w.Key == key);
}
