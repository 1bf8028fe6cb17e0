using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text.Json;
using DeepPerception.Abstractions.Models;
using DeepPerception.Abstractions.Work;
using DeepPerception.Data.Synth;
using DeepPerception.Grains.Gpu;
using DeepPerception.Storage;

namespace DeepPerception.Grains.Gpu.Tests;

/// <summary>The engine runner end to end on a tiny model: SFT, checkpoints, resume, GRPO with LoRA, evaluation.</summary>
public sealed class EngineGpuWorkRunnerTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    [Fact]
    public async Task Sft_fine_tune_succeeds_loss_falls_and_checkpoints_are_stored()
    {
        var spec = fixture.Spec("sft-basic", EngineFixture.SftRecipe(steps: 12, checkpointEvery: 4));
        var progress = new RecordingProgress();
        var outcome = await fixture.Runner.RunFineTuneAsync(spec, null, progress, CancellationToken.None);

        Assert.Equal(OutcomeKind.Succeeded, outcome.Kind);
        Assert.Equal(spec.OutputKey, outcome.OutputCheckpointKey);
        Assert.True(outcome.Metrics["sft_loss"] < outcome.Metrics["sft_first_loss"],
            $"loss did not fall: {outcome.Metrics["sft_first_loss"]} -> {outcome.Metrics["sft_loss"]}");
        Assert.True(outcome.GpuSeconds > 0);

        var checkpoints = progress.Reports.Where(p => p.CheckpointKey is not null).Select(p => p.CheckpointKey!).ToList();
        Assert.Equal([$"{spec.CheckpointPrefix}/sft/checkpoint-000004", $"{spec.CheckpointPrefix}/sft/checkpoint-000008",
            $"{spec.CheckpointPrefix}/sft/checkpoint-000012"], checkpoints);
        foreach (var key in checkpoints)
        {
            Assert.True(await ArtifactFolders.IsCompleteAsync(fixture.Store, key));
            Assert.True(await fixture.Store.ExistsAsync($"{key}/trainer_state.json"));
            Assert.True(await fixture.Store.ExistsAsync($"{key}/optimizer.safetensors"));
        }

        var steps = progress.Reports.Where(p => p.Message == "sft").Select(p => p.Step).ToList();
        Assert.Equal(steps.Order().ToList(), steps);
        Assert.All(progress.Reports, p => Assert.Equal(12, p.TotalSteps));
        Assert.All(progress.Reports.Where(p => p.Message == "sft"), p => Assert.True(p.Metrics.ContainsKey("loss")));

        Assert.True(await ArtifactFolders.IsCompleteAsync(fixture.Store, spec.OutputKey));
        foreach (var file in new[] { "config.json", "model.safetensors", "tokenizer.json" })
        {
            Assert.True(await fixture.Store.ExistsAsync($"{spec.OutputKey}/{file}"), file);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Run_cancelled_after_a_checkpoint_and_resumed_from_it_ends_like_an_uninterrupted_run(bool groupByLength)
    {
        var settings = groupByLength ? ImmutableDictionary<string, string>.Empty.Add("group_by_length", "true") : null;
        var recipe = EngineFixture.SftRecipe(steps: 24, checkpointEvery: 2, settings);
        var name = groupByLength ? "sft-resume-grouped" : "sft-resume";
        var full = fixture.Spec(name, recipe, attempt: 1);
        var uninterrupted = await fixture.Runner.RunFineTuneAsync(full, null, new RecordingProgress(), CancellationToken.None);

        using var cts = new CancellationTokenSource();
        string? reported = null;
        var killed = fixture.Spec(name + "-b", recipe, attempt: 1);
        var progress = new RecordingProgress(p =>
        {
            if (p.CheckpointKey is not null && reported is null)
            {
                reported = p.CheckpointKey;
                cts.Cancel();
            }
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fixture.Runner.RunFineTuneAsync(killed, null, progress, cts.Token));
        Assert.NotNull(reported);
        Assert.False(await fixture.Store.ExistsAsync($"{killed.OutputKey}/{ArtifactFolders.ManifestFile}"));

        var resumed = fixture.Spec(name + "-b", recipe, attempt: 2);
        var resumedProgress = new RecordingProgress();
        var outcome = await fixture.Runner.RunFineTuneAsync(resumed, reported, resumedProgress, CancellationToken.None);

        Assert.Equal(OutcomeKind.Succeeded, outcome.Kind);
        var resumedFrom = int.Parse(reported![^6..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(resumedFrom + 1, resumedProgress.Reports.First(p => p.Message == "sft").Step);
        Assert.Equal(resumedFrom, outcome.Metrics["resumed_from_step"]);
        foreach (var metric in new[] { "sft_loss", "sft_first_loss", "sft_steps", "loss", "steps" })
        {
            Assert.Equal(uninterrupted.Metrics[metric], outcome.Metrics[metric]);
        }

        Assert.Equal(await HashAsync(full.OutputKey + "/model.safetensors"), await HashAsync(resumed.OutputKey + "/model.safetensors"));
        if (groupByLength)
        {
            // The setting reaches the trainer: the same recipe without it batches the examples in another order.
            var plain = fixture.Spec("sft-resume-grouped-plain", EngineFixture.SftRecipe(steps: 24, checkpointEvery: 2), attempt: 1);
            await fixture.Runner.RunFineTuneAsync(plain, null, new RecordingProgress(), CancellationToken.None);
            Assert.NotEqual(await HashAsync(full.OutputKey + "/model.safetensors"), await HashAsync(plain.OutputKey + "/model.safetensors"));
        }
    }

    [Fact]
    public async Task Cot_sft_then_grpo_with_lora_produces_a_merged_model_that_keeps_its_combined_adapter()
    {
        var settings = ImmutableDictionary<string, string>.Empty
            .Add("stages", "sft+grpo").Add("lora_rank", "4").Add("grpo_steps", "2").Add("generations", "2")
            .Add("max_completion_length", "8");
        var spec = fixture.Spec("sft-grpo", EngineFixture.SftRecipe(steps: 2, checkpointEvery: 1, settings));
        var progress = new RecordingProgress();
        var outcome = await fixture.Runner.RunFineTuneAsync(spec, null, progress, CancellationToken.None);

        Assert.Equal(OutcomeKind.Succeeded, outcome.Kind);
        Assert.Equal(4, outcome.Metrics["steps"]);
        Assert.Equal(2, outcome.Metrics["grpo_steps"]);
        Assert.Contains(progress.Reports, p => p.CheckpointKey == $"{spec.CheckpointPrefix}/grpo/checkpoint-000001");
        Assert.Contains(progress.Reports, p => p.Step == 4 && p.CheckpointKey == $"{spec.CheckpointPrefix}/grpo/checkpoint-000002");
        Assert.True(await ArtifactFolders.IsCompleteAsync(fixture.Store, $"{spec.CheckpointPrefix}/grpo-base"));
        // The output is a merged model folder (loadable as is, exportable to HF) that also keeps the LoRA delta of both
        // stages, as one PEFT adapter of rank 8 (4 per stage), against the weights the job started from.
        var files = await fixture.Store.ListAllAsync(spec.OutputKey + "/");
        Assert.Contains(files, f => f.Key.EndsWith("/model.safetensors", StringComparison.Ordinal));
        Assert.DoesNotContain(files, f => f.Key.EndsWith("/model.safetensors", StringComparison.Ordinal) && f.Key.Contains("/adapter/", StringComparison.Ordinal));
        Assert.Contains(files, f => f.Key == $"{spec.OutputKey}/adapter/adapter_model.safetensors");
        var config = await fixture.Store.GetTextAsync($"{spec.OutputKey}/adapter/adapter_config.json");
        Assert.Contains("\"r\": 8", config, StringComparison.Ordinal);
        Assert.Equal(EngineFixture.BaseModelKey, await ServingAdapter.ReadBaseAsync(fixture.Store, spec.OutputKey, CancellationToken.None));

        // The GRPO stage's rollout gallery: one file per step, each prompt's image once, boxes where a box parsed.
        var attempt = RolloutLog.AttemptFolder(spec.CheckpointPrefix);
        var rollouts = await fixture.Store.ListAllAsync(RolloutLog.Folder(attempt));
        Assert.Equal([RolloutLog.StepKey(attempt, 1), RolloutLog.StepKey(attempt, 2)],
            rollouts.Select(f => f.Key).Where(k => k.EndsWith(".json", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList());
        var samples = await PlatformDataset.LoadAsync(fixture.Store, spec.SamplesIndexKey, CancellationToken.None);
        for (var step = 1; step <= 2; step++)
        {
            var file = JsonSerializer.Deserialize<RolloutStepRecord>((await fixture.Store.GetAsync(RolloutLog.StepKey(attempt, step))).Content, RolloutLog.Json)!;
            Assert.Equal(step, file.Step);
            Assert.Equal(2 * 2, file.Samples.Count); // batch 2 prompts x 2 generations
            foreach (var r in file.Samples)
            {
                var sample = Assert.Single(samples, s => s.Id == r.PromptId);
                Assert.Equal(sample.Entity, r.Entity);
                Assert.Equal([sample.Box.X1, sample.Box.Y1, sample.Box.X2, sample.Box.Y2], r.True);
                Assert.Equal(["accuracy", "format"], r.Rewards.Keys.Order(StringComparer.Ordinal).ToList());
                Assert.Equal(r.Rewards.Values.Sum(), r.Total, 9);
                Assert.InRange(r.Length, 1, 8);
                var parsed = DeepPerception.Kvg.KvgAnswerParser.Parse(r.Completion);
                Assert.Equal(parsed.IsFailure, r.Predicted is null);
                Assert.True(await fixture.Store.ExistsAsync(r.ImageKey), r.ImageKey);
                Assert.Equal(RolloutLog.ImageKey(attempt, RolloutGalleryWriter.ImageId(r.PromptId)), r.ImageKey);
                var png = (await fixture.Store.GetAsync(r.ImageKey)).Content;
                Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
            }
        }
    }

    [Fact]
    public async Task Rollout_gallery_writes_parsed_boxes_uploads_images_once_and_keeps_the_last_steps()
    {
        var samples = await PlatformDataset.LoadAsync(fixture.Store, fixture.Dataset.SamplesIndexKey, CancellationToken.None);
        var first = samples[0];
        var prefix = $"{EngineFixture.Tenant}/jobs/gallery/attempt-3/checkpoints";
        var attempt = RolloutLog.AttemptFolder(prefix);
        var writer = new RolloutGalleryWriter(fixture.Store, prefix, samples, keep: 2);
        var rewards = new Dictionary<string, double> { ["accuracy"] = 0.5, ["format"] = 1 };
        for (var step = 1; step <= 3; step++)
        {
            writer.Add(new ML.Training.RolloutSample(step, first.Id, 0, "<answer> the box (100,200),(300,400) </answer>", rewards, 1.5, 0.7, 12));
            writer.Add(new ML.Training.RolloutSample(step, first.Id, 1, "no box here", rewards, 1, -0.7, 3));
        }

        writer.Flush();
        var keys = (await fixture.Store.ListAllAsync(RolloutLog.Folder(attempt))).Select(f => f.Key).Order(StringComparer.Ordinal).ToList();
        Assert.Equal([RolloutLog.ImageKey(attempt, RolloutGalleryWriter.ImageId(first.Id)), RolloutLog.StepKey(attempt, 2), RolloutLog.StepKey(attempt, 3)], keys);
        var file = JsonSerializer.Deserialize<RolloutStepRecord>((await fixture.Store.GetAsync(RolloutLog.StepKey(attempt, 3))).Content, RolloutLog.Json)!;
        Assert.Equal(3, file.Step);
        Assert.Equal([100.0, 200, 300, 400], file.Samples[0].Predicted!);
        Assert.Null(file.Samples[1].Predicted);
        Assert.Equal(-0.7, file.Samples[1].Advantage);
        Assert.Equal(first.Entity, file.Samples[0].Entity);

        writer.Add(new ML.Training.RolloutSample(4, "not-a-sample", 0, "x", rewards, 0, 0, 1));
        var error = Assert.Throws<InvalidOperationException>(writer.Flush);
        Assert.Contains("not-a-sample", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Evaluation_on_a_kvg_synth_split_returns_metrics_and_a_report()
    {
        var harness = new HarnessDescriptor("kvg-synth", "1", "acme/benchmarks/kvg-synth", string.Empty, "accuracy",
            ImmutableDictionary<string, string>.Empty.Add("source", "kvg-synth").Add("world_seed", "3").Add("split_seed", "9")
                .Add("test_count", "4").Add("min_canvas", "224").Add("max_canvas", "224").Add("max_new_tokens", "12")
                .Add("max_pixels", EngineFixture.MaxPixels.ToString(System.Globalization.CultureInfo.InvariantCulture)).Add("batch_size", "2"));
        var spec = new EvaluationSpec("acme/eval-1", "acme", EngineFixture.BaseModelKey, harness, "acme/evaluations/eval-1");
        var progress = new RecordingProgress();
        var outcome = await fixture.Runner.RunEvaluationAsync(spec, progress, CancellationToken.None);

        Assert.Equal(OutcomeKind.Succeeded, outcome.Kind);
        Assert.Equal(4, outcome.Metrics["count"]);
        Assert.InRange(outcome.Metrics["accuracy"], 0, 1);
        Assert.InRange(outcome.Metrics["mean_iou"], 0, 1);
        Assert.Contains(outcome.Metrics.Keys, k => k.StartsWith("accuracy.", StringComparison.Ordinal));
        Assert.Equal("acme/evaluations/eval-1/report.json", outcome.ReportKey);
        var report = await fixture.Store.GetTextAsync(outcome.ReportKey!);
        Assert.Contains("\"metrics\"", report, StringComparison.Ordinal);
        Assert.Equal(4, progress.Reports.Last().Step);

        // Every item names what its box landed on; KVG-Synth items know all objects of their image.
        using var doc = System.Text.Json.JsonDocument.Parse(report);
        var items = doc.RootElement.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(4, items.Count);
        foreach (var item in items)
        {
            var match = item.GetProperty("match").GetString();
            Assert.Contains(match, new[] { "target", "other_entity", "other", "none" });
            Assert.Equal(item.GetProperty("correct").GetBoolean(), match == "target");
            Assert.True(item.GetProperty("objectsKnown").GetBoolean());
            if (item.GetProperty("prediction").ValueKind == System.Text.Json.JsonValueKind.Null)
            {
                Assert.Equal("none", match);
            }
            else
            {
                Assert.Equal(4, item.GetProperty("prediction").GetArrayLength());
            }

            if (match == "target")
            {
                Assert.Equal(item.GetProperty("entity").GetString(), item.GetProperty("matched").GetString());
            }
        }
    }

    [Fact]
    public async Task Evaluation_on_a_stored_parquet_checks_the_pinned_hash()
    {
        var world = fixture.World;
        var samples = SynthSplits.Build(world, 1, 2, seed: 4, new SynthOptions { MinCanvas = 224, MaxCanvas = 224, MaxEntities = 3 }).Test;
        var path = Path.Combine(fixture.Root, "bench.parquet");
        await SynthExporter.ExportKvgParquetAsync(samples, path);
        var bytes = await File.ReadAllBytesAsync(path);
        await fixture.Store.PutBytesAsync("acme/benchmarks/mini.parquet", bytes);
        var settings = ImmutableDictionary<string, string>.Empty.Add("max_new_tokens", "8")
            .Add("max_pixels", EngineFixture.MaxPixels.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var good = new HarnessDescriptor("kvg-bench", "1", "acme/benchmarks/mini.parquet", Convert.ToHexStringLower(SHA256.HashData(bytes)),
            "accuracy", settings);
        var outcome = await fixture.Runner.RunEvaluationAsync(
            new EvaluationSpec("acme/eval-2", "acme", EngineFixture.BaseModelKey, good, "acme/evaluations/eval-2"), new RecordingProgress(), CancellationToken.None);
        Assert.Equal(2, outcome.Metrics["count"]);

        var pinnedOther = good with { BenchmarkSha256 = new string('0', 64) };
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => fixture.Runner.RunEvaluationAsync(
            new EvaluationSpec("acme/eval-3", "acme", EngineFixture.BaseModelKey, pinnedOther, "acme/evaluations/eval-3"), new RecordingProgress(), CancellationToken.None));
        Assert.Contains("SHA-256", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Recipe_settings_are_validated()
    {
        var bad = EngineFixture.SftRecipe(4, 2, ImmutableDictionary<string, string>.Empty.Add("learning_rat", "1"));
        var error = Assert.Throws<InvalidRecipeException>(() => EngineRecipe.From(bad));
        Assert.Contains("learning_rat", error.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidRecipeException>(() => EngineRecipe.From(EngineFixture.SftRecipe(4, 2,
            ImmutableDictionary<string, string>.Empty.Add("stages", "grpo+sft"))));
        Assert.Throws<InvalidRecipeException>(() => EngineRecipe.From(EngineFixture.SftRecipe(0, 2)));
        var lora = EngineRecipe.From(EngineFixture.SftRecipe(4, 2, ImmutableDictionary<string, string>.Empty.Add("lora_rank", "8")));
        Assert.Equal(8, lora.Lora!.Rank);
        Assert.Equal([EngineStage.Sft], lora.Stages);
        Assert.False(lora.GroupByLength);
        Assert.True(EngineRecipe.From(EngineFixture.SftRecipe(4, 2, ImmutableDictionary<string, string>.Empty.Add("group_by_length", "true"))).GroupByLength);
        var grouping = Assert.Throws<InvalidRecipeException>(() => EngineRecipe.From(EngineFixture.SftRecipe(4, 2,
            ImmutableDictionary<string, string>.Empty.Add("group_by_length", "yes"))));
        Assert.Contains("'group_by_length' must be true or false (got 'yes')", grouping.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_knowledge_for_cot_targets_is_a_clear_error()
    {
        var spec = fixture.Spec("no-knowledge", EngineFixture.SftRecipe(2, 0)) with { KnowledgeBase = [] };
        var error = await Assert.ThrowsAsync<DatasetFormatException>(() =>
            fixture.Runner.RunFineTuneAsync(spec, null, new RecordingProgress(), CancellationToken.None));
        Assert.Contains("knowledge base", error.Message, StringComparison.Ordinal);
    }

    private async Task<string> HashAsync(string key) =>
        Convert.ToHexStringLower(SHA256.HashData((await fixture.Store.GetAsync(key)).Content));
}
