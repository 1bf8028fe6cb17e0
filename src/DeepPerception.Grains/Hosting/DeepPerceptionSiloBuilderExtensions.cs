using DeepPerception.Grains.Gpu;
using DeepPerception.Grains.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Placement;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Storage;

namespace Orleans.Hosting;

/// <summary>Wires the DeepPerception platform into a silo.</summary>
public static class DeepPerceptionSiloBuilderExtensions
{
    /// <summary>
    /// Adds the platform's grains' services to the silo: silo roles published as metadata (<c>role</c>), the GPU-only
    /// and control-plane placement filters, the GPU work executor, GPU silo registration (GPU role) and scheduler
    /// start-up (control role). The host still adds the grain storage named <see cref="PlatformStorage.Name"/> (for
    /// example <see cref="AddFileGrainStorage"/>), an <c>IArtifactStore</c>, and on GPU silos an
    /// <see cref="IGpuWorkRunner"/>.
    /// </summary>
    /// <exception cref="OptionsValidationException">The options are not valid.</exception>
    public static ISiloBuilder AddDeepPerceptionSilo(this ISiloBuilder builder, Action<DeepPerceptionSiloOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new DeepPerceptionSiloOptions();
        configure?.Invoke(options);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(nameof(DeepPerceptionSiloOptions), typeof(DeepPerceptionSiloOptions), errors);
        }

        builder.UseSiloMetadata(new Dictionary<string, string> { [SiloRoles.MetadataKey] = options.RoleValue });
        var services = builder.Services;
        services.AddSingleton(Options.Create(options));
        services.TryAddSingleton(TimeProvider.System);
        services.AddPlacementFilter<GpuOnlyFilterStrategy, GpuOnlyFilterDirector>(ServiceLifetime.Singleton);
        services.AddPlacementFilter<ControlPlaneFilterStrategy, ControlPlaneFilterDirector>(ServiceLifetime.Singleton);
        services.AddSingleton<GpuWorkExecutor>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, GpuWorkShutdown>();
        if (options.Gpu)
        {
            services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, GpuSiloRegistrar>();
        }

        if (options.Control)
        {
            services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, SchedulerWatchdog>();
        }

        return builder;
    }

    /// <summary>Adds a durable <see cref="FileGrainStorage"/> under the given provider name.</summary>
    public static ISiloBuilder AddFileGrainStorage(this ISiloBuilder builder, string name, Action<FileGrainStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var options = new FileGrainStorageOptions();
        configure(options);
        var storage = new FileGrainStorage(options);
        builder.Services.AddKeyedSingleton<IGrainStorage>(name, (_, _) => storage);
        return builder;
    }
}
