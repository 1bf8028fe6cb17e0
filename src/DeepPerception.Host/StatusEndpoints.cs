using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Compute;
using DeepPerception.Host;

namespace Microsoft.AspNetCore.Builder;

/// <summary>The read-only platform status endpoint.</summary>
public static class StatusEndpoints
{
    /// <summary>
    /// <c>GET /v1/status</c>: the GPU silos from the registry grain, the scheduler's queue and running work, and whether
    /// the demo content is ready.
    /// </summary>
    public static WebApplication MapPlatformStatus(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/v1/status", async (IGrainFactory grains, DemoSeedState demo, DeepPerceptionHostOptions options) =>
        {
            var silos = await grains.GetGrain<IGpuSiloRegistryGrain>(PlatformKeys.Singleton).GetSilosAsync();
            var queue = await grains.GetGrain<IJobSchedulerGrain>(PlatformKeys.Singleton).GetSnapshotAsync();
            return Results.Json(new
            {
                silos = silos.Select(s => new
                {
                    id = s.Descriptor.SiloId,
                    name = s.Descriptor.SiloName,
                    device = s.Descriptor.DeviceName,
                    deviceMemoryBytes = s.Descriptor.DeviceMemoryBytes,
                    maxConcurrentWork = s.Descriptor.MaxConcurrentWork,
                    active = s.IsActive,
                    cordoned = s.IsCordoned,
                    draining = s.IsDraining,
                    acceptsWork = s.AcceptsWork,
                    runningWork = s.RunningWork,
                    registeredAt = s.RegisteredAt,
                }),
                queue = new
                {
                    queued = queue.Queued,
                    running = queue.Running,
                    acceptingGpuSilos = queue.AcceptingGpuSilos,
                    summary = queue.Summary,
                },
                demo = new
                {
                    enabled = options.SeedDemo,
                    ready = demo.IsReady,
                    error = demo.Error?.Message,
                    tenant = DemoSeeder.TenantId,
                    dataset = $"{DemoSeeder.TenantId}/{DemoSeeder.DatasetId}",
                    model = $"{DemoSeeder.TenantId}/{DemoSeeder.ModelId}",
                },
                dataDirectory = options.DataRoot,
            });
        });
        return app;
    }
}
