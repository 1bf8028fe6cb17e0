using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Compute;
using DeepPerception.Abstractions.Tenancy;
using DeepPerception.Abstractions.Work;
using Orleans.Runtime.Placement;

namespace DeepPerception.Grains.Work;

/// <summary>
/// What fine-tuning jobs and evaluation runs do alike with an attempt on a GPU silo: answering a dispatch that needs no
/// new attempt, starting the attempt's worker grain on the chosen silo, stopping it, and refunding unused GPU seconds.
/// The worker of attempt <c>n</c> of work <c>key</c> is the grain <c>"{key}/attempt-{n}"</c>.
/// </summary>
internal static class WorkerAttempts
{
    /// <summary>The attempt's worker grain.</summary>
    public static IGpuWorkerGrain Worker(IGrainFactory grains, string key, int attempt) =>
        grains.GetGrain<IGpuWorkerGrain>($"{key}/attempt-{attempt}");

    /// <summary>
    /// The answer to a dispatch when no attempt should start: drop the item when the work was never submitted or has
    /// finished, or confirm the running attempt. Null when a new attempt should start.
    /// </summary>
    /// <param name="life">The work's lifecycle.</param>
    /// <param name="noun">"Job" or "Run", for the drop reason.</param>
    public static DispatchResult? Settled(WorkLifecycle life, string noun)
    {
        if (!life.Submitted || life.IsTerminal)
        {
            return new DispatchResult(false, life.Attempt, null, Drop: true, $"{noun} is {life.State}.");
        }

        return life.State == WorkState.Running ? new DispatchResult(true, life.Attempt, life.SiloId, false, null) : null;
    }

    /// <summary>
    /// Starts <paramref name="attempt"/> through <paramref name="start"/> on its worker grain, placed on
    /// <paramref name="siloId"/>. On success the lifecycle records the silo and the placement is returned; on failure the
    /// attempt is aborted in the lifecycle, <paramref name="persist"/> writes the state, and the failed dispatch is
    /// returned.
    /// </summary>
    public static async Task<(WorkerPlacement? Placement, DispatchResult? Failure)> StartAsync(
        IGrainFactory grains, string key, int attempt, string siloId, WorkLifecycle life, TimeProvider time,
        Func<IGpuWorkerGrain, Task<WorkerPlacement>> start, Func<Task> persist)
    {
        WorkerPlacement placement;
        try
        {
            RequestContext.Set(IPlacementDirector.PlacementHintKey, SiloAddress.FromParsableString(siloId));
            placement = await start(Worker(grains, key, attempt));
        }
        catch (Exception ex)
        {
            life.AbortAttempt(attempt, ex.Message, time.GetUtcNow());
            await persist();
            return (null, new DispatchResult(false, attempt, null, false, ex.Message));
        }
        finally
        {
            RequestContext.Remove(IPlacementDirector.PlacementHintKey);
        }

        life.SiloId = placement.SiloId;
        return (placement, null);
    }

    /// <summary>Asks the attempt's worker to stop (waiting 10 s at most); a failure is handed to <paramref name="onFailure"/>.</summary>
    public static async Task CancelAsync(IGrainFactory grains, string key, int attempt, string reason, Action<Exception> onFailure)
    {
        try
        {
            await Worker(grains, key, attempt).CancelAsync(reason).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception ex)
        {
            onFailure(ex);
        }
    }

    /// <summary>
    /// Refunds the GPU seconds charged but not used under <paramref name="chargeId"/> to the work's tenant and returns the
    /// refund (0 when everything charged was used).
    /// </summary>
    public static async Task<double> RefundUnusedAsync(IGrainFactory grains, string key, string chargeId, double charged, double used)
    {
        var refund = Math.Max(0, charged - used);
        if (refund > 0)
        {
            await grains.GetGrain<ITenantGrain>(PlatformKeys.Split(key).TenantId).RefundGpuSecondsAsync(chargeId, refund);
        }

        return refund;
    }
}
