using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Compute;
using DeepPerception.Abstractions.Datasets;
using DeepPerception.Abstractions.Evaluation;
using DeepPerception.Abstractions.Models;
using DeepPerception.Abstractions.Tenancy;
using DeepPerception.Abstractions.Work;
using DeepPerception.Grains.Gpu;
using DeepPerception.Grains.Hosting;
using DeepPerception.Storage;
using DeepPerception.Storage.FileSystem;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace DeepPerception.Grains.Tests.Infrastructure;

/// <summary>
/// An in-process cluster like production: Silo_0 is the control silo, every other silo is a GPU silo (silo metadata
/// role=gpu) running <see cref="DeterministicTestRunner"/>. All silos share a durable <see cref="FileGrainStorage"/>
/// and a <see cref="FileSystemArtifactStore"/> in a temporary folder.
/// </summary>
public sealed class PlatformCluster : IAsyncDisposable
{
    private PlatformCluster(InProcessTestCluster cluster, string root)
    {
        Cluster = cluster;
        Root = root;
        Artifacts = new FileSystemArtifactStore(new FileSystemArtifactStoreOptions { RootDirectory = Path.Combine(root, "artifacts") });
    }

    /// <summary>The test cluster.</summary>
    public InProcessTestCluster Cluster { get; }

    /// <summary>The data folder.</summary>
    public string Root { get; }

    /// <summary>The artifact store the silos use.</summary>
    public IArtifactStore Artifacts { get; }

    /// <summary>The cluster client.</summary>
    public IClusterClient Client => Cluster.Client;

    /// <summary>The artifact store's root folder.</summary>
    public string ArtifactFolder => Path.Combine(Root, "artifacts");

    /// <summary>The grain state folder.</summary>
    public string GrainStateFolder => Path.Combine(Root, "grains");

    /// <summary>
    /// Starts a cluster with <paramref name="silos"/> silos (the first is the control silo); <paramref name="configure"/>
    /// adjusts every silo's options after the test defaults.
    /// </summary>
    public static async Task<PlatformCluster> StartAsync(int silos, Action<DeepPerceptionSiloOptions>? configure = null)
    {
        var root = Path.Combine(Path.GetTempPath(), "dp-cluster-" + Guid.NewGuid().ToString("N"));
        var builder = new InProcessTestClusterBuilder((short)silos);
        builder.ConfigureSilo((options, silo) =>
        {
            var gpu = options.SiloName != "Silo_0";
            silo.AddDeepPerceptionSilo(o =>
            {
                o.Control = !gpu;
                o.Gpu = gpu;
                o.DeviceName = gpu ? "test-accelerator" : "none";
                o.DeviceMemoryBytes = gpu ? 8L << 30 : 0;
                o.MaxConcurrentWork = 2;
                o.SchedulerPassInterval = TimeSpan.FromMilliseconds(200);
                o.WorkerCheckInterval = TimeSpan.FromMilliseconds(500);
                o.PreemptionMinRunTime = null;
                o.StorageRetryDelay = TimeSpan.FromMilliseconds(200);
                o.StorageRetryMaxDelay = TimeSpan.FromSeconds(1);
                configure?.Invoke(o);
            });
            silo.AddFileGrainStorage(PlatformStorage.Name, o =>
            {
                o.RootDirectory = Path.Combine(root, "grains");
                o.FlushToDisk = false;
            });
            silo.Services.AddFileSystemArtifactStore(o =>
            {
                o.RootDirectory = Path.Combine(root, "artifacts");
                o.FlushToDisk = false;
            });
            silo.Services.ConfigureArtifactStoreRetries(o =>
            {
                o.MaxAttempts = 3;
                o.InitialDelay = TimeSpan.FromMilliseconds(5);
                o.MaxDelay = TimeSpan.FromMilliseconds(20);
            });
            silo.Services.AddSingleton<IGpuWorkRunner, DeterministicTestRunner>();
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return new PlatformCluster(cluster, root);
    }

    /// <summary>The silo handle with the given parsable address.</summary>
    public InProcessSiloHandle SiloById(string siloId) =>
        Cluster.Silos.Single(s => s.SiloAddress.ToParsableString() == siloId);

    /// <summary>Creates a tenant with a dataset (one version) and a model with a base checkpoint.</summary>
    public async Task<TenantSetup> CreateTenantAsync(string tenantId, double gpuBudget = 10_000)
    {
        await Client.GetGrain<ITenantGrain>(tenantId).CreateAsync(new CreateTenantRequest("Acme " + tenantId, "alice", gpuBudget, 600));
        await Artifacts.PutTextAsync($"{tenantId}/datasets/birds/v1/samples.jsonl", "{\"id\":\"s1\"}\n");
        await Artifacts.PutTextAsync($"{tenantId}/models/base/weights.bin", "base");
        var dataset = Client.GetGrain<IDatasetGrain>($"{tenantId}/birds");
        await dataset.CreateAsync(new CreateDatasetRequest("Birds", "fine-grained birds"));
        await dataset.AddVersionAsync(new AddDatasetVersionRequest($"{tenantId}/datasets/birds/v1/samples.jsonl", 1, null));
        await dataset.UpsertKnowledgeEntryAsync(new KnowledgeEntry("indigo-bunting", "Indigo bunting", "small blue bird", ["blue finch"], []));
        var model = Client.GetGrain<IModelGrain>($"{tenantId}/grounder");
        await model.CreateAsync(new CreateModelRequest("Grounder", "qwen2-vl-tiny", $"{tenantId}/models/base/weights.bin"));
        return new TenantSetup(tenantId, "birds", "grounder");
    }

    /// <summary>A fine-tuning request with the test runner's semantics.</summary>
    public static FineTuneRequest Request(TenantSetup setup, int maxSteps = 12, int checkpointEvery = 4, int seed = 42,
        double gpuSeconds = 100, FineTuneMethod method = FineTuneMethod.Sft) =>
        new(setup.ModelId, null, setup.DatasetId, 1,
            new TrainingRecipe(method, maxSteps, 1e-5, 1, checkpointEvery, seed, ImmutableDictionary<string, string>.Empty),
            gpuSeconds);

    /// <summary>A harness pinned to a benchmark artifact.</summary>
    public async Task<HarnessDescriptor> HarnessAsync(string tenantId, string version = "1.0")
    {
        var key = $"{tenantId}/benchmarks/kvg/test.jsonl";
        var bytes = Encoding.UTF8.GetBytes("{\"q\":1}\n");
        await Artifacts.PutBytesAsync(key, bytes);
        return new HarnessDescriptor("kvg-bench", version, key, Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant(),
            "accuracy", ImmutableDictionary<string, string>.Empty.Add("iou", "0.5"));
    }

    /// <summary>Polls a job until <paramref name="done"/> holds (generous bound; the test fails with the last status).</summary>
    public async Task<FineTuneJobStatus> WaitForJobAsync(string jobKey, Func<FineTuneJobStatus, bool> done, int seconds = 120)
    {
        var job = Client.GetGrain<IFineTuneJobGrain>(jobKey);
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var status = await job.GetStatusAsync();
            if (done(status))
            {
                return status;
            }

            if (DateTime.UtcNow > deadline)
            {
                var silos = await Client.GetGrain<IGpuSiloRegistryGrain>(PlatformKeys.Singleton).GetSilosAsync();
                var snapshot = await Client.GetGrain<IJobSchedulerGrain>(PlatformKeys.Singleton).GetSnapshotAsync();
                throw new TimeoutException(
                    $"Job {jobKey} did not reach the expected state; last status: {status.State} attempt {status.Attempt} " +
                    $"'{status.StatusMessage}', last progress step {status.LatestProgress?.Step}, checkpoint " +
                    $"'{status.LastCheckpointKey}', runner steps [{string.Join(", ", TestRunnerControl.StepsOf(jobKey).Select(s => $"{s.Silo}:{s.Step}"))}]; " +
                    $"registry [{string.Join(", ", silos.Select(s => $"{s.Descriptor.SiloName} active={s.IsActive} accepts={s.AcceptsWork}"))}]; " +
                    $"scheduler: {snapshot.Summary} running [{string.Join(", ", snapshot.Running.Select(r => $"{r.WorkKey}@{r.SiloId}"))}].");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Polls an evaluation run until it is final.</summary>
    public async Task<EvaluationRunStatus> WaitForRunAsync(string runKey, int seconds = 120)
    {
        var run = Client.GetGrain<IEvaluationRunGrain>(runKey);
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var status = await run.GetStatusAsync();
            if (status.State is WorkState.Succeeded or WorkState.Failed or WorkState.Cancelled)
            {
                return status;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Run {runKey} did not finish; last status: {status.State} '{status.StatusMessage}'.");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Waits for a task with a generous bound so a broken test fails instead of hanging.</summary>
    public static async Task<T> Within<T>(Task<T> task, int seconds = 120) => await task.WaitAsync(TimeSpan.FromSeconds(seconds));

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Cluster.DisposeAsync();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Ids created by <see cref="PlatformCluster.CreateTenantAsync"/>.</summary>
public sealed record TenantSetup(string TenantId, string DatasetId, string ModelId);

/// <summary>One shared 3-silo cluster (1 control, 2 GPU) for the tests that do not stop silos.</summary>
public sealed class SharedClusterFixture : IAsyncLifetime
{
    /// <summary>The cluster.</summary>
    public PlatformCluster Platform { get; private set; } = null!;

    /// <inheritdoc />
    public async Task InitializeAsync() => Platform = await PlatformCluster.StartAsync(3);

    /// <inheritdoc />
    public async Task DisposeAsync() => await Platform.DisposeAsync();
}

/// <summary>The collection sharing <see cref="SharedClusterFixture"/>.</summary>
[CollectionDefinition(Name)]
public sealed class SharedClusterCollection : ICollectionFixture<SharedClusterFixture>
{
    /// <summary>The collection name.</summary>
    public const string Name = "shared platform cluster";
}
