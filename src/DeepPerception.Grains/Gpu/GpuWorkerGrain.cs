using DeepPerception.Abstractions.Compute;
using DeepPerception.Abstractions.Work;
using DeepPerception.Grains.Hosting;
using Orleans.Placement;

namespace DeepPerception.Grains.Gpu;

/// <summary>
/// One attempt of GPU work. Placement is restricted to GPU silos by <see cref="GpuOnlyAttribute"/>; the dispatching
/// grain names the chosen silo with a placement hint. The work itself runs in <see cref="GpuWorkExecutor"/>; this
/// grain only starts and cancels it, and stays active while it runs.
/// </summary>
[GpuOnly]
[RandomPlacement]
internal sealed class GpuWorkerGrain(GpuWorkExecutor executor, ILocalSiloDetails silo) : Grain, IGpuWorkerGrain
{
    private IGrainTimer? _keepAlive;

    private string Key => this.GetPrimaryKeyString();

    private WorkerPlacement Placement => new(silo.SiloAddress.ToParsableString(), silo.Name);

    Task<WorkerPlacement> IGpuWorkerGrain.StartFineTuneAsync(FineTuneWorkOrder order)
    {
        executor.StartFineTune(Key, order);
        KeepAliveWhileRunning();
        return Task.FromResult(Placement);
    }

    Task<WorkerPlacement> IGpuWorkerGrain.StartEvaluationAsync(EvaluationWorkOrder order)
    {
        executor.StartEvaluation(Key, order);
        KeepAliveWhileRunning();
        return Task.FromResult(Placement);
    }

    Task IGpuWorkerGrain.CancelAsync(string reason)
    {
        executor.Cancel(Key);
        return Task.CompletedTask;
    }

    Task<WorkerPlacement> IGpuWorkerGrain.GetPlacementAsync() => Task.FromResult(Placement);

    Task<bool> IGpuWorkerGrain.IsRunningAsync() => Task.FromResult(executor.IsRunning(Key));

    private void KeepAliveWhileRunning()
    {
        _keepAlive ??= this.RegisterGrainTimer(() =>
        {
            if (!executor.IsRunning(Key))
            {
                _keepAlive?.Dispose();
                _keepAlive = null;
            }

            return Task.CompletedTask;
        }, new GrainTimerCreationOptions(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30)) { KeepAlive = true });
    }
}
