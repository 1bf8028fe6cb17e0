using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Compute;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DeepPerception.Host;

/// <summary>Ready when the silo answers grain calls and a GPU silo is registered.</summary>
internal sealed class ClusterReadyHealthCheck(IGrainFactory grains) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var silos = await grains.GetGrain<IGpuSiloRegistryGrain>(PlatformKeys.Singleton).GetSilosAsync().WaitAsync(cancellationToken);
            return silos.Any(s => s.IsActive)
                ? HealthCheckResult.Healthy($"{silos.Length} GPU silo(s) registered.")
                : HealthCheckResult.Unhealthy("No active GPU silo is registered yet.");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("The silo does not answer grain calls yet.", ex);
        }
    }
}

/// <summary>Ready when the demo content exists (or seeding is switched off).</summary>
internal sealed class DemoSeedHealthCheck(DemoSeedState state, DeepPerceptionHostOptions options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(!options.SeedDemo ? HealthCheckResult.Healthy("Demo seeding is off.")
            : state.Error is { } error ? HealthCheckResult.Unhealthy("Demo seeding failed: " + error.Message, error)
            : state.IsReady ? HealthCheckResult.Healthy("Demo tenant ready.")
            : HealthCheckResult.Unhealthy("Demo content is being created."));
}
