using System.Collections.Immutable;
using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Evaluation;
using DeepPerception.Abstractions.Work;
using DeepPerception.Grains.Hosting;

namespace DeepPerception.Grains.Work;

/// <summary>The persistent state of a leaderboard.</summary>
public sealed class LeaderboardState
{
    /// <summary>The pinned harness.</summary>
    public HarnessDescriptor? Harness { get; set; }

    /// <summary>Entries by evaluation run key.</summary>
    public Dictionary<string, LeaderboardEntry> Entries { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>A leaderboard fed only by succeeded evaluation runs that used its pinned harness.</summary>
[ControlPlane]
internal sealed class LeaderboardGrain(
    [PersistentState("leaderboard", PlatformStorage.Name)] IPersistentState<LeaderboardState> state,
    TimeProvider time) : Grain, ILeaderboardGrain
{
    private string Key => this.GetPrimaryKeyString();

    async Task<LeaderboardInfo> ILeaderboardGrain.PinHarnessAsync(HarnessDescriptor harness)
    {
        PlatformKeys.Split(Key);
        ArgumentNullException.ThrowIfNull(harness);
        if (state.State.Harness is { } pinned)
        {
            if (!pinned.SameAs(harness))
            {
                throw new ConflictException(
                    $"Leaderboard '{Key}' is pinned to harness {pinned.HarnessId}@{pinned.Version}; it cannot change.");
            }
        }
        else
        {
            state.State.Harness = harness;
            await state.WriteStateAsync();
        }

        return Info();
    }

    async Task<LeaderboardEntry> ILeaderboardGrain.PublishRunAsync(string evaluationRunKey)
    {
        var tenantId = PlatformKeys.Split(Key).TenantId;
        var pinned = state.State.Harness
                     ?? throw new ConflictException($"Leaderboard '{Key}' has no pinned harness yet.");
        if (PlatformKeys.Split(evaluationRunKey).TenantId != tenantId)
        {
            throw new AccessDeniedException($"Evaluation run '{evaluationRunKey}' belongs to another tenant.");
        }

        EvaluationRunStatus run;
        try
        {
            run = await GrainFactory.GetGrain<IEvaluationRunGrain>(evaluationRunKey).GetStatusAsync();
        }
        catch (ResourceNotFoundException)
        {
            throw new ResourceNotFoundException($"Evaluation run '{evaluationRunKey}' does not exist; only runs the platform executed can be published.");
        }

        if (run.State != WorkState.Succeeded || run.Outcome is null)
        {
            throw new ConflictException($"Evaluation run '{evaluationRunKey}' is {run.State}; only succeeded runs can be published.");
        }

        if (!run.Request.Harness.SameAs(pinned))
        {
            throw new ConflictException(
                $"Evaluation run '{evaluationRunKey}' used harness {run.Request.Harness.HarnessId}@{run.Request.Harness.Version}, not the pinned {pinned.HarnessId}@{pinned.Version}.");
        }

        if (!run.Outcome.Metrics.TryGetValue(pinned.PrimaryMetric, out var score))
        {
            throw new ConflictException($"Evaluation run '{evaluationRunKey}' has no '{pinned.PrimaryMetric}' metric.");
        }

        var entry = new LeaderboardEntry(evaluationRunKey, run.Request.ModelId, run.Request.ModelVersion, score,
            run.Outcome.Metrics, time.GetUtcNow());
        state.State.Entries[evaluationRunKey] = entry;
        await state.WriteStateAsync();
        return entry;
    }

    Task<LeaderboardInfo> ILeaderboardGrain.GetAsync() => Task.FromResult(Info());

    private LeaderboardInfo Info() => new(Key, state.State.Harness,
        state.State.Entries.Values.OrderByDescending(e => e.Score).ThenBy(e => e.RecordedAt).ToImmutableArray());
}
