using System.Collections.Immutable;
using DeepPerception.Abstractions.Models;
using DeepPerception.Abstractions.Work;
using DeepPerception.Data.Synth;
using DeepPerception.Grains.Gpu;
using DeepPerception.ML.Runtime;
using DeepPerception.Storage;
using DeepPerception.Storage.FileSystem;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using TorchSharp;

namespace DeepPerception.Grains.Gpu.Tests;

/// <summary>
/// A file-system artifact store holding a tiny base model (BPE tokenizer trained on the KVG-Synth knowledge corpus,
/// random weights) and a small KVG-Synth dataset in the platform format, plus a runner on a CPU device worker.
/// </summary>
public sealed class EngineFixture : IDisposable
{
    public const string Tenant = "acme";
    public const string BaseModelKey = "acme/models/tiny/base";
    public const int MaxPixels = 112 * 112;

    public EngineFixture()
    {
        torch.set_num_threads(1);
        Root = Path.Combine(Path.GetTempPath(), $"dp-gpu-tests-{Guid.NewGuid():N}");
        Store = new FileSystemArtifactStore(new FileSystemArtifactStoreOptions { RootDirectory = Path.Combine(Root, "store"), FlushToDisk = false });
        World = SynthWorld.Create(3);
        Worker = new DeviceWorker(torch.CPU, threads: 1, name: "test-device");
        var modelDir = Path.Combine(Root, "base-model");
        Worker.RunAsync(() => TinyBaseModel.Create(modelDir, World.KnowledgeCorpus(), vocabSize: 420, seed: 11)).GetAwaiter().GetResult();
        ArtifactFolders.UploadAsync(Store, modelDir, BaseModelKey).GetAwaiter().GetResult();
        var options = new SynthOptions { MinCanvas = 224, MaxCanvas = 224, MaxEntities = 3 };
        var split = SynthSplits.Build(World, 16, 4, seed: 5, options);
        Dataset = SynthDatasetPublisher.PublishAsync(Store, "acme/datasets/synth/v1", split.Train, World.Knowledge).GetAwaiter().GetResult();
        Runner = new EngineGpuWorkRunner(Store, Worker,
            Options.Create(new EngineGpuWorkerOptions { WorkDirectory = Path.Combine(Root, "work") }), NullLogger<EngineGpuWorkRunner>.Instance);
    }

    public string Root { get; }

    public IArtifactStore Store { get; }

    public SynthWorld World { get; }

    public DeviceWorker Worker { get; }

    public PublishedDataset Dataset { get; }

    public EngineGpuWorkRunner Runner { get; }

    public FineTuneSpec Spec(string jobId, TrainingRecipe recipe, int attempt = 1) => new(
        $"{Tenant}/{jobId}", Tenant, BaseModelKey, Dataset.SamplesIndexKey, Dataset.KnowledgeBase, recipe,
        $"{Tenant}/jobs/{jobId}/attempt-{attempt}/checkpoints", $"{Tenant}/jobs/{jobId}/attempt-{attempt}/output");

    public static TrainingRecipe SftRecipe(int steps, int checkpointEvery, ImmutableDictionary<string, string>? settings = null) =>
        new(FineTuneMethod.Sft, steps, 2e-3, 2, checkpointEvery, 17,
            (settings ?? ImmutableDictionary<string, string>.Empty).SetItem("max_pixels", MaxPixels.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    public void Dispose()
    {
        Worker.Dispose();
        if (Directory.Exists(Root))
        {
            Directory.Delete(Root, recursive: true);
        }
    }
}

/// <summary>Collects progress synchronously and lets a test react to a snapshot.</summary>
public sealed class RecordingProgress(Action<JobProgress>? onReport = null) : IProgress<JobProgress>
{
    private readonly List<JobProgress> _reports = [];

    public IReadOnlyList<JobProgress> Reports
    {
        get
        {
            lock (_reports)
            {
                return _reports.ToList();
            }
        }
    }

    public void Report(JobProgress value)
    {
        lock (_reports)
        {
            _reports.Add(value);
        }

        onReport?.Invoke(value);
    }
}
