using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Serving;
using DeepPerception.Data.Synth;
using DeepPerception.Grains.Gpu;
using DeepPerception.Grains.Hosting;
using DeepPerception.ML.Preprocessing.Images;
using DeepPerception.Storage.FileSystem;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.TestingHost;
using TorchSharp;

namespace DeepPerception.Grains.Gpu.Tests;

/// <summary>Ground requests through a real cluster: a control silo and a GPU silo with the engine.</summary>
public sealed class GroundingClusterTests
{
    [Fact]
    public async Task Requests_reach_the_gpu_silo_are_batched_there_and_stream_through_the_grain()
    {
        torch.set_num_threads(1);
        var root = Path.Combine(Path.GetTempPath(), $"dp-ground-cluster-{Guid.NewGuid():N}");
        var cluster = await EngineClusters.StartAsync(root, 2, engine: o =>
        {
            o.ServingMaxBatchSize = 3;
            o.ServingMaxWaitMs = 10_000;
            o.ServingAdaptiveWait = false;
            o.ServingMaxPixels = 112 * 112;
        });
        try
        {
            var store = new FileSystemArtifactStore(new FileSystemArtifactStoreOptions { RootDirectory = Path.Combine(root, "artifacts"), FlushToDisk = false });
            var modelDir = Path.Combine(root, "base");
            TinyBaseModel.Create(modelDir, SynthWorld.Create(3).KnowledgeCorpus(), vocabSize: 420, seed: 11);
            const string checkpoint = "gc/models/tiny/base";
            await ArtifactFolders.UploadAsync(store, modelDir, checkpoint);
            var grain = cluster.Client.GetGrain<IGroundingGrain>(checkpoint);
            var image = SafeImageDecoder.EncodePng(RgbImage.Filled(64, 48, 200, 40, 40));
            GroundWork Work(int i) => new($"r{i}", "gc", checkpoint, image, $"the entity {i}", new GroundSettings(MaxNewTokens: 8));

            var answers = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => grain.GroundAsync(Work(i))));
            var gpuSilo = cluster.Silos.Single(s => s.Name != "Silo_0").SiloAddress.ToParsableString();
            Assert.All(answers, a => Assert.Equal(3, a.Timings.BatchSize));
            Assert.All(answers, a => Assert.Equal(gpuSilo, a.SiloId));
            Assert.Equal(["r0", "r1", "r2"], answers.Select(a => a.RequestId));

            var events = new List<GroundStreamEvent>();
            var streamed = Task.Run(async () =>
            {
                await foreach (var e in grain.GroundStreamAsync(Work(0)))
                {
                    events.Add(e);
                }
            });
            var companions = Task.WhenAll(grain.GroundAsync(Work(1)), grain.GroundAsync(Work(2)));
            await Task.WhenAll(streamed, companions);
            Assert.Equal("final", events[^1].Kind);
            Assert.All(events[..^1], e => Assert.Equal("token", e.Kind));
            Assert.Equal(events[^1].Final!.Text, string.Concat(events[..^1].Select(e => e.Text)));
            Assert.Equal(answers[0].Text, events[^1].Final!.Text);

            var foreign = await Assert.ThrowsAsync<AccessDeniedException>(() => grain.GroundAsync(Work(0) with { TenantId = "other" }));
            Assert.Contains("gc/models/tiny/base", foreign.Message, StringComparison.Ordinal);
            var stats = await grain.GetStatsAsync();
            Assert.Equal(gpuSilo, stats.SiloId);
            Assert.Equal(2, stats.Batches);
            Assert.Equal(checkpoint, Assert.Single(stats.LoadedCheckpoints));
        }
        finally
        {
            await cluster.DisposeAsync();
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }
}
