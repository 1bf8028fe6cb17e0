using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using DeepPerception.Abstractions.Telemetry;
using DeepPerception.ML.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using TorchSharp;

namespace DeepPerception.Grains.Gpu.Tests;

/// <summary>The GPU silo's device worker reports its busy time and work items on the platform meter.</summary>
public sealed class DeviceMetricsTests
{
    [Fact]
    public async Task The_registered_device_worker_reports_busy_seconds_and_work_items()
    {
        torch.set_num_threads(1);
        var services = new ServiceCollection();
        services.AddEngineGpuWorker(o =>
        {
            o.Device = "cpu";
            o.Threads = 1;
            o.WorkDirectory = Path.Combine(Path.GetTempPath(), "dp-device-metrics-" + Guid.NewGuid().ToString("N"));
        });
        await using var provider = services.BuildServiceProvider();
        var worker = provider.GetRequiredService<DeviceWorker>();

        var observed = new ConcurrentQueue<(string Name, double Value, string? Silo)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == PlatformMetrics.MeterName && instrument.Name.StartsWith("deepperception.device.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => observed.Enqueue((i.Name, v, Silo(tags))));
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => observed.Enqueue((i.Name, v, Silo(tags))));
        listener.Start();

        var before = worker.CompletedItems;
        var sum = await worker.RunAsync(() =>
        {
            using var a = torch.ones(64, 64);
            return a.matmul(a).sum().item<float>();
        });
        await worker.RunAsync(() => { });

        Assert.Equal(64f * 64 * 64, sum);
        Assert.Equal(before + 2, worker.CompletedItems);
        Assert.True(worker.BusyTime > TimeSpan.Zero);
        listener.RecordObservableInstruments();
        var mine = observed.Where(o => o.Silo == Environment.MachineName).ToList();
        Assert.Contains(mine, o => o.Name == "deepperception.device.work_items" && o.Value == worker.CompletedItems);
        Assert.Contains(mine, o => o.Name == "deepperception.device.busy_seconds" && o.Value > 0);
    }

    private static string? Silo(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == "silo")
            {
                return tag.Value?.ToString();
            }
        }

        return null;
    }
}
