using DeepPerception.Abstractions.Tenancy;
using DeepPerception.Api.Services;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DeepPerception.Api.Identity;

/// <summary>
/// At first start (no platform tenant yet) creates the reserved platform tenant and issues a bootstrap platform-admin
/// key; the key is logged once and written to <see cref="DeepPerceptionApiOptions.BootstrapKeyFile"/> with mode 600.
/// Later starts find the tenant and do nothing. Grain calls are retried until the cluster answers.
/// </summary>
public sealed class BootstrapAdminService(
    IGrainFactory grains,
    DeepPerceptionApiOptions options,
    TenantDirectory directory,
    BootstrapState state,
    ILogger<BootstrapAdminService> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        for (var attempt = 1; !stoppingToken.IsCancellationRequested; attempt++)
        {
            try
            {
                await BootstrapAsync().ConfigureAwait(false);
                state.MarkReady();
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException && attempt < 60)
            {
                logger.LogWarning(ex, "Platform bootstrap attempt {Attempt} failed; retrying", attempt);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                state.MarkFailed(ex);
                logger.LogError(ex, "Platform bootstrap failed");
                return;
            }
        }
    }

    private async Task BootstrapAsync()
    {
        var tenant = grains.GetGrain<ITenantGrain>(options.PlatformTenantId);
        if (await tenant.ExistsAsync().ConfigureAwait(false))
        {
            await directory.AddAsync(options.PlatformTenantId).ConfigureAwait(false);
            return;
        }

        await tenant.CreateAsync(new CreateTenantRequest("Platform", "platform-admin", GpuSecondsBudget: 0, RequestsPerMinute: 6000))
            .ConfigureAwait(false);
        await directory.AddAsync(options.PlatformTenantId).ConfigureAwait(false);
        var key = await tenant.CreateApiKeyAsync("bootstrap", TenantRole.TenantAdmin).ConfigureAwait(false);
        if (options.BootstrapKeyFile is { Length: > 0 } path)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            var fileOptions = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }
            await using (var stream = new FileStream(path, fileOptions))
            await using (var writer = new StreamWriter(stream))
            {
                await writer.WriteLineAsync(key.Secret).ConfigureAwait(false);
            }

            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }

        logger.LogWarning(
            "Created the platform tenant '{Tenant}' with a bootstrap platform-admin key (shown once, also written to {File}): {Key}",
            options.PlatformTenantId, options.BootstrapKeyFile ?? "(no file configured)", key.Secret);
    }
}

/// <summary>Whether a start-up task (bootstrap, demo seeding) finished, for readiness checks and status pages.</summary>
public abstract class StartupTaskState
{
    private volatile bool _ready;
    private volatile Exception? _error;

    /// <summary>Whether the task finished.</summary>
    public bool IsReady => _ready;

    /// <summary>Why the task failed, if it did.</summary>
    public Exception? Error => _error;

    /// <summary>Records that the task finished.</summary>
    public void MarkReady() => _ready = true;

    /// <summary>Records why the task failed.</summary>
    public void MarkFailed(Exception error) => _error = error;
}

/// <summary>Whether the platform tenant exists (for readiness checks).</summary>
public sealed class BootstrapState : StartupTaskState;
