using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Evaluation;
using DeepPerception.Abstractions.Work;
using DeepPerception.Api.Identity;
using DeepPerception.Client;

namespace DeepPerception.Api.Services;

/// <summary>
/// Leaderboards: a tenant admin creates a board pinned to a harness; anyone can read it (public, by tenant and board id);
/// members submit a model version, which the platform scores with the pinned harness; a succeeded submission is
/// published on the board (there is no way to post a score directly).
/// </summary>
public sealed class LeaderboardService(IGrainFactory grains, ResourceIndex index, EvaluationService evaluations)
{
    private const string Kind = "leaderboards";

    private static string SubmissionsKind(string boardId) => "lb-" + boardId;

    private ILeaderboardGrain Grain(string tenantId, string boardId) =>
        grains.GetGrain<ILeaderboardGrain>(PlatformKeys.Scoped(tenantId, boardId, "leaderboard id"));

    /// <summary>Creates a board pinned to a harness (tenant admins).</summary>
    public async Task<LeaderboardDto> CreateAsync(PlatformPrincipal caller, CreateLeaderboardBody body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(body);
        caller.RequireTenantAdmin();
        PlatformKeys.ValidateId(body.BoardId, "leaderboard id");
        if (body.Source is not ("kvg-synth" or "benchmark"))
        {
            throw new InvalidRequestException($"A leaderboard's source must be kvg-synth or benchmark (got '{body.Source}').");
        }

        var harness = await evaluations.BuildHarnessAsync(caller, new HarnessSpec(body.Source, null, null, body.BenchmarkId, body.TestCount, body.WorldSeed,
            body.SplitSeed, body.Limit, body.MaxNewTokens, body.Prompt, body.PrimaryMetric), cancellationToken).ConfigureAwait(false);
        var info = await Grain(caller.TenantId, body.BoardId).PinHarnessAsync(harness).ConfigureAwait(false);
        await index.AddAsync(caller.TenantId, Kind, body.BoardId, cancellationToken).ConfigureAwait(false);
        return ToDto(caller.TenantId, body.BoardId, info);
    }

    /// <summary>Lists the caller's boards.</summary>
    public async Task<IReadOnlyList<LeaderboardDto>> ListAsync(PlatformPrincipal caller, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var result = new List<LeaderboardDto>();
        foreach (var id in await index.ListAsync(caller.TenantId, Kind, cancellationToken).ConfigureAwait(false))
        {
            result.Add(await GetPublicAsync(caller.TenantId, id, cancellationToken).ConfigureAwait(false));
        }

        return result;
    }

    /// <summary>Reads a board (public). Succeeded submissions not yet on the board are published first.</summary>
    public async Task<LeaderboardDto> GetPublicAsync(string tenantId, string boardId, CancellationToken cancellationToken = default)
    {
        var grain = Grain(tenantId, boardId);
        var info = await grain.GetAsync().ConfigureAwait(false);
        if (info.Harness is null)
        {
            throw new ResourceNotFoundException($"Leaderboard '{tenantId}/{boardId}' does not exist.");
        }

        var published = info.Entries.Select(e => e.EvaluationRunKey).ToHashSet(StringComparer.Ordinal);
        var changed = false;
        foreach (var runId in await index.ListAsync(tenantId, SubmissionsKind(boardId), cancellationToken).ConfigureAwait(false))
        {
            var runKey = $"{tenantId}/{runId}";
            if (published.Contains(runKey))
            {
                continue;
            }

            var status = await grains.GetGrain<IEvaluationRunGrain>(runKey).GetStatusAsync().ConfigureAwait(false);
            if (status.State == WorkState.Succeeded)
            {
                await grain.PublishRunAsync(runKey).ConfigureAwait(false);
                changed = true;
            }
        }

        return ToDto(tenantId, boardId, changed ? await grain.GetAsync().ConfigureAwait(false) : info);
    }

    /// <summary>Submits a model version: starts an evaluation with the board's pinned harness.</summary>
    public async Task<SubmissionDto> SubmitAsync(PlatformPrincipal caller, string boardId, SubmitToLeaderboardBody body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(body);
        var info = await Grain(caller.TenantId, boardId).GetAsync().ConfigureAwait(false);
        if (info.Harness is null)
        {
            throw new ResourceNotFoundException($"Leaderboard '{boardId}' does not exist.");
        }

        var run = await evaluations.SubmitAsync(caller, body.ModelId, body.ModelVersion, info.Harness, null, null, cancellationToken).ConfigureAwait(false);
        await index.AddAsync(caller.TenantId, SubmissionsKind(boardId), run.RunId, cancellationToken).ConfigureAwait(false);
        return new SubmissionDto(boardId, run, null);
    }

    /// <summary>Returns a submission; publishes it when its run has succeeded.</summary>
    public async Task<SubmissionDto> GetSubmissionAsync(PlatformPrincipal caller, string boardId, string runId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(caller);
        PlatformKeys.ValidateId(runId, "evaluation id");
        if (!(await index.ListAsync(caller.TenantId, SubmissionsKind(boardId), cancellationToken).ConfigureAwait(false)).Contains(runId))
        {
            throw new ResourceNotFoundException($"Submission '{runId}' of leaderboard '{boardId}' does not exist.");
        }

        var board = await GetPublicAsync(caller.TenantId, boardId, cancellationToken).ConfigureAwait(false);
        var run = await evaluations.GetAsync(caller, runId).ConfigureAwait(false);
        return new SubmissionDto(boardId, run, board.Entries.FirstOrDefault(e => e.RunId == runId));
    }

    private static LeaderboardDto ToDto(string tenantId, string boardId, LeaderboardInfo info) => new(tenantId, boardId,
        info.Harness is { } h ? new HarnessDto(h.HarnessId, h.Version, h.PrimaryMetric, h.Settings, h.BenchmarkSha256) : null,
        info.Entries.OrderByDescending(e => e.Score).Select((e, i) => new LeaderboardEntryDto(i + 1, e.ModelId, e.ModelVersion, e.Score, e.Metrics,
            Mapping.LocalId(e.EvaluationRunKey), e.RecordedAt)).ToArray());
}
