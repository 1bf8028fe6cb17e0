using Azure.Data.Tables;
using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Compute;
using DeepPerception.Abstractions.Work;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace DeepPerception.Cluster.Tests.Infrastructure;

/// <summary>An Orleans client of the platform finding the gateways through Azure Table membership.</summary>
public sealed class PlatformClient : IAsyncDisposable
{
    private readonly IHost _host;

    private PlatformClient(IHost host)
    {
        _host = host;
        Client = host.Services.GetRequiredService<IClusterClient>();
    }

    /// <summary>The cluster client.</summary>
    public IClusterClient Client { get; }

    /// <summary>Connects to the cluster (retrying until a gateway is listed in the membership table).</summary>
    public static async Task<PlatformClient> ConnectAsync(string connectionString, string clusterId)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ServiceId = "deepperception";
                o.ClusterId = clusterId;
            });
            client.UseAzureStorageClustering(o => o.TableServiceClient = new TableServiceClient(connectionString));
            client.UseConnectionRetryFilter(async (_, cancellationToken) =>
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
                return true;
            });
        });
        var host = builder.Build();
        // A guard against hanging forever, not a timing assertion.
        await host.StartAsync().WaitAsync(TimeSpan.FromMinutes(2));
        return new PlatformClient(host);
    }

    /// <summary>Waits until <paramref name="count"/> GPU silos are registered and active.</summary>
    public async Task<GpuSiloStatus[]> WaitForGpuSilosAsync(int count, Func<string> diagnostics, int seconds = 180)
    {
        var registry = Client.GetGrain<IGpuSiloRegistryGrain>(PlatformKeys.Singleton);
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var silos = await registry.GetSilosAsync();
            var active = silos.Where(s => s.IsActive && s.AcceptsWork).ToArray();
            if (active.Length >= count)
            {
                return active;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException(
                    $"{count} GPU silos did not register within {seconds} s; registry: " +
                    $"[{string.Join(", ", silos.Select(s => $"{s.Descriptor.SiloId} active={s.IsActive}"))}]\n{diagnostics()}");
            }

            await Task.Delay(250);
        }
    }

    /// <summary>Polls a job until <paramref name="done"/> holds (a generous guard; the failure says where things stood).</summary>
    public async Task<FineTuneJobStatus> WaitForJobAsync(string jobKey, Func<FineTuneJobStatus, bool> done, Func<string> diagnostics,
        int seconds = 240)
    {
        var job = Client.GetGrain<IFineTuneJobGrain>(jobKey);
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        FineTuneJobStatus? status = null;
        while (true)
        {
            try
            {
                status = await job.GetStatusAsync();
                if (done(status))
                {
                    return status;
                }
            }
            catch (Exception) when (DateTime.UtcNow <= deadline)
            {
                // The grain may be moving after a silo loss (a call to the dead silo times out until membership
                // declares it dead and the grain is reactivated elsewhere); the next poll retries.
            }

            if (DateTime.UtcNow > deadline)
            {
                var snapshot = await Client.GetGrain<IJobSchedulerGrain>(PlatformKeys.Singleton).GetSnapshotAsync();
                throw new TimeoutException(
                    $"Job {jobKey} did not reach the expected state within {seconds} s; last status: {status?.State} attempt " +
                    $"{status?.Attempt} on {status?.SiloId} '{status?.StatusMessage}', checkpoint '{status?.LastCheckpointKey}'; " +
                    $"scheduler: {snapshot.Summary}\n{diagnostics()}");
            }

            await Task.Delay(100);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            await _host.StopAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is OperationCanceledException or OrleansException)
        {
        }

        _host.Dispose();
    }
}
