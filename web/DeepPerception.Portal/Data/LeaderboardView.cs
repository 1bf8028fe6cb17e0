using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Evaluation;

namespace DeepPerception.Portal.Data;

/// <summary>Reads the platform's scored KVG-Bench entries for the public leaderboard.</summary>
public sealed class LeaderboardView(IGrainFactory grains, Auth.PortalOptions options)
{
    /// <summary>The platform's entries as KVG-Bench rows (best first); empty when nothing is published yet.</summary>
    public async Task<IReadOnlyList<KvgBenchRow>> GetPlatformRowsAsync()
    {
        var (tenant, _) = PlatformKeys.Split(options.PublicLeaderboardKey);
        var board = await grains.GetGrain<ILeaderboardGrain>(options.PublicLeaderboardKey).GetAsync();
        return board.Entries
            .Select(e => KvgBenchRows.FromMetrics($"{tenant}/{e.ModelId} v{e.ModelVersion}", e.Metrics,
                $"evaluation {e.EvaluationRunKey}, {e.RecordedAt:yyyy-MM-dd}"))
            .ToArray();
    }
}
