using System.Collections.Immutable;
using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Compute;
using DeepPerception.Grains.Hosting;

namespace DeepPerception.Grains.Scheduling;

/// <summary>A registered GPU silo.</summary>
public sealed class RegisteredGpuSilo
{
    /// <summary>What the silo announced.</summary>
    public GpuSiloDescriptor Descriptor { get; set; } = new(string.Empty, string.Empty, string.Empty, 0, 1);

    /// <summary>Whether new work is refused.</summary>
    public bool Cordoned { get; set; }

    /// <summary>Whether running work is being moved away.</summary>
    public bool Draining { get; set; }

    /// <summary>When the silo registered.</summary>
    public DateTimeOffset RegisteredAt { get; set; }

    /// <summary>The work the scheduler runs there.</summary>
    public List<string> RunningWork { get; set; } = [];
}

/// <summary>The registry's persistent state.</summary>
public sealed class GpuSiloRegistryState
{
    /// <summary>Silos by id.</summary>
    public Dictionary<string, RegisteredGpuSilo> Silos { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>The GPU silo registry; liveness comes from cluster membership.</summary>
[ControlPlane]
internal sealed class GpuSiloRegistryGrain(
    [PersistentState("gpu-registry", PlatformStorage.Name)] IPersistentState<GpuSiloRegistryState> state,
    IClusterMembershipService membership,
    TimeProvider time) : Grain, IGpuSiloRegistryGrain
{
    private Dictionary<string, RegisteredGpuSilo> Silos => state.State.Silos;

    async Task IGpuSiloRegistryGrain.RegisterAsync(GpuSiloDescriptor descriptor)
    {
        if (string.IsNullOrEmpty(descriptor.SiloId) || descriptor.MaxConcurrentWork < 1)
        {
            throw new InvalidRequestException("A GPU silo needs an id and a concurrency of at least 1.");
        }

        if (Silos.TryGetValue(descriptor.SiloId, out var existing))
        {
            existing.Descriptor = descriptor;
        }
        else
        {
            Silos[descriptor.SiloId] = new RegisteredGpuSilo { Descriptor = descriptor, RegisteredAt = time.GetUtcNow() };
        }

        // Forget silos that membership declared dead and that run nothing.
        foreach (var dead in Silos.Where(s => Status(s.Key) == SiloStatus.Dead && s.Value.RunningWork.Count == 0)
                     .Select(s => s.Key).ToList())
        {
            Silos.Remove(dead);
        }

        await state.WriteStateAsync();
        NotifyScheduler();
    }

    async Task IGpuSiloRegistryGrain.UnregisterAsync(string siloId)
    {
        if (Silos.Remove(siloId))
        {
            await state.WriteStateAsync();
            NotifyScheduler();
        }
    }

    async Task<GpuSiloStatus> IGpuSiloRegistryGrain.SetCordonedAsync(string siloId, bool cordoned)
    {
        var silo = Require(siloId);
        silo.Cordoned = cordoned;
        await state.WriteStateAsync();
        NotifyScheduler();
        return ToStatus(siloId, silo);
    }

    async Task<GpuSiloStatus> IGpuSiloRegistryGrain.DrainAsync(string siloId)
    {
        var silo = Require(siloId);
        silo.Draining = true;
        await state.WriteStateAsync();
        NotifyScheduler();
        return ToStatus(siloId, silo);
    }

    async Task<GpuSiloStatus> IGpuSiloRegistryGrain.UndrainAsync(string siloId)
    {
        var silo = Require(siloId);
        silo.Draining = false;
        await state.WriteStateAsync();
        NotifyScheduler();
        return ToStatus(siloId, silo);
    }

    Task<ImmutableArray<GpuSiloStatus>> IGpuSiloRegistryGrain.GetSilosAsync() =>
        Task.FromResult(Silos.OrderBy(s => s.Value.Descriptor.SiloName, StringComparer.Ordinal)
            .Select(s => ToStatus(s.Key, s.Value)).ToImmutableArray());

    async Task IGpuSiloRegistryGrain.ReportRunningWorkAsync(ImmutableDictionary<string, ImmutableArray<string>> runningBySilo)
    {
        var changed = false;
        foreach (var (id, silo) in Silos)
        {
            var running = runningBySilo.TryGetValue(id, out var keys) ? keys.ToList() : [];
            if (!running.SequenceEqual(silo.RunningWork))
            {
                silo.RunningWork = running;
                changed = true;
            }
        }

        if (changed)
        {
            await state.WriteStateAsync();
        }
    }

    private RegisteredGpuSilo Require(string siloId) =>
        Silos.TryGetValue(siloId, out var silo)
            ? silo
            : throw new ResourceNotFoundException($"GPU silo '{siloId}' is not registered.");

    private SiloStatus Status(string siloId)
    {
        try
        {
            return membership.CurrentSnapshot.GetSiloStatus(SiloAddress.FromParsableString(siloId));
        }
        catch (FormatException)
        {
            return SiloStatus.None;
        }
    }

    private GpuSiloStatus ToStatus(string siloId, RegisteredGpuSilo silo) =>
        new(silo.Descriptor, Status(siloId) == SiloStatus.Active, silo.Cordoned, silo.Draining,
            silo.RunningWork.ToImmutableArray(), silo.RegisteredAt);

    private void NotifyScheduler() =>
        GrainFactory.GetGrain<IJobSchedulerGrain>(PlatformKeys.Singleton).PumpAsync().Ignore();
}
