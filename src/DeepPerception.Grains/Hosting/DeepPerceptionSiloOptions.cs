namespace DeepPerception.Grains.Hosting;

/// <summary>How a DeepPerception silo takes part in the cluster.</summary>
public sealed class DeepPerceptionSiloOptions
{
    /// <summary>Whether the silo hosts control-plane grains (default true).</summary>
    public bool Control { get; set; } = true;

    /// <summary>Whether the silo hosts GPU work (default false); it then registers in the GPU silo registry.</summary>
    public bool Gpu { get; set; }

    /// <summary>The accelerator's name as shown to operators.</summary>
    public string DeviceName { get; set; } = "unspecified";

    /// <summary>The accelerator's memory in bytes.</summary>
    public long DeviceMemoryBytes { get; set; }

    /// <summary>How many GPU work attempts this silo runs at once (default 1).</summary>
    public int MaxConcurrentWork { get; set; } = 1;

    /// <summary>How often the scheduler re-checks silos and the queue (default 5 s).</summary>
    public TimeSpan SchedulerPassInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often control silos wake the scheduler grain besides membership changes, so that it comes back at once
    /// wherever it is reactivated after the silo hosting it died (default 10 s).
    /// </summary>
    public TimeSpan SchedulerWatchdogInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How often the scheduler asks the GPU worker of each running attempt whether it still runs; an attempt that
    /// stopped without reporting an outcome goes back to the queue and resumes from its checkpoint (default 30 s).
    /// </summary>
    public TimeSpan WorkerCheckInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>SFT jobs estimated at or below this many GPU seconds are "short" (default 7200).</summary>
    public double ShortFineTuneMaxGpuSeconds { get; set; } = 7200;

    /// <summary>
    /// Pre-emption by checkpoint: when higher-priority work is queued and no GPU slot is free, running lower-priority
    /// work that has run at least this long is interrupted and goes back to the queue, to resume later from its last
    /// checkpoint. Null turns pre-emption off. Default 10 minutes, so that work is not interrupted over and over.
    /// </summary>
    public TimeSpan? PreemptionMinRunTime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How long the scheduler holds back work whose attempt met a storage outage before it starts it again; doubled for
    /// each consecutive outage up to <see cref="StorageRetryMaxDelay"/> (default 30 s).
    /// </summary>
    public TimeSpan StorageRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest hold-back after consecutive storage outages (default 10 minutes).</summary>
    public TimeSpan StorageRetryMaxDelay { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The silo metadata role value for these options, e.g. "control,gpu".</summary>
    public string RoleValue => string.Join(',', new[] { Control ? SiloRoles.Control : null, Gpu ? SiloRoles.Gpu : null }
        .Where(r => r is not null));

    /// <summary>Returns the validation errors (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!Control && !Gpu)
        {
            errors.Add("A silo needs at least one role (Control or Gpu).");
        }

        if (MaxConcurrentWork < 1)
        {
            errors.Add($"{nameof(MaxConcurrentWork)} must be at least 1.");
        }

        if (DeviceMemoryBytes < 0)
        {
            errors.Add($"{nameof(DeviceMemoryBytes)} must not be negative.");
        }

        if (WorkerCheckInterval <= TimeSpan.Zero)
        {
            errors.Add($"{nameof(WorkerCheckInterval)} must be positive.");
        }

        if (SchedulerWatchdogInterval <= TimeSpan.Zero)
        {
            errors.Add($"{nameof(SchedulerWatchdogInterval)} must be positive.");
        }

        if (SchedulerPassInterval <= TimeSpan.Zero)
        {
            errors.Add($"{nameof(SchedulerPassInterval)} must be positive.");
        }

        if (StorageRetryDelay < TimeSpan.Zero || StorageRetryMaxDelay < StorageRetryDelay)
        {
            errors.Add($"{nameof(StorageRetryDelay)} must not be negative nor above {nameof(StorageRetryMaxDelay)}.");
        }

        if (PreemptionMinRunTime < TimeSpan.Zero)
        {
            errors.Add($"{nameof(PreemptionMinRunTime)} must not be negative.");
        }

        return errors;
    }
}
