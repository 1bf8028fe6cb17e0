using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using DeepPerception.Abstractions.Work;

namespace DeepPerception.Abstractions.Telemetry;

/// <summary>What a device worker has done so far (for <see cref="PlatformMetrics.ObserveDevice"/>).</summary>
/// <param name="BusySeconds">Seconds the device thread spent running work items.</param>
/// <param name="WorkItems">Work items it completed.</param>
public readonly record struct DeviceUsage(double BusySeconds, long WorkItems);

/// <summary>
/// The platform's own OpenTelemetry instruments, on the <see cref="System.Diagnostics.Metrics.Meter"/> named
/// <see cref="MeterName"/> (hosts export it with <c>AddMeter("DeepPerception")</c>). Job and request instruments carry a
/// <c>tenant</c> tag. The storage library adds <c>deepperception.storage.retries</c> and
/// <c>deepperception.storage.outages</c> to the same meter name.
/// </summary>
public static class PlatformMetrics
{
    /// <summary>The meter name.</summary>
    public const string MeterName = "DeepPerception";

    private static readonly Meter Meter = new(MeterName);
    private static readonly ConcurrentDictionary<int, (string Device, string Silo, Func<DeviceUsage> Read)> Devices = new();
    private static int _nextDevice;
    private static volatile SchedulerReading? _scheduler;

    /// <summary>Jobs and evaluation runs accepted (tags <c>tenant</c>, <c>kind</c>: finetune or evaluation).</summary>
    public static readonly Counter<long> JobsSubmitted = Meter.CreateCounter<long>("deepperception.jobs.submitted", "{job}",
        "Fine-tuning jobs and evaluation runs submitted.");

    /// <summary>Jobs and evaluation runs that reached a final state (tags <c>tenant</c>, <c>kind</c>, <c>state</c>).</summary>
    public static readonly Counter<long> JobsFinished = Meter.CreateCounter<long>("deepperception.jobs.finished", "{job}",
        "Fine-tuning jobs and evaluation runs that finished, by final state.");

    /// <summary>Attempts stopped by a storage outage (tags <c>tenant</c>, <c>kind</c>).</summary>
    public static readonly Counter<long> JobsWaitingForStorage = Meter.CreateCounter<long>("deepperception.jobs.storage_waits",
        "{attempt}", "Work attempts that stopped because the artifact store stayed unavailable.");

    /// <summary>Ground requests answered or refused (tags <c>tenant</c>, <c>outcome</c>: ok or the error type, <c>stream</c>).</summary>
    public static readonly Counter<long> GroundRequests = Meter.CreateCounter<long>("deepperception.ground.requests", "{request}",
        "Ground requests handled by the API.");

    /// <summary>End-to-end latency of ground requests in seconds (tags <c>tenant</c>, <c>outcome</c>, <c>stream</c>).</summary>
    public static readonly Histogram<double> GroundDuration = Meter.CreateHistogram<double>("deepperception.ground.duration", "s",
        "End-to-end duration of ground requests in the API (validation, queueing, batching, decoding).");

    static PlatformMetrics()
    {
        Meter.CreateObservableGauge("deepperception.scheduler.queue_length", ObserveQueue, "{work}",
            "Work waiting in the scheduler's queue (including work held back after a storage outage).");
        Meter.CreateObservableGauge("deepperception.scheduler.running_work", ObserveRunning, "{work}",
            "Work running per GPU silo (tag silo), as the scheduler sees it.");
        Meter.CreateObservableCounter("deepperception.device.busy_seconds", () => ObserveDevices(u => u.BusySeconds), "s",
            "Seconds each GPU silo's device thread spent running work (training, evaluation, serving batches).");
        Meter.CreateObservableCounter("deepperception.device.work_items", () => ObserveDevices(u => u.WorkItems), "{item}",
            "Work items run on each GPU silo's device thread.");
    }

    /// <summary>The tag value of a work kind: "finetune" or "evaluation".</summary>
    public static string KindTag(WorkKind kind) => kind == WorkKind.Evaluation ? "evaluation" : "finetune";

    /// <summary>Counts submitted work.</summary>
    public static void WorkSubmitted(string tenantId, WorkKind kind) =>
        JobsSubmitted.Add(1, new("tenant", tenantId), new("kind", KindTag(kind)));

    /// <summary>Counts work that reached <paramref name="state"/> (a final state).</summary>
    public static void WorkFinished(string tenantId, WorkKind kind, WorkState state) =>
        JobsFinished.Add(1, new("tenant", tenantId), new("kind", KindTag(kind)), new("state", state.ToString().ToLowerInvariant()));

    /// <summary>Counts an attempt stopped by a storage outage.</summary>
    public static void WorkWaitingForStorage(string tenantId, WorkKind kind) =>
        JobsWaitingForStorage.Add(1, new("tenant", tenantId), new("kind", KindTag(kind)));

    /// <summary>Records one ground request.</summary>
    public static void GroundRequest(string tenantId, string outcome, bool stream, TimeSpan duration)
    {
        var tags = new System.Diagnostics.TagList { { "tenant", tenantId }, { "outcome", outcome }, { "stream", stream } };
        GroundRequests.Add(1, tags);
        GroundDuration.Record(duration.TotalSeconds, tags);
    }

    /// <summary>
    /// Publishes the scheduler's queue length and running work per silo (called by the scheduler after each pass);
    /// the gauges report the latest values of this process.
    /// </summary>
    public static void SetSchedulerState(int queued, IReadOnlyDictionary<string, int> runningBySilo)
    {
        ArgumentNullException.ThrowIfNull(runningBySilo);
        _scheduler = new SchedulerReading(queued, runningBySilo.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal));
    }

    /// <summary>Stops reporting scheduler gauges from this process (the scheduler left it).</summary>
    public static void ClearSchedulerState() => _scheduler = null;

    /// <summary>
    /// Reports a device worker's usage through the device instruments (tags <c>device</c>, <c>silo</c>) until the
    /// returned handle is disposed.
    /// </summary>
    public static IDisposable ObserveDevice(string device, string silo, Func<DeviceUsage> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        var id = Interlocked.Increment(ref _nextDevice);
        Devices[id] = (device, silo, read);
        return new Registration(id);
    }

    private static IEnumerable<Measurement<int>> ObserveQueue() =>
        _scheduler is { } s ? [new Measurement<int>(s.Queued)] : [];

    private static IEnumerable<Measurement<int>> ObserveRunning() =>
        _scheduler is { } s
            ? s.RunningBySilo.Select(kv => new Measurement<int>(kv.Value, new KeyValuePair<string, object?>("silo", kv.Key))).ToList()
            : [];

    private static IEnumerable<Measurement<T>> ObserveDevices<T>(Func<DeviceUsage, T> pick) where T : struct =>
        Devices.Values.Select(d => new Measurement<T>(pick(d.Read()),
            new KeyValuePair<string, object?>("device", d.Device), new KeyValuePair<string, object?>("silo", d.Silo))).ToList();

    private sealed record SchedulerReading(int Queued, IReadOnlyDictionary<string, int> RunningBySilo);

    private sealed class Registration(int id) : IDisposable
    {
        public void Dispose() => Devices.TryRemove(id, out _);
    }
}
