using DeepPerception.Abstractions.Work;

namespace DeepPerception.Grains.Gpu;

/// <summary>
/// The port through which GPU silos run engine work (training, evaluation). The production implementation wraps the
/// ML engine and runs it on the silo's dedicated device thread; it is registered only on GPU silos.
/// </summary>
/// <remarks>
/// Contract:
/// <list type="bullet">
/// <item>Progress: report snapshots through <c>progress</c>. After a checkpoint has been <b>completely</b> written to
/// the artifact store (under <see cref="FineTuneSpec.CheckpointPrefix"/>), report a snapshot whose
/// <see cref="JobProgress.CheckpointKey"/> names it; the platform resumes only from checkpoints reported this way.</item>
/// <item>Resume: when <c>resumeFromCheckpointKey</c> is set, restore everything needed (weights, optimizer, schedule,
/// RNG state, step) so that the final result equals that of an uninterrupted run with the same spec.</item>
/// <item>Cancellation: stop promptly when the token fires (throwing <see cref="OperationCanceledException"/> is fine).
/// The token fires on user cancellation, on drain and when the silo shuts down.</item>
/// <item>Outcome: return the final weights' key (<see cref="FineTuneSpec.OutputKey"/>) and metrics; throw or return
/// <see cref="OutcomeKind.Failed"/> on errors.</item>
/// </list>
/// </remarks>
public interface IGpuWorkRunner
{
    /// <summary>Runs (or resumes) a fine-tuning attempt.</summary>
    Task<JobOutcome> RunFineTuneAsync(FineTuneSpec spec, string? resumeFromCheckpointKey, IProgress<JobProgress> progress,
        CancellationToken cancellationToken);

    /// <summary>Runs an evaluation with a pinned harness.</summary>
    Task<EvaluationOutcome> RunEvaluationAsync(EvaluationSpec spec, IProgress<JobProgress> progress,
        CancellationToken cancellationToken);
}
