using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Evaluation;
using DeepPerception.Abstractions.Work;
using DeepPerception.Grains.Tests.Infrastructure;

namespace DeepPerception.Grains.Tests.Cluster;

/// <summary>Evaluation runs and leaderboards.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class EvaluationAndLeaderboardTests(SharedClusterFixture fixture)
{
    private PlatformCluster P => fixture.Platform;

    [Fact]
    public async Task Leaderboard_entries_come_only_from_succeeded_platform_runs_with_the_pinned_harness()
    {
        var setup = await P.CreateTenantAsync("lb");
        await P.Client.GetGrain<IFineTuneJobGrain>("lb/train").SubmitAsync(PlatformCluster.Request(setup));
        var trained = await P.WaitForJobAsync("lb/train", s => s.State is WorkState.Succeeded or WorkState.Failed);
        var harness = await P.HarnessAsync("lb");
        var board = P.Client.GetGrain<ILeaderboardGrain>("lb/kvg");

        await Assert.ThrowsAsync<ConflictException>(() => board.PublishRunAsync("lb/eval-1"));
        await board.PinHarnessAsync(harness);
        await Assert.ThrowsAsync<ResourceNotFoundException>(() => board.PublishRunAsync("lb/never-ran"));
        await Assert.ThrowsAsync<AccessDeniedException>(() => board.PublishRunAsync("ft-ok/job-1"));

        var run = P.Client.GetGrain<IEvaluationRunGrain>("lb/eval-1");
        await run.SubmitAsync(new EvaluationRequest(setup.ModelId, trained.ResultModelVersion!.Value, harness, 10));
        var evaluated = await P.WaitForRunAsync("lb/eval-1");
        var entry = await board.PublishRunAsync("lb/eval-1");

        Assert.Equal(WorkState.Succeeded, evaluated.State);
        Assert.Equal(evaluated.Outcome!.Metrics["accuracy"], entry.Score);
        Assert.Equal((FineTuneJobTests.Expected(42, 12) % 1000) / 1000.0, entry.Score, 9);
        Assert.Equal(trained.ResultModelVersion, entry.ModelVersion);
        Assert.NotEqual("Silo_0", P.SiloById(evaluated.SiloId!).Name);
        Assert.Single((await board.GetAsync()).Entries);

        var otherHarness = await P.HarnessAsync("lb", version: "2.0");
        await P.Client.GetGrain<IEvaluationRunGrain>("lb/eval-2")
            .SubmitAsync(new EvaluationRequest(setup.ModelId, trained.ResultModelVersion.Value, otherHarness, 10));
        await P.WaitForRunAsync("lb/eval-2");
        var mismatch = await Assert.ThrowsAsync<ConflictException>(() => board.PublishRunAsync("lb/eval-2"));
        Assert.Contains("not the pinned", mismatch.Message);
        await Assert.ThrowsAsync<ConflictException>(() => board.PinHarnessAsync(otherHarness));
        Assert.Single((await board.GetAsync()).Entries);
    }

    [Fact]
    public async Task An_evaluation_of_a_missing_model_version_is_refused()
    {
        var setup = await P.CreateTenantAsync("ev-missing");
        var harness = await P.HarnessAsync("ev-missing");

        await Assert.ThrowsAsync<ResourceNotFoundException>(() => P.Client.GetGrain<IEvaluationRunGrain>("ev-missing/r1")
            .SubmitAsync(new EvaluationRequest(setup.ModelId, 3, harness, 10)));
        await Assert.ThrowsAsync<InvalidRequestException>(() => P.Client.GetGrain<IEvaluationRunGrain>("ev-missing/r2")
            .SubmitAsync(new EvaluationRequest(setup.ModelId, 1, harness with { BenchmarkSha256 = "abc" }, 10)));
    }
}
