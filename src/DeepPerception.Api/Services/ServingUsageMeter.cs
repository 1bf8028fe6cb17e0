using System.Collections.Concurrent;
using DeepPerception.Abstractions.Tenancy;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DeepPerception.Api.Services;

/// <summary>
/// Meters the GPU seconds of served ground requests off the response path: answers add their share to a per-tenant
/// sum, and a background loop charges each tenant's sum every <see cref="FlushInterval"/> as one charge (idempotent id
/// "serving-{instance}-{sequence}"). A request therefore never waits for the tenant's state to be written, and the
/// tenant keeps one charge record per flush instead of one per request. The budget is still checked before every
/// request (so at most one flush interval of usage can overrun it); a flush the budget refuses is logged.
/// </summary>
public sealed partial class ServingUsageMeter(IGrainFactory grains, ILogger<ServingUsageMeter> logger) : BackgroundService
{
    /// <summary>How often usage is charged.</summary>
    public static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(500);

    private readonly ConcurrentDictionary<string, double> _pending = new(StringComparer.Ordinal);
    private readonly string _instance = Guid.NewGuid().ToString("N")[..12];
    private readonly SemaphoreSlim _flushGate = new(1, 1);
    private long _sequence;

    /// <summary>Adds served GPU seconds of a tenant (charged at the next flush).</summary>
    public void Add(string tenantId, double gpuSeconds)
    {
        if (gpuSeconds > 0 && double.IsFinite(gpuSeconds))
        {
            _pending.AddOrUpdate(tenantId, gpuSeconds, (_, sum) => sum + gpuSeconds);
        }
    }

    /// <summary>Charges everything metered so far (also called by the loop).</summary>
    public async Task FlushAsync()
    {
        await _flushGate.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (var tenantId in _pending.Keys.ToList())
            {
                if (!_pending.TryRemove(tenantId, out var seconds) || seconds <= 0)
                {
                    continue;
                }

                var chargeId = $"serving-{_instance}-{Interlocked.Increment(ref _sequence)}";
                try
                {
                    var decision = await grains.GetGrain<ITenantGrain>(tenantId).ChargeGpuSecondsAsync(chargeId, seconds).ConfigureAwait(false);
                    if (!decision.Accepted)
                    {
                        LogOverBudget(tenantId, seconds, decision.Reason);
                    }
                }
                catch (Exception ex)
                {
                    // Keep the usage for the next flush.
                    _pending.AddOrUpdate(tenantId, seconds, (_, sum) => sum + seconds);
                    LogFlushFailed(ex, tenantId);
                }
            }
        }
        finally
        {
            _flushGate.Release();
        }
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(FlushInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await FlushAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }

        await FlushAsync().ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Served usage of tenant {TenantId} ({GpuSeconds:F3} GPU seconds) exceeds its budget: {Reason}")]
    private partial void LogOverBudget(string tenantId, double gpuSeconds, string? reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Charging served usage of tenant {TenantId} failed; retrying at the next flush")]
    private partial void LogFlushFailed(Exception exception, string tenantId);
}
