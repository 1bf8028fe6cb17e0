using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Compute;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DeepPerception.Grains.Hosting;

/// <summary>On GPU silos: registers the silo in the GPU silo registry once it is active, unregisters on graceful stop.</summary>
internal sealed partial class GpuSiloRegistrar(
    IGrainFactory grains,
    ILocalSiloDetails silo,
    IOptions<DeepPerceptionSiloOptions> options,
    ILogger<GpuSiloRegistrar> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _registration = Task.CompletedTask;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(GpuSiloRegistrar), ServiceLifecycleStage.Active, OnStartAsync, OnStopAsync);

    private Task OnStartAsync(CancellationToken cancellationToken)
    {
        using (ExecutionContext.SuppressFlow())
        {
            _registration = Task.Run(RegisterWithRetriesAsync);
        }

        return Task.CompletedTask;
    }

    private async Task RegisterWithRetriesAsync()
    {
        var o = options.Value;
        var descriptor = new GpuSiloDescriptor(silo.SiloAddress.ToParsableString(), silo.Name, o.DeviceName,
            o.DeviceMemoryBytes, o.MaxConcurrentWork);
        var delay = TimeSpan.FromMilliseconds(200);
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await grains.GetGrain<IGpuSiloRegistryGrain>(PlatformKeys.Singleton).RegisterAsync(descriptor);
                return;
            }
            catch (Exception ex) when (!_stopping.IsCancellationRequested)
            {
                LogRegistrationFailed(ex, silo.Name);
                try
                {
                    await Task.Delay(delay, _stopping.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }
    }

    private async Task OnStopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _registration;
        if (cancellationToken.IsCancellationRequested)
        {
            return;
        }

        try
        {
            await grains.GetGrain<IGpuSiloRegistryGrain>(PlatformKeys.Singleton)
                .UnregisterAsync(silo.SiloAddress.ToParsableString()).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
        }
        catch (Exception ex)
        {
            LogUnregistrationFailed(ex, silo.Name);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "GPU silo {SiloName} could not register yet; retrying")]
    private partial void LogRegistrationFailed(Exception exception, string siloName);

    [LoggerMessage(Level = LogLevel.Warning, Message = "GPU silo {SiloName} could not unregister")]
    private partial void LogUnregistrationFailed(Exception exception, string siloName);
}

/// <summary>On control silos: wakes the scheduler at startup so queued work survives a full cluster restart.</summary>
internal sealed class SchedulerStarter(IGrainFactory grains) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(SchedulerStarter), ServiceLifecycleStage.Active, _ =>
        {
            grains.GetGrain<IJobSchedulerGrain>(PlatformKeys.Singleton).PumpAsync().Ignore();
            return Task.CompletedTask;
        });
}

/// <summary>Cancels the silo's GPU work when the silo stops.</summary>
internal sealed class GpuWorkShutdown(Gpu.GpuWorkExecutor executor) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(GpuWorkShutdown), ServiceLifecycleStage.Active, _ => Task.CompletedTask, _ =>
        {
            executor.Dispose();
            return Task.CompletedTask;
        });
}
