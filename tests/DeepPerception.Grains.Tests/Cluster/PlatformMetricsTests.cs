using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using DeepPerception.Abstractions.Telemetry;
using DeepPerception.Abstractions.Work;
using DeepPerception.Grains.Tests.Infrastructure;

namespace DeepPerception.Grains.Tests.Cluster;

/// <summary>
/// The "DeepPerception" meter's instruments record a real job run in an in-process cluster (observed with a
/// <see cref="MeterListener"/>, as an OpenTelemetry exporter would).
/// </summary>
public sealed class PlatformMetricsTests
{
    [Fact]
    public async Task A_job_run_with_a_storage_outage_records_jobs_scheduler_and_storage_metrics()
    {
        using var recorder = new MetricRecorder();
        await using var p = await PlatformCluster.StartAsync(2);
        var setup = await p.CreateTenantAsync("metrics");
        var pause = TestRunnerControl.PauseAt("metrics/job", 6);
        await p.Client.GetGrain<IFineTuneJobGrain>("metrics/job").SubmitAsync(PlatformCluster.Request(setup));
        var pausedOn = await PlatformCluster.Within(pause.Reached);
        await p.WaitForJobAsync("metrics/job", s => s.LastCheckpointKey is not null);

        // While the job runs, the scheduler's gauges show it on its GPU silo.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!recorder.Observe().Any(m => m.Name == "deepperception.scheduler.running_work" && m.Value == 1
                                             && m.Tag("silo") == pausedOn))
        {
            Assert.True(DateTime.UtcNow < deadline, "The running-work gauge never showed the job on its silo.");
            await Task.Delay(50);
        }

        Assert.Contains(recorder.Observe(), m => m.Name == "deepperception.scheduler.queue_length");

        // A storage outage: the checkpoint upload is retried, then the job waits for storage.
        Directory.Move(p.ArtifactFolder, p.ArtifactFolder + ".away");
        pause.Release();
        await p.WaitForJobAsync("metrics/job", s => s.State == WorkState.WaitingForStorage);
        Directory.Move(p.ArtifactFolder + ".away", p.ArtifactFolder);
        var done = await p.WaitForJobAsync("metrics/job", s => s.State is WorkState.Succeeded or WorkState.Failed);
        Assert.Equal(WorkState.Succeeded, done.State);

        var measurements = recorder.All();
        var submitted = Assert.Single(measurements, m => m.Name == "deepperception.jobs.submitted" && m.Tag("tenant") == "metrics");
        Assert.Equal(1, submitted.Value);
        Assert.Equal("finetune", submitted.Tag("kind"));
        var finished = Assert.Single(measurements, m => m.Name == "deepperception.jobs.finished" && m.Tag("tenant") == "metrics");
        Assert.Equal("succeeded", finished.Tag("state"));
        Assert.Equal("finetune", finished.Tag("kind"));
        Assert.Contains(measurements, m => m.Name == "deepperception.jobs.storage_waits" && m.Tag("tenant") == "metrics");
        Assert.Contains(measurements, m => m.Name == "deepperception.storage.retries" && m.Tag("operation") == "PutAsync");
        Assert.Contains(measurements, m => m.Name == "deepperception.storage.outages" && m.Tag("operation") == "PutAsync");
    }

    /// <summary>Collects every measurement of the platform's meter.</summary>
    private sealed class MetricRecorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<Recorded> _recorded = new();
        private readonly ConcurrentQueue<Recorded> _observed = new();
        private volatile bool _observing;

        public MetricRecorder()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == PlatformMetrics.MeterName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
            _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Add(i, v, tags));
            _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
            _listener.Start();
        }

        public IReadOnlyList<Recorded> All() => _recorded.ToList();

        /// <summary>Reads the observable instruments once and returns what they reported.</summary>
        public IReadOnlyList<Recorded> Observe()
        {
            lock (_listener)
            {
                _observed.Clear();
                _observing = true;
                _listener.RecordObservableInstruments();
                _observing = false;
                return _observed.ToList();
            }
        }

        public void Dispose() => _listener.Dispose();

        private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var recorded = new Recorded(instrument.Name, value, tags.ToArray());
            (_observing && instrument.IsObservable ? _observed : _recorded).Enqueue(recorded);
        }
    }

    private sealed record Recorded(string Name, double Value, KeyValuePair<string, object?>[] Tags)
    {
        public string? Tag(string key) => Tags.FirstOrDefault(t => t.Key == key).Value?.ToString();
    }
}
