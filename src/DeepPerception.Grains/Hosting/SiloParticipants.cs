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

/// <summary>
/// On control silos: keeps the scheduler alive. It wakes the scheduler at start-up (so queued work survives a full
/// cluster restart), on every cluster membership change (a GPU silo joined or died) and periodically. The scheduler is a
/// singleton grain whose passes run on its own timer; if the silo hosting it dies, nothing else would reactivate it, and
/// work running on a lost GPU silo would wait for a caller. Pumping is one-way and idempotent.
/// </summary>
internal sealed partial class SchedulerWatchdog(
    IGrainFactory grains,
    IClusterMembershipService membership,
    IOptions<DeepPerceptionSiloOptions> options,
    ILogger<SchedulerWatchdog> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _membershipLoop = Task.CompletedTask;
    private Task _periodicLoop = Task.CompletedTask;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(SchedulerWatchdog), ServiceLifecycleStage.Active, OnStartAsync, OnStopAsync);

    private Task OnStartAsync(CancellationToken cancellationToken)
    {
        Pump();
        using (ExecutionContext.SuppressFlow())
        {
            _membershipLoop = Task.Run(WatchMembershipAsync);
            _periodicLoop = Task.Run(PumpPeriodicallyAsync);
        }

        return Task.CompletedTask;
    }

    private async Task OnStopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await Task.WhenAll(_membershipLoop, _periodicLoop).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task WatchMembershipAsync()
    {
        try
        {
            await foreach (var _ in membership.MembershipUpdates.WithCancellation(_stopping.Token))
            {
                Pump();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task PumpPeriodicallyAsync()
    {
        var period = options.Value.SchedulerWatchdogInterval;
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token))
            {
                Pump();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Pump()
    {
        try
        {
            grains.GetGrain<IJobSchedulerGrain>(PlatformKeys.Singleton).PumpAsync().Ignore();
        }
        catch (Exception ex)
        {
            LogPumpFailed(ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Waking the scheduler failed; the next tick retries")]
    private partial void LogPumpFailed(Exception exception);
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
