using DeepPerception.Api.Services;

namespace DeepPerception.Portal.Data;

/// <summary>Reads every tenant's public leaderboards and turns their entries into KVG-Bench rows.</summary>
public sealed class LeaderboardView(TenantDirectory tenants, ResourceIndex index, LeaderboardService boards)
{
    /// <summary>The platform's scored entries of all boards as KVG-Bench rows (empty when nothing is published yet).</summary>
    public async Task<IReadOnlyList<KvgBenchRow>> GetPlatformRowsAsync(CancellationToken cancellationToken = default)
    {
        var rows = new List<KvgBenchRow>();
        foreach (var tenantId in await tenants.ListAsync(cancellationToken))
        {
            foreach (var boardId in await index.ListAsync(tenantId, "leaderboards", cancellationToken))
            {
                var board = await boards.GetPublicAsync(tenantId, boardId, cancellationToken);
                rows.AddRange(board.Entries.Select(e => KvgBenchRows.FromMetrics(
                    $"{tenantId}/{e.ModelId} v{e.ModelVersion}", e.Metrics,
                    $"board {tenantId}/{boardId} ({board.Harness?.Settings.GetValueOrDefault("source") ?? "harness"}), run {e.RunId}, {e.RecordedAt:yyyy-MM-dd}")));
            }
        }

        return rows;
    }
}
