using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Threading.Channels;
using DeepPerception.Abstractions.Evaluation;
using DeepPerception.Abstractions.Work;
using DeepPerception.Storage.Resilience;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DeepPerception.Grains.Gpu;

/// <summary>
/// Runs GPU work attempts on this silo in the background (outside grain turns, which have a 30 s call limit),
/// forwards progress in order to the owning job or run grain and reports the outcome. A report rejected as stale
/// cancels the attempt. Work cancelled by the platform (user cancel, drain, silo shutdown) reports no outcome: whoever
/// cancelled it already moved the work on. An attempt that failed because the artifact store stayed unavailable
/// (<see cref="DeepPerception.Storage.ArtifactStoreUnavailableException"/> anywhere in its error) is reported as a storage
/// outage, not as a failure: the work waits for storage and resumes later from its last checkpoint.
/// </summary>
public sealed partial class GpuWorkExecutor(IServiceProvider services, IGrainFactory grains, ILogger<GpuWorkExecutor> logger)
    : IDisposable
{
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _runs = new(StringComparer.Ordinal);
    private volatile bool _disposed;

    /// <summary>The worker keys of the attempts running here.</summary>
    public IReadOnlyCollection<string> Running => _runs.Keys.ToList();

    /// <summary>Whether an attempt is running.</summary>
    public bool IsRunning(string workerKey) => _runs.ContainsKey(workerKey);

    /// <summary>Starts a fine-tuning attempt unless it already runs.</summary>
    public void StartFineTune(string workerKey, FineTuneWorkOrder order)
    {
        var job = grains.GetGrain<IFineTuneJobGrain>(order.Spec.JobKey);
        Start(workerKey, order.Attempt, job, async (runner, progress, token) =>
        {
            var outcome = await runner.RunFineTuneAsync(order.Spec, order.ResumeFromCheckpointKey, progress, token);
            return () => job.ReportOutcomeAsync(order.Attempt, outcome);
        }, error => () => job.ReportOutcomeAsync(order.Attempt,
            new JobOutcome(OutcomeKind.Failed, null, ImmutableDictionary<string, double>.Empty, 0, error)));
    }

    /// <summary>Starts an evaluation attempt unless it already runs.</summary>
    public void StartEvaluation(string workerKey, EvaluationWorkOrder order)
    {
        var run = grains.GetGrain<IEvaluationRunGrain>(order.Spec.RunKey);
        Start(workerKey, order.Attempt, run, async (runner, progress, token) =>
        {
            var outcome = await runner.RunEvaluationAsync(order.Spec, progress, token);
            return () => run.ReportOutcomeAsync(order.Attempt, outcome);
        }, error => () => run.ReportOutcomeAsync(order.Attempt,
            new EvaluationOutcome(OutcomeKind.Failed, ImmutableDictionary<string, double>.Empty, null, 0, error)));
    }

    /// <summary>Cancels an attempt.</summary>
    public void Cancel(string workerKey)
    {
        if (_runs.TryGetValue(workerKey, out var cts))
        {
            cts.Cancel();
        }
    }

    /// <summary>Cancels every attempt (silo shutdown).</summary>
    public void Dispose()
    {
        _disposed = true;
        foreach (var cts in _runs.Values)
        {
            cts.Cancel();
        }
    }

    private void Start(string workerKey, int attempt, IScheduledWorkGrain owner,
        Func<IGpuWorkRunner, IProgress<JobProgress>, CancellationToken, Task<Func<Task>>> run,
        Func<string, Func<Task>> failure)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var cts = new CancellationTokenSource();
        if (!_runs.TryAdd(workerKey, cts))
        {
            cts.Dispose();
            return;
        }

        // Do not let the caller's grain request context (placement hint, call chain) flow into the background work.
        using (ExecutionContext.SuppressFlow())
        {
            _ = Task.Run(() => RunAsync(workerKey, attempt, owner, cts, run, failure));
        }
    }

    private async Task RunAsync(string workerKey, int attempt, IScheduledWorkGrain owner, CancellationTokenSource cts,
        Func<IGpuWorkRunner, IProgress<JobProgress>, CancellationToken, Task<Func<Task>>> run,
        Func<string, Func<Task>> failure)
    {
        var reporter = new ProgressForwarder(p => owner.ReportProgressAsync(attempt, p), cts, logger, workerKey);
        Func<Task>? report;
        try
        {
            var runner = services.GetService<IGpuWorkRunner>()
                         ?? throw new InvalidOperationException(
                             "No IGpuWorkRunner is registered on this GPU silo; the engine is not configured.");
            report = await run(runner, reporter, cts.Token);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            report = null;
        }
        catch (Exception ex) when (StorageFailures.FindOutage(ex) is { } outage)
        {
            LogStorageOutage(ex, workerKey);
            report = () => owner.ReportStorageOutageAsync(attempt, outage.Message);
        }
        catch (Exception ex)
        {
            LogRunFailed(ex, workerKey);
            report = failure($"{ex.GetType().Name}: {ex.Message}");
        }

        await reporter.CompleteAsync();
        try
        {
            if (report is not null && !cts.IsCancellationRequested && !_disposed)
            {
                await report();
            }
        }
        catch (Exception ex)
        {
            LogReportFailed(ex, workerKey);
        }
        finally
        {
            _runs.TryRemove(workerKey, out _);
            cts.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "GPU work {WorkerKey} stopped: the artifact store is unavailable")]
    private partial void LogStorageOutage(Exception exception, string workerKey);

    [LoggerMessage(Level = LogLevel.Error, Message = "GPU work {WorkerKey} failed")]
    private partial void LogRunFailed(Exception exception, string workerKey);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not report the outcome of GPU work {WorkerKey}")]
    private partial void LogReportFailed(Exception exception, string workerKey);

    /// <summary>Forwards progress snapshots in order; a rejected report cancels the run.</summary>
    private sealed partial class ProgressForwarder : IProgress<JobProgress>
    {
        private readonly Channel<JobProgress> _channel = Channel.CreateUnbounded<JobProgress>(
            new UnboundedChannelOptions { SingleReader = true });
        private readonly Task _pump;
        private readonly ILogger _logger;
        private readonly string _workerKey;

        public ProgressForwarder(Func<JobProgress, Task<bool>> send, CancellationTokenSource cts, ILogger logger,
            string workerKey)
        {
            _logger = logger;
            _workerKey = workerKey;
            _pump = Task.Run(async () =>
            {
                await foreach (var progress in _channel.Reader.ReadAllAsync())
                {
                    try
                    {
                        if (!await send(progress))
                        {
                            cts.Cancel();
                        }
                    }
                    catch (Exception ex)
                    {
                        LogProgressFailed(ex, _workerKey);
                    }
                }
            });
        }

        public void Report(JobProgress value) => _channel.Writer.TryWrite(value);

        public Task CompleteAsync()
        {
            _channel.Writer.TryComplete();
            return _pump;
        }

        [LoggerMessage(Level = LogLevel.Warning, Message = "Could not forward progress of GPU work {WorkerKey}")]
        private partial void LogProgressFailed(Exception exception, string workerKey);
    }
}
