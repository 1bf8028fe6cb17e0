using System.Collections.Immutable;
using DeepPerception.Abstractions.Datasets;
using DeepPerception.Abstractions.Models;
using DeepPerception.Abstractions.Tenancy;
using DeepPerception.Data.Synth;
using DeepPerception.Data.Validation;
using DeepPerception.Grains.Gpu;
using DeepPerception.ML.Runtime;
using DeepPerception.Storage;

namespace DeepPerception.Host;

/// <summary>Whether the demo tenant, dataset and model exist, for the readiness check and <c>/v1/status</c>.</summary>
public sealed class DemoSeedState : DeepPerception.Api.Identity.StartupTaskState;

/// <summary>
/// Creates, at first start, a demo tenant <c>demo</c> with a KVG-Synth dataset <c>demo/kvg-synth</c> (version 1,
/// validated, with its knowledge base) and a model <c>demo/tiny-grounder</c> whose base checkpoint is a tiny Qwen2-VL
/// with a BPE tokenizer trained on the KVG-Synth knowledge corpus, so that a fine-tune can start right away. Runs
/// after the silo has started; what already exists is kept.
/// </summary>
public sealed class DemoSeeder(
    IGrainFactory grains,
    IArtifactStore store,
    DeepPerception.Api.Services.ResourceIndex index,
    DeepPerception.Api.Services.TenantDirectory directory,
    DeviceWorker device,
    DeepPerceptionHostOptions options,
    DemoSeedState state,
    ILogger<DemoSeeder> logger) : BackgroundService
{
    /// <summary>The demo tenant id.</summary>
    public const string TenantId = "demo";

    /// <summary>The demo dataset id.</summary>
    public const string DatasetId = "kvg-synth";

    /// <summary>The demo model id.</summary>
    public const string ModelId = "tiny-grounder";

    /// <summary>The KVG-Synth world seed of the demo.</summary>
    public const int WorldSeed = 0;

    /// <summary>The base checkpoint folder key of the demo model.</summary>
    public const string BaseModelKey = $"{TenantId}/models/{ModelId}/base";

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await SeedAsync(stoppingToken);
            state.MarkReady();
            logger.LogInformation("Demo tenant '{Tenant}' ready: dataset '{Dataset}', model '{Model}'", TenantId, DatasetId, ModelId);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            state.MarkFailed(ex);
            logger.LogError(ex, "Demo seeding failed");
        }
    }

    private async Task SeedAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        var tenant = grains.GetGrain<ITenantGrain>(TenantId);
        if (!await tenant.ExistsAsync())
        {
            await tenant.CreateAsync(new CreateTenantRequest("Demo", "demo-admin", GpuSecondsBudget: 36_000, RequestsPerMinute: 600));
        }

        var world = SynthWorld.Create(WorldSeed);
        var dataset = grains.GetGrain<IDatasetGrain>($"{TenantId}/{DatasetId}");
        if (!await dataset.ExistsAsync())
        {
            await dataset.CreateAsync(new CreateDatasetRequest("KVG-Synth demo", "Procedural knowledge-intensive grounding samples (seen domains)."));
        }

        var info = await dataset.GetAsync();
        if (info.KnowledgeEntryCount == 0)
        {
            foreach (var entry in SynthDatasetPublisher.KnowledgeEntries(world.Knowledge))
            {
                await dataset.UpsertKnowledgeEntryAsync(entry);
            }
        }

        if (info.Versions.IsDefaultOrEmpty)
        {
            await PublishDatasetAsync(world, dataset, cancellationToken);
        }

        var model = grains.GetGrain<IModelGrain>($"{TenantId}/{ModelId}");
        if (!await model.ExistsAsync())
        {
            if (!await ArtifactFolders.IsCompleteAsync(store, BaseModelKey, cancellationToken))
            {
                var folder = Path.Combine(options.WorkDirectory, $"demo-model-{Guid.NewGuid():N}");
                try
                {
                    await device.RunAsync(() => TinyBaseModel.Create(folder, world.KnowledgeCorpus(), vocabSize: 512, seed: 1), cancellationToken);
                    await ArtifactFolders.UploadAsync(store, folder, BaseModelKey, cancellationToken);
                }
                finally
                {
                    if (Directory.Exists(folder))
                    {
                        Directory.Delete(folder, recursive: true);
                    }
                }
            }

            await model.CreateAsync(new CreateModelRequest("Tiny grounder", "qwen2-vl-tiny", BaseModelKey));
        }

        // List the demo content in the HTTP API (tenant directory and the tenant's resource index).
        await directory.AddAsync(TenantId, cancellationToken);
        await index.AddAsync(TenantId, "datasets", DatasetId, cancellationToken);
        await index.AddAsync(TenantId, "models", ModelId, cancellationToken);
    }

    private async Task PublishDatasetAsync(SynthWorld world, IDatasetGrain dataset, CancellationToken cancellationToken)
    {
        var folder = Path.Combine(options.WorkDirectory, $"demo-dataset-{Guid.NewGuid():N}");
        try
        {
            var split = SynthSplits.Build(world, options.DemoSamples, 1, seed: 1);
            var count = SynthExporter.ExportPlatform(split.Train, world.Knowledge, folder);
            var validation = new DatasetValidator().Validate(folder);
            var key = await SynthDatasetPublisher.UploadFolderAsync(store, $"{TenantId}/datasets/{DatasetId}/v1", folder, cancellationToken);
            var version = await dataset.AddVersionAsync(new AddDatasetVersionRequest(key, count, $"KVG-Synth world {WorldSeed}, {count} samples"));
            var issues = validation.Issues
                .Select(i => new DatasetValidationIssue(true, i.Kind.ToString(), i.ToString(), null))
                .ToImmutableArray();
            await dataset.SetValidationReportAsync(version.Version, new DatasetValidationReport(validation.RecordCount, issues, DateTimeOffset.UtcNow));
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }
}
