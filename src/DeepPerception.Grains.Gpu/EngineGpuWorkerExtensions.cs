using DeepPerception.Abstractions.Telemetry;
using DeepPerception.Grains.Gpu;
using DeepPerception.Grains.Serving;
using DeepPerception.ML.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using static TorchSharp.torch;

namespace Orleans.Hosting;

/// <summary>Registers the ML engine as the GPU silo's work runner.</summary>
public static class EngineGpuWorkerExtensions
{
    /// <summary>
    /// Adds one <see cref="DeviceWorker"/> per silo (a singleton: all tensor work of the silo runs on its thread) and
    /// <see cref="EngineGpuWorkRunner"/> as the <see cref="IGpuWorkRunner"/> and
    /// <see cref="EngineGroundingRunner"/> (dynamic batching of ground requests) as the <see cref="IGroundingRunner"/>. The silo also needs an
    /// <c>IArtifactStore</c> and the GPU role (<c>AddDeepPerceptionSilo(o =&gt; o.Gpu = true)</c>).
    /// </summary>
    /// <exception cref="OptionsValidationException">The options are not valid.</exception>
    public static ISiloBuilder AddEngineGpuWorker(this ISiloBuilder builder, Action<EngineGpuWorkerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddEngineGpuWorker(configure);
        return builder;
    }

    /// <inheritdoc cref="AddEngineGpuWorker(ISiloBuilder, Action{EngineGpuWorkerOptions}?)"/>
    public static IServiceCollection AddEngineGpuWorker(this IServiceCollection services, Action<EngineGpuWorkerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = new EngineGpuWorkerOptions();
        configure?.Invoke(options);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(nameof(EngineGpuWorkerOptions), typeof(EngineGpuWorkerOptions), errors);
        }

        services.AddSingleton(Options.Create(options));
        services.TryAddSingleton(sp =>
        {
            var worker = new DeviceWorker(ResolveDevice(options.Device), options.Threads, "gpu-silo-device");
            var silo = sp.GetService<Orleans.Runtime.ILocalSiloDetails>()?.Name ?? Environment.MachineName;
            // Reported while the host runs (deepperception.device.busy_seconds / work_items, tags device and silo).
            var observation = PlatformMetrics.ObserveDevice(worker.Device.type.ToString().ToLowerInvariant(), silo,
                () => new DeviceUsage(worker.BusyTime.TotalSeconds, worker.CompletedItems));
            sp.GetService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>()?.ApplicationStopped.Register(observation.Dispose);
            return worker;
        });
        services.AddSingleton<IGpuWorkRunner, EngineGpuWorkRunner>();
        services.AddSingleton<EngineGroundingRunner>();
        services.AddSingleton<IGroundingRunner>(sp => sp.GetRequiredService<EngineGroundingRunner>());
        return services;
    }

    private static Device ResolveDevice(string name) => name switch
    {
        "cpu" => CPU,
        "cuda" => CUDA,
        _ => cuda.is_available() ? CUDA : CPU,
    };
}
