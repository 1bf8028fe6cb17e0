using System.Collections.Concurrent;
using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Serving;
using DeepPerception.Grains.Gpu;
using DeepPerception.Storage;
using DeepPerception.ML.Preprocessing.Images;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DeepPerception.Grains.Gpu.Tests;

/// <summary>The serving path with the real engine: hardened decoding, dynamic batching, streaming and the model cache.</summary>
public sealed class EngineGroundingRunnerTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    private static readonly GroundSettings Settings = new(MaxNewTokens: 12);

    private EngineGroundingRunner NewRunner(int maxBatch, double maxWaitMs, string name) => new(fixture.Store, fixture.Worker,
        Options.Create(new EngineGpuWorkerOptions
        {
            WorkDirectory = Path.Combine(fixture.Root, "serving-" + name),
            ServingMaxBatchSize = maxBatch,
            ServingMaxWaitMs = maxWaitMs,
            ServingAdaptiveWait = false,
            ServingMaxPixels = EngineFixture.MaxPixels,
        }), NullLogger<EngineGroundingRunner>.Instance);

    private static byte[] Picture(int seed, int width = 96, int height = 80)
    {
        var pixels = new byte[width * height * 3];
        var random = new Random(seed);
        random.NextBytes(pixels);
        return SafeImageDecoder.EncodePng(new RgbImage(width, height, pixels));
    }

    private static GroundWork Work(int seed, string query = "the Blue Jay") =>
        new($"req-{seed}", EngineFixture.Tenant, EngineFixture.BaseModelKey, Picture(seed), query, Settings);

    [Fact]
    public async Task Concurrent_requests_are_batched_and_answer_exactly_as_they_do_alone()
    {
        await using var alone = NewRunner(maxBatch: 1, maxWaitMs: 0, "alone");
        var single = new List<GroundOutcome>();
        for (var i = 0; i < 4; i++)
        {
            single.Add(await alone.GroundAsync(Work(i, $"entity {i}"), null, CancellationToken.None));
        }

        Assert.All(single, o => Assert.Equal(1, o.Timings.BatchSize));
        Assert.Single(alone.LoadedCheckpoints);

        // Alone, requests 1–3 were preprocessed on arrival (the first load made the processor known); together, all four
        // arrive before the model is loaded and are preprocessed in the batch: the answers must not differ.
        await using var batched = NewRunner(maxBatch: 4, maxWaitMs: 10_000, "batched");
        var together = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => batched.GroundAsync(Work(i, $"entity {i}"), null, CancellationToken.None)));
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(4, together[i].Timings.BatchSize);
            Assert.Equal($"req-{i}", together[i].RequestId);
            Assert.Equal(single[i].Text, together[i].Text);
            Assert.Equal(single[i].GeneratedTokens, together[i].GeneratedTokens);
            Assert.Equal(96, together[i].ImageWidth);
            Assert.Equal(80, together[i].ImageHeight);
            Assert.Equal("qwen2-vl", together[i].BoxConvention);
            Assert.Contains(together[i].ParseStatus, new[] { "parsed", "no_match", "conversion_failed" });
            Assert.True(together[i].GpuSeconds > 0);
            Assert.True(together[i].GpuSeconds < together[i].Timings.ModelMs / 1000.0 + 1e-9);
        }

        var stats = batched.GetStats("silo");
        Assert.Equal(1, stats.Batches);
        Assert.Equal(4, stats.Requests);
    }

    [Fact]
    public async Task A_streamed_request_emits_deltas_that_add_up_to_the_final_text()
    {
        await using var runner = NewRunner(maxBatch: 4, maxWaitMs: 1, "stream");
        var deltas = new ConcurrentQueue<string>();
        var outcome = await runner.GroundAsync(Work(11), deltas.Enqueue, CancellationToken.None);
        Assert.NotEmpty(deltas);
        Assert.Equal(outcome.Text, string.Concat(deltas));
    }

    [Fact]
    public async Task Hostile_images_and_bad_settings_are_refused_with_a_typed_reason_and_the_runner_keeps_serving()
    {
        await using var runner = NewRunner(maxBatch: 2, maxWaitMs: 1, "hostile");
        var truncated = Picture(3)[..60];
        var error = await Assert.ThrowsAsync<ImageRefusedException>(() =>
            runner.GroundAsync(Work(3) with { Image = truncated }, null, CancellationToken.None));
        Assert.Equal("Truncated", error.Reason);
        Assert.Contains("PNG", error.Message, StringComparison.OrdinalIgnoreCase);
        await Assert.ThrowsAsync<ImageRefusedException>(() =>
            runner.GroundAsync(Work(3) with { Image = "not an image at all"u8.ToArray() }, null, CancellationToken.None));
        var setting = await Assert.ThrowsAsync<InvalidRequestException>(() =>
            runner.GroundAsync(Work(3) with { Settings = Settings with { MaxNewTokens = 0 } }, null, CancellationToken.None));
        Assert.Contains("maxNewTokens", setting.Message, StringComparison.Ordinal);
        var missing = await Assert.ThrowsAsync<ResourceNotFoundException>(() =>
            runner.GroundAsync(Work(3) with { CheckpointKey = "acme/models/none/v9" }, null, CancellationToken.None));
        Assert.Contains("acme/models/none/v9", missing.Message, StringComparison.Ordinal);
        var fine = await runner.GroundAsync(Work(4), null, CancellationToken.None);
        Assert.Equal("req-4", fine.RequestId);
    }

    [Fact]
    public async Task A_lora_version_is_served_as_an_adapter_on_the_shared_base_in_one_batch_with_base_requests()
    {
        var settings = System.Collections.Immutable.ImmutableDictionary<string, string>.Empty
            .Add("stages", "sft+grpo").Add("lora_rank", "4").Add("grpo_steps", "2").Add("generations", "2").Add("max_completion_length", "8");
        var spec = fixture.Spec("served-lora", EngineFixture.SftRecipe(steps: 6, checkpointEvery: 0, settings) with { LearningRate = 5e-2 });
        var outcome = await fixture.Runner.RunFineTuneAsync(spec, null, new RecordingProgress(), CancellationToken.None);
        Assert.Equal(DeepPerception.Abstractions.Work.OutcomeKind.Succeeded, outcome.Kind);
        Assert.Equal(EngineFixture.BaseModelKey, await ServingAdapter.ReadBaseAsync(fixture.Store, spec.OutputKey, CancellationToken.None));

        // The same version without its adapter folder is served from its merged weights: the reference.
        var mergedKey = "acme/models/tiny/merged-copy";
        await foreach (var item in fixture.Store.ListAsync(spec.OutputKey + "/"))
        {
            if (!item.Key.Contains("/adapter/", StringComparison.Ordinal) && !item.Key.EndsWith("/manifest.json", StringComparison.Ordinal))
            {
                var content = await fixture.Store.GetAsync(item.Key);
                await fixture.Store.PutBytesAsync(mergedKey + item.Key[spec.OutputKey.Length..], content.Content);
            }
        }

        await using var runner = NewRunner(maxBatch: 3, maxWaitMs: 10_000, "lora");
        var together = await Task.WhenAll(
            runner.GroundAsync(Work(21) with { CheckpointKey = spec.OutputKey }, null, CancellationToken.None),
            runner.GroundAsync(Work(22), null, CancellationToken.None),
            runner.GroundAsync(Work(23) with { CheckpointKey = spec.OutputKey }, null, CancellationToken.None));
        Assert.All(together, o => Assert.Equal(3, o.Timings.BatchSize));
        Assert.Equal(spec.OutputKey, together[0].CheckpointKey);
        Assert.Equal(EngineFixture.BaseModelKey, together[1].CheckpointKey);
        Assert.Equal([EngineFixture.BaseModelKey, spec.OutputKey], runner.LoadedCheckpoints);

        await using var reference = NewRunner(maxBatch: 1, maxWaitMs: 0, "lora-reference");
        var merged = await reference.GroundAsync(Work(21) with { CheckpointKey = mergedKey }, null, CancellationToken.None);
        var baseAlone = await reference.GroundAsync(Work(22), null, CancellationToken.None);
        Assert.Equal(merged.Text, together[0].Text);
        Assert.Equal(baseAlone.Text, together[1].Text);
        Assert.NotEqual(baseAlone.Text, merged.Text);
    }

    [Fact]
    public void Reasoning_is_the_think_block_and_status_names_are_stable()
    {
        Assert.Equal("stripes on the wing", EngineGroundingRunner.Reasoning("<think> stripes on the wing </think><answer>(1,2),(3,4)</answer>"));
        Assert.Null(EngineGroundingRunner.Reasoning("<answer>(1,2),(3,4)</answer>"));
        Assert.Equal("no_match", EngineGroundingRunner.StatusName(DeepPerception.Kvg.ParseStatus.NoMatch));
    }
}
