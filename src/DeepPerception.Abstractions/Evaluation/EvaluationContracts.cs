using System.Collections.Immutable;
using DeepPerception.Abstractions.Work;

namespace DeepPerception.Abstractions.Evaluation;

/// <summary>Request to evaluate a model version with a pinned harness.</summary>
[GenerateSerializer, Immutable, Alias("dp.EvaluationRequest")]
public sealed record EvaluationRequest(
    [property: Id(0)] string ModelId,
    [property: Id(1)] int ModelVersion,
    [property: Id(2)] HarnessDescriptor Harness,
    [property: Id(3)] double EstimatedGpuSeconds);

/// <summary>The observable status of an evaluation run.</summary>
[GenerateSerializer, Immutable, Alias("dp.EvaluationRunStatus")]
public sealed record EvaluationRunStatus(
    [property: Id(0)] string RunKey,
    [property: Id(1)] WorkState State,
    [property: Id(2)] int Attempt,
    [property: Id(3)] string? SiloId,
    [property: Id(4)] EvaluationRequest Request,
    [property: Id(5)] JobProgress? LatestProgress,
    [property: Id(6)] EvaluationOutcome? Outcome,
    [property: Id(7)] string StatusMessage,
    [property: Id(8)] DateTimeOffset SubmittedAt,
    [property: Id(9)] DateTimeOffset UpdatedAt);

/// <summary>An evaluation run executed by the platform on a GPU silo. Keyed "{tenantId}/{runId}".</summary>
[Alias("dp.IEvaluationRunGrain")]
public interface IEvaluationRunGrain : IScheduledWorkGrain
{
    /// <summary>Validates the request (tenant, model version), reserves GPU seconds and queues the run.</summary>
    [Alias("Submit")]
    Task<EvaluationRunStatus> SubmitAsync(EvaluationRequest request);

    /// <summary>Returns the status.</summary>
    [Alias("GetStatus")]
    Task<EvaluationRunStatus> GetStatusAsync();

    /// <summary>Cancels a queued or running evaluation.</summary>
    [Alias("Cancel")]
    Task<EvaluationRunStatus> CancelAsync(string reason);

    /// <summary>Records the end of an attempt (called by the GPU worker).</summary>
    [Alias("ReportOutcome")]
    Task ReportOutcomeAsync(int attempt, EvaluationOutcome outcome);
}

/// <summary>A leaderboard row, always backed by an evaluation run the platform executed.</summary>
[GenerateSerializer, Immutable, Alias("dp.LeaderboardEntry")]
public sealed record LeaderboardEntry(
    [property: Id(0)] string EvaluationRunKey,
    [property: Id(1)] string ModelId,
    [property: Id(2)] int ModelVersion,
    [property: Id(3)] double Score,
    [property: Id(4)] ImmutableDictionary<string, double> Metrics,
    [property: Id(5)] DateTimeOffset RecordedAt);

/// <summary>A leaderboard: its pinned harness and entries, best score first.</summary>
[GenerateSerializer, Immutable, Alias("dp.LeaderboardInfo")]
public sealed record LeaderboardInfo(
    [property: Id(0)] string Key,
    [property: Id(1)] HarnessDescriptor? Harness,
    [property: Id(2)] ImmutableArray<LeaderboardEntry> Entries);

/// <summary>
/// A leaderboard for one pinned harness. Entries can only be added from succeeded evaluation runs of the same tenant
/// whose harness matches the pinned descriptor; there is no way to post a score directly. Keyed "{tenantId}/{boardId}".
/// </summary>
[Alias("dp.ILeaderboardGrain")]
public interface ILeaderboardGrain : IGrainWithStringKey
{
    /// <summary>Pins the harness; refused when a different harness is already pinned.</summary>
    [Alias("PinHarness")]
    Task<LeaderboardInfo> PinHarnessAsync(HarnessDescriptor harness);

    /// <summary>Adds (or refreshes) the entry of a succeeded evaluation run.</summary>
    [Alias("PublishRun")]
    Task<LeaderboardEntry> PublishRunAsync(string evaluationRunKey);

    /// <summary>Returns the leaderboard.</summary>
    [Alias("Get")]
    Task<LeaderboardInfo> GetAsync();
}
