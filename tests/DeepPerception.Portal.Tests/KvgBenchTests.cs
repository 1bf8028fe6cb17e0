using Bunit;
using DeepPerception.Portal.Components.Shared;
using DeepPerception.Portal.Data;

namespace DeepPerception.Portal.Tests;

/// <summary>The leaderboard's KVG-Bench layout and the paper's published rows.</summary>
public sealed class KvgBenchTests
{
    [Fact]
    public void Published_rows_carry_the_papers_overall_figures()
    {
        var overall = KvgBenchReference.PublishedRows.ToDictionary(r => r.Name, r => r.Overall);
        Assert.Equal(52.40, overall["Qwen2-VL-7B"]);
        Assert.Equal(62.20, overall["DeepPerception (Qwen2-VL-7B, CoT-SFT + GRPO)"]);
        Assert.Equal(56.41, overall["Human (closed book)"]);
        Assert.Equal(78.83, overall["Human + search"]);
        Assert.All(KvgBenchReference.PublishedRows, r => Assert.True(r.IsPublished));
        Assert.All(KvgBenchReference.PublishedRows, r => Assert.Equal(10, r.Domains.Count));
    }

    [Fact]
    public void Published_seen_averages_match_the_domain_cells_within_rounding_of_the_sample_counts()
    {
        // The seen and unseen columns are accuracies pooled over their domains' items, so each lies between the
        // smallest and the largest of its domain cells; a transposed or misplaced number breaks this.
        foreach (var row in KvgBenchReference.PublishedRows)
        {
            var seen = row.Domains.Take(5).Select(d => d!.Value).ToArray();
            Assert.InRange(row.Seen!.Value, seen.Min(), seen.Max());
            var unseen = row.Domains.Skip(5).Select(d => d!.Value).ToArray();
            Assert.InRange(row.Unseen!.Value, unseen.Min(), unseen.Max());
        }
    }

    [Fact]
    public void DeepPerception_row_has_the_papers_per_domain_numbers()
    {
        var row = KvgBenchReference.PublishedRows.Single(r => r.Name.StartsWith("DeepPerception", StringComparison.Ordinal));
        Assert.Equal([69.08, 86.54, 64.14, 41.04, 77.86, 85.60, 40.74, 58.04, 59.55, 61.45], row.Domains.Select(d => d!.Value).ToArray());
        Assert.Equal(63.13, row.Seen);
        Assert.Equal(60.85, row.Unseen);
    }

    [Fact]
    public void Metrics_of_an_evaluation_become_a_row_in_percent()
    {
        var metrics = new Dictionary<string, double>
        {
            ["accuracy"] = 0.5, ["seen_accuracy"] = 0.625, ["unseen_accuracy"] = 0.375,
            ["accuracy.aircraft"] = 0.25, ["accuracy.landmark"] = 1.0, ["accuracy.unknown"] = 0.1,
        };
        var row = KvgBenchRows.FromMetrics("acme/m v1", metrics, "run");
        Assert.False(row.IsPublished);
        Assert.Equal(50.0, row.Overall);
        Assert.Equal(62.5, row.Seen);
        Assert.Equal(37.5, row.Unseen);
        Assert.Equal(25.0, row.Domains[0]);
        Assert.Equal(100.0, row.Domains[9]);
        Assert.Null(row.Domains[1]);
    }

    [Fact]
    public async Task Table_has_ten_domain_columns_seen_unseen_and_overall_and_ranks_by_overall()
    {
        await using var ctx = PortalContext.Create();
        var platform = KvgBenchRows.FromMetrics("acme/m v3", new Dictionary<string, double> { ["accuracy"] = 0.7 }, "run ev-1");
        var cut = ctx.Render<KvgBenchTable>(p => p.Add(x => x.Rows, [.. KvgBenchReference.PublishedRows, platform]));

        var headers = cut.FindAll("thead th").Select(h => h.TextContent.Trim()).ToArray();
        Assert.Equal(["#", "Model", "Air", "Car", "Rep", "Bird", "Food", "Seen", "Dog", "Mol", "Mam", "Flwr", "Ldmk", "Unseen", "Overall", "Source"], headers);
        var rows = cut.FindAll("tbody tr");
        Assert.Equal(5, rows.Count);
        Assert.Equal("Human + search", rows[0].GetAttribute("data-row"));
        Assert.Equal("acme/m v3", rows[1].GetAttribute("data-row"));
        Assert.Contains("scored here", rows[1].TextContent, StringComparison.Ordinal);
        Assert.Equal("62.20", cut.Find("tr[data-row^='DeepPerception'] .dp-overall").TextContent.Trim());
        Assert.Equal(4, cut.FindAll("tr.dp-published").Count);
        Assert.Contains("–", rows[1].TextContent, StringComparison.Ordinal);
    }
}
