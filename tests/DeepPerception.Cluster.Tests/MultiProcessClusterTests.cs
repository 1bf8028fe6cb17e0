using System.Diagnostics;
using System.Security.Cryptography;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using DeepPerception.Abstractions.Datasets;
using DeepPerception.Abstractions.Models;
using DeepPerception.Abstractions.Tenancy;
using DeepPerception.Abstractions.Work;
using DeepPerception.Cluster.Tests.Infrastructure;
using DeepPerception.Data.Synth;
using DeepPerception.Grains.Gpu;
using DeepPerception.Storage;
using DeepPerception.Storage.AzureBlob;
using DeepPerception.Tests.Shared;
using TorchSharp;
using Xunit.Abstractions;

namespace DeepPerception.Cluster.Tests;

/// <summary>
/// The platform as separate processes of the real host executable on loopback: Azurite for Azure Table clustering,
/// Azure Blob grain storage and the Azure Blob artifact store; an Orleans client in the test process.
/// </summary>
public sealed class MultiProcessClusterTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"dp-multiprocess-{Guid.NewGuid():N}");
    private readonly string _clusterId = $"mp-{Guid.NewGuid():N}";
    private readonly List<HostProcess> _processes = [];

    [Fact]
    public async Task A_job_whose_gpu_silo_process_is_killed_finishes_on_the_other_gpu_silo_with_the_same_final_weights()
    {
        torch.set_num_threads(1);
        await using var azurite = await AzuriteEmulator.StartNewAsync();
        var control = StartHost("control", "control", azurite, new Dictionary<string, string> { ["DeepPerception:Dashboard"] = "true" });
        await control.WaitForHttpAsync("/health/live");
        var gpuA = StartHost("gpu-a", "gpu", azurite);
        var gpuB = StartHost("gpu-b", "gpu", azurite);
        await using var platform = await PlatformClient.ConnectAsync(azurite.ConnectionString, _clusterId);
        var client = platform.Client;
        await platform.WaitForGpuSilosAsync(2, Diagnostics);
        await control.WaitForHttpAsync("/health/ready");
        await control.WaitForHttpAsync("/dashboard/");

        // A tenant with a tiny base model and a small KVG-Synth dataset in the Azure Blob artifact store.
        var store = new AzureBlobArtifactStore(new AzureBlobArtifactStoreOptions { ConnectionString = azurite.ConnectionString });
        var world = SynthWorld.Create(3);
        await client.GetGrain<ITenantGrain>("mp").CreateAsync(new CreateTenantRequest("Multi-process", "alice", 100_000, 600));
        var modelDir = Path.Combine(_root, "base");
        TinyBaseModel.Create(modelDir, world.KnowledgeCorpus(), vocabSize: 420, seed: 11);
        await ArtifactFolders.UploadAsync(store, modelDir, "mp/models/tiny/base");
        var published = await SynthDatasetPublisher.PublishAsync(store, "mp/datasets/synth/v1",
            SynthSplits.Build(world, 8, 1, seed: 5, new SynthOptions { MinCanvas = 224, MaxCanvas = 224, MaxEntities = 3 }).Train,
            world.Knowledge);
        var dataset = client.GetGrain<IDatasetGrain>("mp/synth");
        await dataset.CreateAsync(new CreateDatasetRequest("Synth", null));
        await dataset.AddVersionAsync(new AddDatasetVersionRequest(published.SamplesIndexKey, published.SampleCount, null));
        foreach (var entry in published.KnowledgeBase)
        {
            await dataset.UpsertKnowledgeEntryAsync(entry);
        }

        await client.GetGrain<IModelGrain>("mp/tiny").CreateAsync(new CreateModelRequest("Tiny", "qwen2-vl-tiny", "mp/models/tiny/base"));
        var recipe = new TrainingRecipe(FineTuneMethod.Sft, 24, 2e-3, 2, 4, 17,
            System.Collections.Immutable.ImmutableDictionary<string, string>.Empty.Add("max_pixels", (112 * 112).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var request = new FineTuneRequest("tiny", null, "synth", 1, recipe, 100);

        // Reference: an uninterrupted run.
        await client.GetGrain<IFineTuneJobGrain>("mp/reference").SubmitAsync(request);
        var reference = await platform.WaitForJobAsync("mp/reference", s => s.State is WorkState.Succeeded or WorkState.Failed, Diagnostics);
        Assert.True(reference.State == WorkState.Succeeded, reference.StatusMessage + Diagnostics());

        // The same job; its GPU silo process is killed (SIGKILL) once it has a checkpoint.
        await client.GetGrain<IFineTuneJobGrain>("mp/job").SubmitAsync(request);
        var running = await platform.WaitForJobAsync("mp/job",
            s => s.LastCheckpointKey is not null || s.State is not (WorkState.Queued or WorkState.Running), Diagnostics);
        Assert.True(running.State == WorkState.Running, $"The job was not running at its first checkpoint: {running.State} '{running.StatusMessage}'");
        var victim = new[] { gpuA, gpuB }.SingleOrDefault(p => p.Owns(running.SiloId))
                     ?? throw new InvalidOperationException($"No GPU silo process owns silo {running.SiloId}.{Diagnostics()}");
        var survivor = victim == gpuA ? gpuB : gpuA;
        victim.Kill();

        var done = await platform.WaitForJobAsync("mp/job", s => s.State is WorkState.Succeeded or WorkState.Failed, Diagnostics);
        Assert.True(done.State == WorkState.Succeeded, done.StatusMessage + Diagnostics());
        Assert.True(done.Attempt >= 2, $"The job finished in attempt {done.Attempt}; it was not interrupted by the kill.");
        Assert.True(survivor.Owns(done.SiloId), $"The job finished on {done.SiloId}, not on the surviving GPU silo {survivor.Name}.");
        Assert.True(done.Outcome!.Metrics["resumed_from_step"] >= 4, "the surviving attempt did not resume from a checkpoint");
        Assert.Equal(0, reference.Outcome!.Metrics["resumed_from_step"]);
        foreach (var metric in new[] { "sft_loss", "sft_first_loss", "steps" })
        {
            Assert.Equal(reference.Outcome.Metrics[metric], done.Outcome.Metrics[metric]);
        }

        Assert.Equal(await HashAsync(store, reference.Outcome.OutputCheckpointKey + "/model.safetensors"),
            await HashAsync(store, done.Outcome.OutputCheckpointKey + "/model.safetensors"));
        Assert.False(control.HasExited);
        Assert.False(survivor.HasExited);
    }

    [Fact]
    public async Task Grain_state_in_azure_blob_storage_survives_a_silo_restart_and_clustering_uses_the_azure_table()
    {
        await using var azurite = await AzuriteEmulator.StartNewAsync();
        var first = StartHost("silo-1", "control", azurite, new Dictionary<string, string> { ["DeepPerception:Dashboard"] = "false" });
        await first.WaitForHttpAsync("/health/live");
        await using (var platform = await PlatformClient.ConnectAsync(azurite.ConnectionString, _clusterId))
        {
            await platform.Client.GetGrain<ITenantGrain>("restart").CreateAsync(new CreateTenantRequest("Restart Ltd", "alice", 1234, 60));
            await platform.Client.GetGrain<IDatasetGrain>("restart/birds").CreateAsync(new CreateDatasetRequest("Birds", "kept across restarts"));
        }

        await StopGracefullyAsync(first);
        var second = StartHost("silo-2", "control", azurite, new Dictionary<string, string> { ["DeepPerception:Dashboard"] = "false" });
        await second.WaitForHttpAsync("/health/live");
        await using (var platform = await PlatformClient.ConnectAsync(azurite.ConnectionString, _clusterId))
        {
            var tenant = await platform.Client.GetGrain<ITenantGrain>("restart").GetProfileAsync();
            Assert.Equal("Restart Ltd", tenant.DisplayName);
            Assert.Equal(1234, tenant.Quota.GpuSecondsBudget);
            var dataset = await platform.Client.GetGrain<IDatasetGrain>("restart/birds").GetAsync();
            Assert.Equal("kept across restarts", dataset.Description);
        }

        // The state lives in the grain state container, membership in the Orleans silo table.
        var blobs = new BlobServiceClient(azurite.ConnectionString, new BlobClientOptions(BlobClientOptions.ServiceVersion.V2026_06_06))
            .GetBlobContainerClient("grainstate");
        var names = new List<string>();
        await foreach (var blob in blobs.GetBlobsAsync())
        {
            names.Add(blob.Name);
        }

        Assert.Contains(names, n => n.Contains("restart", StringComparison.Ordinal));
        var rows = new List<TableEntity>();
        await foreach (var row in new TableServiceClient(azurite.ConnectionString).GetTableClient("OrleansSiloInstances")
                           .QueryAsync<TableEntity>())
        {
            if (row.PartitionKey.Contains(_clusterId, StringComparison.Ordinal))
            {
                rows.Add(row);
            }
        }

        var described = string.Join("; ", rows.Select(r => string.Join(", ", r.Select(p => $"{p.Key}={p.Value}"))));

        Assert.True(rows.Any(r => r.GetString("Port") == second.SiloPort.ToString(System.Globalization.CultureInfo.InvariantCulture)
                                   && r.GetString("Status") == "Active"), described);
        Assert.True(rows.Any(r => r.GetString("Port") == first.SiloPort.ToString(System.Globalization.CultureInfo.InvariantCulture)
                                   && r.GetString("Status") == "Dead"), described);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        // The processes' last output, shown with a failed test's result.
        output.WriteLine(Diagnostics());
        foreach (var process in _processes)
        {
            process.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        try
        {
            if (Directory.Exists(_root))
            {
                Directory.Delete(_root, recursive: true);
            }
        }
        catch (IOException)
        {
        }
    }

    private HostProcess StartHost(string name, string roles, AzuriteEmulator azurite, IReadOnlyDictionary<string, string>? extra = null)
    {
        var process = HostProcess.Start(name, roles, _clusterId, azurite.ConnectionString, Path.Combine(_root, name), extra);
        _processes.Add(process);
        return process;
    }

    private static async Task StopGracefullyAsync(HostProcess process)
    {
        using (var kill = Process.Start("kill", ["-TERM", process.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        // A guard against hanging forever, not a timing assertion.
        await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
    }

    private string Diagnostics() => "\n" + string.Join("\n", _processes.Select(p => p.Tail()));

    private static async Task<string> HashAsync(IArtifactStore store, string key) =>
        Convert.ToHexStringLower(SHA256.HashData((await store.GetAsync(key)).Content));
}
