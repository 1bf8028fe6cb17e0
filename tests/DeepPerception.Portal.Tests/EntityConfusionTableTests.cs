using System.Text.Json;
using Bunit;
using DeepPerception.Api.Services;
using DeepPerception.Client;
using DeepPerception.Portal.Components.Shared;

namespace DeepPerception.Portal.Tests;

/// <summary>The evaluation page's entity × entity confusion heat map with its domain selector.</summary>
public sealed class EntityConfusionTableTests
{
    private static IReadOnlyList<EntityConfusionDto> Matrices()
    {
        object Item(string id, string category, string entity, string match, string matched) => new
        {
            questionId = id, category, entity, text = match == "none" ? "no box" : "(1,2),(3,4)", iou = match == "target" ? 0.9 : 0.0,
            correct = match == "target", match, matched, objectsKnown = true,
        };
        object[] items =
        [
            Item("b1", "bird", "Ash Jay", "target", "Ash Jay"),
            Item("b2", "bird", "Ash Jay", "other_entity", "Dune Wren"),
            Item("b3", "bird", "Dune Wren", "none", "none"),
            Item("c1", "car", "Ion GT", "target", "Ion GT"),
        ];
        var report = EvaluationService.BuildReport("run", new Dictionary<string, double>(), JsonSerializer.SerializeToElement(new { items }), 5);
        return report.Confusion.Entities!;
    }

    [Fact]
    public async Task The_most_confused_domain_shows_first_with_the_diagonal_and_confusions_tinted()
    {
        await using var ctx = PortalContext.Create();
        var cut = ctx.Render<EntityConfusionTable>(p => p.Add(x => x.Matrices, Matrices()));

        var table = cut.Find(".dp-entity-cm");
        Assert.Equal("bird", table.GetAttribute("data-domain"));
        var headers = cut.FindAll(".dp-entity-cm thead th").Skip(1).Select(h => h.TextContent.Trim()).ToList();
        Assert.Equal(["Ash Jay", "Dune Wren", "other", "none"], headers);
        var jay = cut.Find("tr[data-row='Ash Jay']");
        Assert.Equal(["1", "1", "0", "0"], jay.QuerySelectorAll("td").Select(td => td.TextContent.Trim()));
        Assert.Equal("dp-cm-diag", jay.QuerySelector("td[data-col='Ash Jay']")!.GetAttribute("class"));
        Assert.Equal("dp-cm-off", jay.QuerySelector("td[data-col='Dune Wren']")!.GetAttribute("class"));
        Assert.Contains("rgba(198, 40, 40", jay.QuerySelector("td[data-col='Dune Wren']")!.GetAttribute("style"), StringComparison.Ordinal);
        Assert.Equal("1", cut.Find("tr[data-row='Dune Wren'] td[data-col='none']").TextContent.Trim());
        Assert.Contains("3 items · 1 correct", cut.Find(".dp-entity-cm-summary").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_domain_selector_switches_the_matrix()
    {
        await using var ctx = PortalContext.Create();
        var cut = ctx.Render<EntityConfusionTable>(p => p.Add(x => x.Matrices, Matrices()));
        Assert.Equal(["bird", "car"], cut.FindAll(".dp-entity-cm-domain").Select(b => b.GetAttribute("data-domain")));

        cut.Find(".dp-entity-cm-domain[data-domain='car']").Click();

        Assert.Equal("car", cut.Find(".dp-entity-cm").GetAttribute("data-domain"));
        Assert.Equal(["1", "0", "0"], cut.Find("tr[data-row='Ion GT']").QuerySelectorAll("td").Select(td => td.TextContent.Trim()));
        Assert.Empty(cut.FindAll("tr[data-row='Ash Jay']"));
    }

    [Fact]
    public async Task A_report_without_matrices_says_so()
    {
        await using var ctx = PortalContext.Create();
        var cut = ctx.Render<EntityConfusionTable>(p => p.Add(x => x.Matrices, null));
        Assert.Contains("no entity-confusion matrix", cut.Markup, StringComparison.Ordinal);
        Assert.Empty(cut.FindAll("table"));
    }
}
