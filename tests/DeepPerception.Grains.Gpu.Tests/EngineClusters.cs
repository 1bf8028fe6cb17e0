using DeepPerception.Grains.Gpu;
using DeepPerception.Grains.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace DeepPerception.Grains.Gpu.Tests;

/// <summary>
/// In-process clusters with the real engine: silo 0 is the control silo, the others are GPU silos with the engine
/// worker on the CPU; grain state and artifacts live in shared folders under <c>root</c>.
/// </summary>
internal static class EngineClusters
{
    public static async Task<InProcessTestCluster> StartAsync(string root, short silos, Action<DeepPerceptionSiloOptions>? platform = null,
        Action<EngineGpuWorkerOptions>? engine = null)
    {
        var builder = new InProcessTestClusterBuilder(silos);
        builder.ConfigureSilo((options, silo) =>
        {
            var gpu = options.SiloName != "Silo_0";
            silo.AddDeepPerceptionSilo(o =>
            {
                o.Control = !gpu;
                o.Gpu = gpu;
                o.DeviceName = gpu ? "cpu" : "none";
                platform?.Invoke(o);
            });
            silo.AddFileGrainStorage(PlatformStorage.Name, o =>
            {
                o.RootDirectory = Path.Combine(root, "grains");
                o.FlushToDisk = false;
            });
            silo.Services.AddFileSystemArtifactStore(o =>
            {
                o.RootDirectory = Path.Combine(root, "artifacts");
                o.FlushToDisk = false;
            });
            if (gpu)
            {
                silo.AddEngineGpuWorker(o =>
                {
                    o.Device = "cpu";
                    o.WorkDirectory = Path.Combine(root, "work", options.SiloName);
                    engine?.Invoke(o);
                });
            }
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }
}
