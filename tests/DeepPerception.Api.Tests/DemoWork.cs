using DeepPerception.Client;

namespace DeepPerception.Api.Tests;

/// <summary>Ids of work run once through the API on the demo tenant: a fine-tune, its model version, an evaluation and a leaderboard.</summary>
public sealed record DemoWork(string JobId, int ModelVersion, string EvaluationId, string BoardId, string BenchmarkId);

public static class DemoWorkRunner
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static DemoWork? _done;

    public const string Model = "tiny-grounder";

    /// <summary>A tiny recipe: 2 SFT steps at a small resolution.</summary>
    public static RecipeBody TinyRecipe => new("sft", "full", MaxSteps: 2, LearningRate: 1e-3, BatchSize: 2, CheckpointEvery: 1, Seed: 1,
        Settings: new Dictionary<string, string> { ["max_pixels"] = "12544" });

    public static async Task<DemoWork> EnsureAsync(ApiHostFixture host)
    {
        await Gate.WaitAsync();
        try
        {
            return _done ??= await RunAsync(host);
        }
        finally
        {
            Gate.Release();
        }
    }

    private static async Task<DemoWork> RunAsync(ApiHostFixture host)
    {
        var client = host.Client(host.DemoAdmin);
        var job = await client.CreateFineTuneAsync(new CreateFineTuneBody(Model, "kvg-synth", 1, TinyRecipe, JobId: "first-tune"));
        job = await ApiHostFixture.WaitAsync(() => client.GetFineTuneAsync(job.JobId), j => j.State is "succeeded" or "failed" or "cancelled", "the fine-tune");
        Assert.True(job.State == "succeeded", $"{job.State}: {job.StatusMessage} {job.Error}");
        var version = job.ResultModelVersion!.Value;

        var evaluation = await client.CreateEvaluationAsync(new CreateEvaluationBody(Model, version, "kvg-synth", TestCount: 3, MaxNewTokens: 8, RunId: "synth-eval"));
        evaluation = await ApiHostFixture.WaitAsync(() => client.GetEvaluationAsync(evaluation.RunId), e => e.State is "succeeded" or "failed" or "cancelled",
            "the evaluation");
        Assert.True(evaluation.State == "succeeded", $"{evaluation.State}: {evaluation.StatusMessage} {evaluation.Error}");

        var parquet = Path.Combine(Path.GetTempPath(), $"dp-bench-{Guid.NewGuid():N}.parquet");
        try
        {
            var world = Data.Synth.SynthWorld.Create(0);
            var split = Data.Synth.SynthSplits.Build(world, 1, 2, seed: 5);
            await Data.Synth.SynthExporter.ExportKvgParquetAsync(split.Test, parquet);
            using var http = host.Http(host.DemoAdmin);
            var content = new ByteArrayContent(await File.ReadAllBytesAsync(parquet));
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/vnd.apache.parquet");
            var response = await http.PutAsync("/v1/benchmarks/synth-two", content);
            Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        }
        finally
        {
            File.Delete(parquet);
        }

        await client.CreateLeaderboardAsync(new CreateLeaderboardBody("grounding", "benchmark", BenchmarkId: "synth-two", MaxNewTokens: 8));
        return new DemoWork(job.JobId, version, evaluation.RunId, "grounding", "synth-two");
    }
}
