using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using DeepPerception.Client;

namespace DeepPerception.Api.Tests;

[Collection("api")]
public sealed class LifecycleTests(ApiHostFixture host)
{
    [Fact]
    public async Task A_fine_tune_registers_a_version_with_metrics_lineage_promotion_and_an_hf_export()
    {
        var work = await DemoWorkRunner.EnsureAsync(host);
        var client = host.Client(host.DemoAdmin);
        var job = await client.GetFineTuneAsync(work.JobId);
        Assert.Equal("succeeded", job.State);
        Assert.Equal("sft", job.Recipe.Method);
        Assert.Equal("401408", TrainingDefaults()["max_pixels"]);
        Assert.Equal("12544", job.Recipe.Settings["max_pixels"]);
        var metrics = await client.GetFineTuneMetricsAsync(work.JobId);
        Assert.Contains(metrics.Points, p => p.Metrics.ContainsKey("loss"));
        using var http = host.Http(host.DemoAdmin);
        var rollouts = await http.GetFromJsonAsync<RolloutsDto>($"/v1/fine-tunes/{work.JobId}/rollouts");
        Assert.Empty(rollouts!.Samples);

        var model = await client.GetModelAsync(DemoWorkRunner.Model);
        var version = Assert.Single(model.Versions, v => v.Version == work.ModelVersion);
        Assert.Equal("kvg-synth", version.Lineage.DatasetId);
        Assert.Equal(work.JobId, version.Lineage.JobId);
        var lineage = await client.GetLineageAsync(DemoWorkRunner.Model, work.ModelVersion);
        Assert.Equal(work.ModelVersion, lineage.Chain[0].Version);
        Assert.Equal(work.ModelVersion, (await client.PromoteAsync(DemoWorkRunner.Model, work.ModelVersion)).ActiveVersion);
        Assert.Contains(await client.ListModelsAsync(), m => m.ModelId == DemoWorkRunner.Model);

        var zip = await client.ExportModelAsync(DemoWorkRunner.Model, work.ModelVersion);
        using var archive = new ZipArchive(new MemoryStream(zip));
        var names = archive.Entries.Select(e => e.FullName).ToArray();
        Assert.Contains("config.json", names);
        Assert.Contains(names, n => n.EndsWith(".safetensors", StringComparison.Ordinal));
        Assert.Contains("tokenizer.json", names);

        var answer = await client.GroundAsync(DemoWorkRunner.Model, ApiHostFixture.Png(), "the Glimmer Finch", maxNewTokens: 4);
        Assert.Equal(work.ModelVersion, answer.Version);

        var created = await http.PostAsJsonAsync("/v1/models", new CreateModelBody("tuned-copy", "Tuned copy", DemoWorkRunner.Model, work.ModelVersion));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var copy = (await created.Content.ReadFromJsonAsync<ModelDto>())!;
        Assert.Equal("qwen2-vl-tiny", copy.BaseModel);
        Assert.Empty(copy.Versions);
        Assert.Contains(await client.ListModelsAsync(), m => m.ModelId == "tuned-copy");
        Assert.Contains((await http.GetFromJsonAsync<ListDto<FineTuneJobDto>>("/v1/fine-tunes"))!.Items, j => j.JobId == work.JobId);
        Assert.Contains((await http.GetFromJsonAsync<ListDto<EvaluationDto>>("/v1/evaluations"))!.Items, e => e.RunId == work.EvaluationId);
        Assert.Contains((await http.GetFromJsonAsync<ListDto<BenchmarkDto>>("/v1/benchmarks"))!.Items, b => b.BenchmarkId == work.BenchmarkId);
        Assert.Contains((await http.GetFromJsonAsync<ListDto<LeaderboardDto>>("/v1/leaderboards"))!.Items, b => b.BoardId == work.BoardId);
        Assert.Contains(await client.ListDatasetsAsync(), d => d.DatasetId == "kvg-synth");
    }

    [Fact]
    public async Task A_queued_job_can_be_cancelled_and_resumed()
    {
        var client = host.Client(host.DemoAdmin);
        var admin = host.Client(ApiHostFixture.AdminKey);
        var silo = (await admin.ListSilosAsync()).Single();
        using var adminHttp = host.Http(ApiHostFixture.AdminKey);
        var cordoned = await adminHttp.PostAsync($"/v1/admin/silos/{Uri.EscapeDataString(silo.SiloId)}/cordon", null);
        Assert.Equal(HttpStatusCode.OK, cordoned.StatusCode);
        try
        {
            var job = await client.CreateFineTuneAsync(new CreateFineTuneBody(DemoWorkRunner.Model, "kvg-synth", 1, DemoWorkRunner.TinyRecipe));
            Assert.Equal("queued", job.State);
            var queue = await admin.GetQueueAsync();
            Assert.Contains(queue.Queued, p => p.WorkKey == $"demo/{job.JobId}");
            Assert.Equal("cancelled", (await client.CancelFineTuneAsync(job.JobId, "changed my mind")).State);
            Assert.Equal("queued", (await client.ResumeFineTuneAsync(job.JobId)).State);
            Assert.Equal("cancelled", (await client.CancelFineTuneAsync(job.JobId)).State);
        }
        finally
        {
            var uncordoned = await adminHttp.PostAsync($"/v1/admin/silos/{Uri.EscapeDataString(silo.SiloId)}/uncordon", null);
            Assert.Equal(HttpStatusCode.OK, uncordoned.StatusCode);
        }

        Assert.False((await admin.ListSilosAsync()).Single().Cordoned);
        var drained = await adminHttp.PostAsync($"/v1/admin/silos/{Uri.EscapeDataString(silo.SiloId)}/drain", null);
        Assert.True((await drained.Content.ReadFromJsonAsync<SiloDto>())!.Draining);
        var undrained = await adminHttp.PostAsync($"/v1/admin/silos/{Uri.EscapeDataString(silo.SiloId)}/undrain", null);
        Assert.True((await undrained.Content.ReadFromJsonAsync<SiloDto>())!.AcceptsWork);
        Assert.Equal(HttpStatusCode.NotFound, (await adminHttp.PostAsync("/v1/admin/silos/no-such-silo/cordon", null)).StatusCode);
    }

    [Fact]
    public async Task Evaluations_on_kvg_synth_a_dataset_split_and_an_uploaded_benchmark_report_per_domain_confusion_and_errors()
    {
        var work = await DemoWorkRunner.EnsureAsync(host);
        var client = host.Client(host.DemoAdmin);
        var report = await client.GetEvaluationReportAsync(work.EvaluationId);
        Assert.Equal(3, report.Overall.Count);
        Assert.Equal(report.Overall.Count, report.PerDomain.Sum(d => d.Count));
        Assert.Equal(["correct", "wrong_box", "no_box"], report.Confusion.Columns);
        Assert.Equal(report.Overall.Count, report.Confusion.Rows.Values.Sum(r => r.Sum()));
        Assert.Equal(report.Overall.Count - report.Overall.Correct, report.ErrorGallery.Count);
        Assert.Equal(report.Overall.Accuracy, report.Metrics["accuracy"], 9);
        Assert.Equal(report.Overall.Count, (report.Seen?.Count ?? 0) + (report.Unseen?.Count ?? 0));
        AssertEntityMatrices(report);

        var onDataset = await client.CreateEvaluationAsync(new CreateEvaluationBody(DemoWorkRunner.Model, work.ModelVersion, "dataset",
            DatasetId: "kvg-synth", DatasetVersion: 1, Limit: 2, MaxNewTokens: 8));
        var onBenchmark = await client.CreateEvaluationAsync(new CreateEvaluationBody(DemoWorkRunner.Model, work.ModelVersion, "benchmark",
            BenchmarkId: work.BenchmarkId, MaxNewTokens: 8));
        foreach (var run in new[] { onDataset, onBenchmark })
        {
            var done = await ApiHostFixture.WaitAsync(() => client.GetEvaluationAsync(run.RunId), e => e.State is "succeeded" or "failed", run.Source);
            Assert.True(done.State == "succeeded", $"{done.Source}: {done.StatusMessage} {done.Error}");
            Assert.True(done.HasReport);
        }

        var datasetReport = await client.GetEvaluationReportAsync(onDataset.RunId);
        var benchmarkReport = await client.GetEvaluationReportAsync(onBenchmark.RunId);
        Assert.Equal(2, datasetReport.Overall.Count);
        Assert.Equal(2, benchmarkReport.Overall.Count);
        AssertEntityMatrices(datasetReport);
        AssertEntityMatrices(benchmarkReport);
        Assert.StartsWith("benchmark:", (await client.GetEvaluationAsync(onBenchmark.RunId)).Source, StringComparison.Ordinal);
    }

    /// <summary>
    /// The entity × entity matrices of a real run: one per domain, every item in exactly one cell, the diagonal equal to
    /// the correct count, unparsable answers under none, and (KVG-Synth images, whose every object is known) siblings named.
    /// </summary>
    private static void AssertEntityMatrices(EvaluationReportDto report)
    {
        var matrices = Assert.IsAssignableFrom<IReadOnlyList<EntityConfusionDto>>(report.Confusion.Entities);
        Assert.Equal(report.PerDomain.Select(d => d.Name), matrices.Select(m => m.Domain));
        foreach (var m in matrices)
        {
            var domain = report.PerDomain.Single(d => d.Name == m.Domain);
            Assert.Equal([.. m.Rows, "other", "none"], m.Columns);
            Assert.Equal(m.Rows.Count, m.Counts.Count);
            Assert.All(m.Counts, row => Assert.Equal(m.Columns.Count, row.Count));
            Assert.Equal(domain.Count, m.Items);
            Assert.Equal(domain.Count, m.Counts.Sum(row => row.Sum()));
            Assert.Equal(domain.Correct, m.Correct);
            Assert.Equal(domain.Correct, Enumerable.Range(0, m.Rows.Count).Sum(i => m.Counts[i][i]));
            Assert.True(m.Counts.Sum(row => row[^1]) >= report.Confusion.Rows[m.Domain][2], "every item without a box is under none");
            Assert.Equal(0, m.FoldedEntities);
            Assert.True(m.AllObjectsKnown, $"{m.Domain}: KVG-Synth items know every object of the image");
        }

        Assert.All(report.ErrorGallery, e => Assert.NotNull(e.Matched));
    }

    [Fact]
    public async Task Leaderboards_are_publicly_readable_and_list_a_submission_once_the_platform_scored_it()
    {
        var work = await DemoWorkRunner.EnsureAsync(host);
        var anonymous = host.Client(null);
        var empty = await anonymous.GetPublicLeaderboardAsync("demo", work.BoardId);
        Assert.Equal("benchmark:" + work.BenchmarkId, empty.Harness!.HarnessId);

        var client = host.Client(host.DemoAdmin);
        var submission = await client.SubmitToLeaderboardAsync(work.BoardId, new SubmitToLeaderboardBody(DemoWorkRunner.Model, work.ModelVersion));
        var board = await ApiHostFixture.WaitAsync(() => anonymous.GetPublicLeaderboardAsync("demo", work.BoardId),
            b => b.Entries.Any(e => e.RunId == submission.Run.RunId), "the leaderboard submission");
        var entry = board.Entries.Single(e => e.RunId == submission.Run.RunId);
        Assert.Equal(1, board.Entries.Min(e => e.Rank));
        Assert.Equal(work.ModelVersion, entry.ModelVersion);
        Assert.Equal(entry.Metrics["accuracy"], entry.Score, 9);
        var missing = await Assert.ThrowsAsync<DeepPerceptionApiException>(() => anonymous.GetPublicLeaderboardAsync("demo", "nope"));
        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
    }

    private static IReadOnlyDictionary<string, string> TrainingDefaults() =>
        DeepPerception.Api.Services.TrainingService.BuildRecipe(null).Settings;
}
