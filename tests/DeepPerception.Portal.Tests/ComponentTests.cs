using System.Globalization;
using Bunit;
using DeepPerception.Api.Services;
using DeepPerception.Client;
using DeepPerception.Portal.Auth;
using DeepPerception.Portal.Components.Shared;
using DeepPerception.Portal.Data;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;

namespace DeepPerception.Portal.Tests;

/// <summary>The portal's shared components.</summary>
public sealed class ComponentTests
{
    [Fact]
    public async Task BoxedImage_draws_each_box_in_the_given_coordinate_space()
    {
        await using var ctx = PortalContext.Create();
        var cut = ctx.Render<BoxedImage>(p => p
            .Add(x => x.Source, "data:image/png;base64,AA==")
            .Add(x => x.ViewWidth, 640)
            .Add(x => x.ViewHeight, 480)
            .Add(x => x.Boxes, [new DrawnBox(10, 20, 110, 220, "true", "gt"), new DrawnBox(15.5, 25, 100, 200, "predicted", "answer")]));

        Assert.Equal("0 0 640 480", cut.Find("svg").GetAttribute("viewBox"));
        var rects = cut.FindAll("rect");
        Assert.Equal(2, rects.Count);
        Assert.Equal("dp-box-true", rects[0].GetAttribute("class"));
        Assert.Equal(new string?[] { "10", "20", "100", "200" }, new[] { "x", "y", "width", "height" }.Select(a => rects[0].GetAttribute(a)).ToArray());
        Assert.Equal("dp-box-pred", rects[1].GetAttribute("class"));
        Assert.Equal("15.5", rects[1].GetAttribute("x"));
        Assert.Equal("84.5", rects[1].GetAttribute("width"));
    }

    [Fact]
    public async Task RolloutGallery_shows_each_rollout_with_both_boxes_its_completion_and_reward_chips()
    {
        await using var ctx = PortalContext.Create();
        var rewards = new Dictionary<string, double> { ["accuracy"] = 0.25, ["format"] = 1 };
        const string url = "/v1/fine-tunes/job-1/rollouts/images/sample-7";
        RolloutSampleDto[] rollouts =
        [
            new(1, "sample-7", 0, "harrier", "<answer> harrier (1,2),(3,4) </answer>", rewards, 1.25, 0.5, 9, new BoxDto(100, 120, 300, 340), new BoxDto(110, 130, 310, 350), url),
            new(2, "sample-7", 1, "harrier", "no box at all", new Dictionary<string, double> { ["accuracy"] = 0, ["format"] = 0 }, 0, -0.75, 4, null,
                new BoxDto(110, 130, 310, 350), url),
        ];
        var cut = ctx.Render<RolloutGallery>(p => p
            .Add(x => x.Rollouts, rollouts)
            .Add(x => x.Images, new Dictionary<string, string> { [url] = "data:image/png;base64,AA==" }));

        var cards = cut.FindAll(".dp-rollout");
        Assert.Equal(2, cards.Count);
        Assert.Equal("2", cards[0].GetAttribute("data-step")); // newest step first
        var noBox = cards[0];
        Assert.Equal("dp-box-true", Assert.Single(noBox.QuerySelectorAll("rect")).GetAttribute("class"));
        Assert.Contains("no box parsed", noBox.TextContent, StringComparison.Ordinal);
        Assert.Contains("no box at all", noBox.QuerySelector(".dp-rollout-completion")!.TextContent, StringComparison.Ordinal);
        Assert.Contains("advantage -0.75", noBox.TextContent, StringComparison.Ordinal);

        var withBox = cards[1];
        Assert.Equal("data:image/png;base64,AA==", withBox.QuerySelector("img")!.GetAttribute("src"));
        var rects = withBox.QuerySelectorAll("rect");
        Assert.Equal(2, rects.Length);
        Assert.Equal(new string?[] { "dp-box-true", "110", "130", "200", "220" },
            new[] { "class", "x", "y", "width", "height" }.Select(a => rects[0].GetAttribute(a)).ToArray());
        Assert.Equal(new string?[] { "dp-box-pred", "100", "120", "200", "220" },
            new[] { "class", "x", "y", "width", "height" }.Select(a => rects[1].GetAttribute(a)).ToArray());
        var chips = withBox.QuerySelectorAll(".dp-reward").Select(c => c.TextContent.Trim()).ToList();
        Assert.Equal(["accuracy 0.25", "format 1", "total 1.25", "advantage 0.5"], chips);
    }

    [Fact]
    public async Task RolloutGallery_without_rollouts_shows_an_empty_state()
    {
        await using var ctx = PortalContext.Create();
        var cut = ctx.Render<RolloutGallery>(p => p.Add(x => x.Rollouts, Array.Empty<RolloutSampleDto>()));
        Assert.Contains("No rollouts to show", cut.Markup, StringComparison.Ordinal);
        Assert.Empty(cut.FindAll(".dp-rollout"));
    }

    [Fact]
    public async Task SignedIn_asks_anonymous_visitors_to_sign_in_and_keeps_the_page_as_return_address()
    {
        await using var ctx = PortalContext.Create();
        ctx.Services.GetRequiredService<NavigationManager>().NavigateTo("/datasets/birds?tab=gallery");
        var cut = ctx.Render<SignedIn>(p => p.Add(x => x.ChildContent, (RenderFragment<PortalUser>)(user => b => b.AddContent(0, "secret " + user.TenantId))));

        Assert.Contains("Sign in to continue", cut.Markup, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", cut.Markup, StringComparison.Ordinal);
        Assert.Equal("/signin?returnUrl=" + Uri.EscapeDataString("/datasets/birds?tab=gallery"), cut.Find("a").GetAttribute("href"));
    }

    [Fact]
    public async Task SignedIn_passes_the_user_to_its_content()
    {
        await using var ctx = PortalContext.Create(PortalContext.Member);
        var cut = ctx.Render<SignedIn>(p => p.Add(x => x.ChildContent, (RenderFragment<PortalUser>)(user => b => b.AddContent(0, $"tenant {user.TenantId} as {user.RoleName}"))));
        cut.WaitForAssertion(() => Assert.Contains("tenant acme as tenant member", cut.Markup, StringComparison.Ordinal));
    }

    [Fact]
    public async Task SignedIn_keeps_admin_pages_from_tenant_members_but_shows_them_to_platform_admins()
    {
        await using (var ctx = PortalContext.Create(PortalContext.Member))
        {
            var cut = ctx.Render<SignedIn>(p => p.Add(x => x.RequirePlatformAdmin, true)
                .Add(x => x.ChildContent, (RenderFragment<PortalUser>)(_ => b => b.AddContent(0, "drain-controls"))));
            cut.WaitForAssertion(() => Assert.Contains("Platform admins only", cut.Markup, StringComparison.Ordinal));
            Assert.DoesNotContain("drain-controls", cut.Markup, StringComparison.Ordinal);
        }

        await using (var ctx = PortalContext.Create(PortalContext.PlatformAdmin))
        {
            var cut = ctx.Render<SignedIn>(p => p.Add(x => x.RequirePlatformAdmin, true)
                .Add(x => x.ChildContent, (RenderFragment<PortalUser>)(_ => b => b.AddContent(0, "drain-controls"))));
            cut.WaitForAssertion(() => Assert.Contains("drain-controls", cut.Markup, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task ValidationReport_lists_every_finding_with_severity_and_sample()
    {
        await using var ctx = PortalContext.Create();
        ctx.Render<MudBlazor.MudPopoverProvider>();
        var report = new ValidationReportDto(10, false,
        [
            new ValidationIssueDto(true, "box_out_of_range", "record 3: box (0,0),(1200,40) leaves the 0-1000 grid", "s3"),
            new ValidationIssueDto(false, "rejected_record", "records.jsonl:7: rejected: image missing", null),
        ], DateTimeOffset.Parse("2026-11-27T05:00:00Z", CultureInfo.InvariantCulture));
        var cut = ctx.Render<ValidationReport>(p => p.Add(x => x.Report, report));

        Assert.Contains("Checked 10 record(s)", cut.Markup, StringComparison.Ordinal);
        Assert.Contains("1 error(s), 1 warning(s)", cut.Markup, StringComparison.Ordinal);
        cut.Find(".mud-expand-panel-header").Click();
        cut.WaitForAssertion(() => Assert.Equal(2, cut.FindAll(".dp-validation-issues tbody tr").Count));
        Assert.Contains("leaves the 0-1000 grid", cut.Markup, StringComparison.Ordinal);
        Assert.Contains("s3", cut.FindAll(".dp-validation-issues tbody tr")[0].TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RejectedRecords_shows_each_record_and_its_reasons()
    {
        await using var ctx = PortalContext.Create();
        var cut = ctx.Render<RejectedRecords>(p => p
            .Add(x => x.Rejected, [new RejectedRecordDto("annotations.json", 4, "img-4", ["box is NaN", "entity is empty"])])
            .Add(x => x.Warnings, ["knowledge.txt has no entry for 'Blue Jay'"]));

        var row = cut.Find(".dp-rejected tbody tr");
        Assert.Contains("annotations.json", row.TextContent, StringComparison.Ordinal);
        Assert.Contains("box is NaN; entity is empty", row.TextContent, StringComparison.Ordinal);
        Assert.Contains("no entry for 'Blue Jay'", cut.Markup, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MetricChart_draws_the_selected_metrics_and_explains_an_empty_chart()
    {
        await using var ctx = PortalContext.Create();
        var points = new[]
        {
            new ProgressDto(1, 4, new Dictionary<string, double> { ["loss"] = 2.5, ["learning_rate"] = 1e-3 }, "sft", false),
            new ProgressDto(2, 4, new Dictionary<string, double> { ["loss"] = 2.1, ["learning_rate"] = 9e-4 }, "sft", false),
        };
        var loss = ctx.Render<MetricChart>(p => p.Add(x => x.Title, "Loss").Add(x => x.Points, points).Add(x => x.Keys, k => k == "loss"));
        Assert.NotEmpty(loss.FindAll(".mud-chart svg"));
        Assert.Contains("loss", loss.Markup, StringComparison.Ordinal);

        var rewards = ctx.Render<MetricChart>(p => p.Add(x => x.Title, "Reward").Add(x => x.Points, points)
            .Add(x => x.Keys, k => k.StartsWith("rewards/", StringComparison.Ordinal)).Add(x => x.EmptyText, "Rewards appear during GRPO."));
        Assert.Empty(rewards.FindAll(".mud-chart"));
        Assert.Equal("Rewards appear during GRPO.", rewards.Find(".dp-chart-empty").TextContent);
    }

    [Theory]
    [InlineData("running", "running(SFT)", "mud-chip-color-info")]
    [InlineData("succeeded", null, "mud-chip-color-success")]
    [InlineData("failed", null, "mud-chip-color-error")]
    public async Task JobStateChip_colours_the_state(string state, string? phase, string cssClass)
    {
        await using var ctx = PortalContext.Create();
        var cut = ctx.Render<JobStateChip>(p => p.Add(x => x.State, state).Add(x => x.Phase, phase));
        var chip = cut.Find(".dp-state");
        Assert.Contains(cssClass, chip.ClassName, StringComparison.Ordinal);
        Assert.Equal(phase ?? state, chip.TextContent.Trim());
    }

    [Fact]
    public async Task JobStateChip_says_when_work_waits_for_storage()
    {
        await using var ctx = PortalContext.Create();
        var cut = ctx.Render<JobStateChip>(p => p.Add(x => x.State, "waitingforstorage").Add(x => x.Phase, "waitingforstorage"));
        var chip = cut.Find(".dp-state");
        Assert.Contains("mud-chip-color-warning", chip.ClassName, StringComparison.Ordinal);
        Assert.Equal("waiting for storage", chip.TextContent.Trim());
        Assert.Equal("waitingforstorage", chip.GetAttribute("data-state"));
    }

    [Fact]
    public void Presets_carry_the_papers_defaults_and_build_valid_recipes()
    {
        var paper = TrainingPresets.Paper;
        Assert.Equal(5e-6, paper.LearningRate);
        Assert.Equal(1e-6, paper.GrpoLearningRate);
        Assert.Equal(16, paper.BatchSize);
        var settings = paper.Settings("sft+grpo");
        Assert.Equal("401408", settings["max_pixels"]);
        Assert.Equal("4", settings["generations"]);
        Assert.Equal("512", settings["max_completion_length"]);
        Assert.Equal("0.04", settings["beta"]);
        Assert.Equal("1", settings["temperature"]);
        Assert.False(paper.Settings("sft").ContainsKey("generations"));

        foreach (var preset in TrainingPresets.All)
        {
            foreach (var stages in new[] { "sft", "grpo", "sft+grpo" })
            {
                var recipe = TrainingService.BuildRecipe(new RecipeBody(stages, "lora", 8, preset.MaxSteps, preset.LearningRate, preset.BatchSize,
                    preset.CheckpointEvery, 0, preset.Settings(stages)));
                Assert.Equal(stages, recipe.Settings["stages"]);
                Assert.Equal(preset.MaxPixels.ToString(CultureInfo.InvariantCulture), recipe.Settings["max_pixels"]);
            }
        }
    }

    [Fact]
    public void Errors_say_what_to_do()
    {
        Assert.EndsWith("ask a platform admin to raise the tenant's GPU-seconds budget.",
            PortalErrors.Describe(new DeepPerception.Abstractions.QuotaExceededException("Budget spent.")), StringComparison.Ordinal);
        Assert.StartsWith("Model 'x' does not exist. Pick an existing item",
            PortalErrors.Describe(new DeepPerception.Abstractions.ResourceNotFoundException("Model 'x' does not exist.")), StringComparison.Ordinal);
        Assert.Contains("Fix the listed records", PortalErrors.Describe(new DeepPerception.Api.UnprocessableException("No record is usable.")), StringComparison.Ordinal);
    }
}
