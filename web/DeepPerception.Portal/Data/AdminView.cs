using System.Collections.Immutable;
using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Compute;

namespace DeepPerception.Portal.Data;

/// <summary>The GPU silos and the scheduler's queue, and the drain and cordon actions, for platform admins.</summary>
public sealed class AdminView(IGrainFactory grains)
{
    private IGpuSiloRegistryGrain Registry => grains.GetGrain<IGpuSiloRegistryGrain>(PlatformKeys.Singleton);

    /// <summary>The registered GPU silos.</summary>
    public Task<ImmutableArray<GpuSiloStatus>> GetSilosAsync() => Registry.GetSilosAsync();

    /// <summary>The queue and running work.</summary>
    public Task<SchedulerSnapshot> GetQueueAsync() => grains.GetGrain<IJobSchedulerGrain>(PlatformKeys.Singleton).GetSnapshotAsync();

    /// <summary>Drains a silo (its work moves elsewhere, resuming from checkpoints).</summary>
    public Task<GpuSiloStatus> DrainAsync(string siloId) => Registry.DrainAsync(siloId);

    /// <summary>Ends a drain.</summary>
    public Task<GpuSiloStatus> UndrainAsync(string siloId) => Registry.UndrainAsync(siloId);

    /// <summary>Cordons or uncordons a silo.</summary>
    public Task<GpuSiloStatus> SetCordonedAsync(string siloId, bool cordoned) => Registry.SetCordonedAsync(siloId, cordoned);
}
