using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using DeepPerception.Abstractions.Work;
using DeepPerception.Grains.Gpu;
using DeepPerception.Storage;

namespace DeepPerception.Grains.Tests.Infrastructure;

/// <summary>
/// Test double of <see cref="IGpuWorkRunner"/> for fault injection (not an engine): a "training" run is a
/// deterministic recurrence over steps whose state is checkpointed through the real <see cref="IArtifactStore"/> every
/// <c>CheckpointEverySteps</c>; resuming restores the state from the checkpoint, so an interrupted-and-resumed run ends
/// with exactly the value of an uninterrupted one. Tests can pause a job at a step (<see cref="TestRunnerControl"/>)
/// to kill or drain its silo at a known point.
/// </summary>
public sealed class DeterministicTestRunner(IArtifactStore store, ILocalSiloDetails silo) : IGpuWorkRunner
{
    /// <summary>The recurrence: value(step) = (value(step-1) * 31 + step) mod 1 000 003.</summary>
    public static long Next(long value, int step) => ((value * 31) + step) % 1_000_003;

    /// <inheritdoc />
    public async Task<JobOutcome> RunFineTuneAsync(FineTuneSpec spec, string? resumeFromCheckpointKey,
        IProgress<JobProgress> progress, CancellationToken cancellationToken)
    {
        var step = 0;
        long value = spec.Recipe.Seed;
        if (resumeFromCheckpointKey is not null)
        {
            var checkpoint = JsonSerializer.Deserialize<Checkpoint>(await store.GetTextAsync(resumeFromCheckpointKey, cancellationToken))!;
            step = checkpoint.Step;
            value = checkpoint.Value;
        }

        var firstStep = step + 1;
        while (step < spec.Recipe.MaxSteps)
        {
            cancellationToken.ThrowIfCancellationRequested();
            step++;
            value = Next(value, step);
            TestRunnerControl.RecordStep(spec.JobKey, silo.Name, step);
            await TestRunnerControl.MaybePauseAsync(spec.JobKey, step, silo.Name, cancellationToken);
            string? checkpointKey = null;
            if (step % spec.Recipe.CheckpointEverySteps == 0)
            {
                checkpointKey = $"{spec.CheckpointPrefix}/step-{step:D6}.json";
                await store.PutTextAsync(checkpointKey, JsonSerializer.Serialize(new Checkpoint(step, value)),
                    cancellationToken: cancellationToken);
            }

            progress.Report(new JobProgress(step, spec.Recipe.MaxSteps,
                ImmutableDictionary<string, double>.Empty.Add("loss", value / 1_000_003.0), checkpointKey, null));
            await Task.Yield();
        }

        await store.PutTextAsync(spec.OutputKey, value.ToString(CultureInfo.InvariantCulture), cancellationToken: cancellationToken);
        var metrics = ImmutableDictionary<string, double>.Empty
            .Add("final_value", value)
            .Add("first_step_this_attempt", firstStep);
        return new JobOutcome(OutcomeKind.Succeeded, spec.OutputKey, metrics, GpuSeconds: step - firstStep + 1, Error: null);
    }

    /// <inheritdoc />
    public async Task<EvaluationOutcome> RunEvaluationAsync(EvaluationSpec spec, IProgress<JobProgress> progress,
        CancellationToken cancellationToken)
    {
        var weights = long.Parse(await store.GetTextAsync(spec.ModelCheckpointKey, cancellationToken), CultureInfo.InvariantCulture);
        progress.Report(new JobProgress(1, 1, ImmutableDictionary<string, double>.Empty, null, "scored"));
        var score = (weights % 1000) / 1000.0;
        var reportKey = $"{spec.OutputPrefix}/report.json";
        await store.PutTextAsync(reportKey, JsonSerializer.Serialize(new { score }), cancellationToken: cancellationToken);
        return new EvaluationOutcome(OutcomeKind.Succeeded,
            ImmutableDictionary<string, double>.Empty.Add(spec.Harness.PrimaryMetric, score), reportKey, 1, null);
    }

    private sealed record Checkpoint(int Step, long Value);
}

/// <summary>Process-wide hooks into <see cref="DeterministicTestRunner"/>, keyed by job key (unique per test).</summary>
public static class TestRunnerControl
{
    private static readonly ConcurrentDictionary<string, PauseHandle> Pauses = new();
    private static readonly ConcurrentDictionary<string, ConcurrentQueue<(string Silo, int Step)>> Steps = new();

    /// <summary>Pauses the first run of <paramref name="jobKey"/> that reaches <paramref name="step"/> (once).</summary>
    public static PauseHandle PauseAt(string jobKey, int step) => Pauses[jobKey] = new PauseHandle(step);

    /// <summary>The steps executed for a job, with the silo that ran them.</summary>
    public static IReadOnlyList<(string Silo, int Step)> StepsOf(string jobKey) =>
        Steps.TryGetValue(jobKey, out var steps) ? steps.ToList() : [];

    internal static void RecordStep(string jobKey, string silo, int step) =>
        Steps.GetOrAdd(jobKey, _ => new ConcurrentQueue<(string, int)>()).Enqueue((silo, step));

    internal static async Task MaybePauseAsync(string jobKey, int step, string silo, CancellationToken cancellationToken)
    {
        if (Pauses.TryGetValue(jobKey, out var pause) && pause.Step == step && pause.TryTrigger(silo))
        {
            await pause.Released.WaitAsync(cancellationToken);
        }
    }

    /// <summary>A one-shot pause point.</summary>
    public sealed class PauseHandle(int step)
    {
        private readonly TaskCompletionSource<string> _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _triggered;

        /// <summary>The step to pause at.</summary>
        public int Step => step;

        /// <summary>Completes with the silo name when a run is paused.</summary>
        public Task<string> Reached => _reached.Task;

        internal Task Released => _released.Task;

        /// <summary>Lets the paused run continue.</summary>
        public void Release() => _released.TrySetResult();

        internal bool TryTrigger(string silo)
        {
            if (Interlocked.Exchange(ref _triggered, 1) != 0)
            {
                return false;
            }

            _reached.TrySetResult(silo);
            return true;
        }
    }
}
