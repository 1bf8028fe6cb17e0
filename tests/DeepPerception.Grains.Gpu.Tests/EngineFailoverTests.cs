using System.Collections.Immutable;
using System.Security.Cryptography;
using DeepPerception.Abstractions.Datasets;
using DeepPerception.Abstractions.Models;
using DeepPerception.Abstractions.Tenancy;
using DeepPerception.Abstractions.Work;
using DeepPerception.Data.Synth;
using DeepPerception.Grains.Gpu;
using DeepPerception.Grains.Hosting;
using DeepPerception.Storage;
using DeepPerception.Storage.FileSystem;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.TestingHost;
using TorchSharp;

namespace DeepPerception.Grains.Gpu.Tests;

/// <summary>The platform's failover with the real engine: a GPU silo killed mid-job, the job resumes on the other one.</summary>
public sealed class EngineFailoverTests
{
    [Fact]
    public async Task A_job_whose_gpu_silo_is_killed_resumes_on_the_other_gpu_silo_with_the_same_final_model()
    {
        torch.set_num_threads(1);
        var root = Path.Combine(Path.GetTempPath(), $"dp-engine-cluster-{Guid.NewGuid():N}");
        var cluster = await EngineClusters.StartAsync(root, 3, o =>
        {
            o.MaxConcurrentWork = 1;
            o.SchedulerPassInterval = TimeSpan.FromMilliseconds(200);
        });
        try
        {
            var store = new FileSystemArtifactStore(new FileSystemArtifactStoreOptions { RootDirectory = Path.Combine(root, "artifacts"), FlushToDisk = false });
            var client = cluster.Client;
            var world = SynthWorld.Create(3);
            await client.GetGrain<ITenantGrain>("fo").CreateAsync(new CreateTenantRequest("Failover", "alice", 100_000, 600));
            var modelDir = Path.Combine(root, "base");
            TinyBaseModel.Create(modelDir, world.KnowledgeCorpus(), vocabSize: 420, seed: 11);
            await ArtifactFolders.UploadAsync(store, modelDir, "fo/models/tiny/base");
            var published = await SynthDatasetPublisher.PublishAsync(store, "fo/datasets/synth/v1",
                SynthSplits.Build(world, 8, 1, seed: 5, new SynthOptions { MinCanvas = 224, MaxCanvas = 224, MaxEntities = 3 }).Train, world.Knowledge);
            var dataset = client.GetGrain<IDatasetGrain>("fo/synth");
            await dataset.CreateAsync(new CreateDatasetRequest("Synth", null));
            await dataset.AddVersionAsync(new AddDatasetVersionRequest(published.SamplesIndexKey, published.SampleCount, null));
            foreach (var entry in published.KnowledgeBase)
            {
                await dataset.UpsertKnowledgeEntryAsync(entry);
            }

            await client.GetGrain<IModelGrain>("fo/tiny").CreateAsync(new CreateModelRequest("Tiny", "qwen2-vl-tiny", "fo/models/tiny/base"));
            var request = new FineTuneRequest("tiny", null, "synth", 1, EngineFixture.SftRecipe(steps: 40, checkpointEvery: 4), 100);

            await client.GetGrain<IFineTuneJobGrain>("fo/reference").SubmitAsync(request);
            var reference = await WaitForJobAsync(client, "fo/reference", s => s.State is WorkState.Succeeded or WorkState.Failed);
            Assert.True(reference.State == WorkState.Succeeded, reference.StatusMessage);

            await client.GetGrain<IFineTuneJobGrain>("fo/job").SubmitAsync(request);
            var running = await WaitForJobAsync(client, "fo/job", s => s.LastCheckpointKey is not null || s.State != WorkState.Queued && s.State != WorkState.Running);
            Assert.Equal(WorkState.Running, running.State);
            var victim = cluster.Silos.Single(s => s.SiloAddress.ToParsableString() == running.SiloId);
            Assert.NotEqual("Silo_0", victim.Name);
            await cluster.KillSiloAsync(victim);

            var done = await WaitForJobAsync(client, "fo/job", s => s.State is WorkState.Succeeded or WorkState.Failed);
            Assert.True(done.State == WorkState.Succeeded, done.StatusMessage);
            Assert.True(done.Attempt >= 2);
            Assert.NotEqual(running.SiloId, done.SiloId);
            Assert.True(done.Outcome!.Metrics["resumed_from_step"] >= 4, "the surviving attempt did not resume from a checkpoint");
            Assert.Equal(0, reference.Outcome!.Metrics["resumed_from_step"]);
            foreach (var metric in new[] { "sft_loss", "sft_first_loss", "steps" })
            {
                Assert.Equal(reference.Outcome!.Metrics[metric], done.Outcome!.Metrics[metric]);
            }

            Assert.Equal(await HashAsync(store, reference.Outcome!.OutputCheckpointKey + "/model.safetensors"),
                await HashAsync(store, done.Outcome!.OutputCheckpointKey + "/model.safetensors"));
        }
        finally
        {
            await cluster.DisposeAsync();
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
                // A killed silo's device thread may still be writing scratch files.
            }
        }
    }

    private static async Task<FineTuneJobStatus> WaitForJobAsync(IClusterClient client, string jobKey, Func<FineTuneJobStatus, bool> done)
    {
        // A guard against hanging forever, not a timing assertion.
        var deadline = DateTime.UtcNow.AddMinutes(4);
        var job = client.GetGrain<IFineTuneJobGrain>(jobKey);
        while (true)
        {
            var status = await job.GetStatusAsync();
            if (done(status))
            {
                return status;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Job {jobKey}: last status {status.State} '{status.StatusMessage}'.");
            }

            await Task.Delay(50);
        }
    }

    private static async Task<string> HashAsync(IArtifactStore store, string key) =>
        Convert.ToHexStringLower(SHA256.HashData((await store.GetAsync(key)).Content));
}
