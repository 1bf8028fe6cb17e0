using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using DeepPerception.Abstractions.Work;
using DeepPerception.Data.Synth;
using DeepPerception.Kvg;
using DeepPerception.ML.Kvg;
using DeepPerception.ML.Qwen2VL;
using DeepPerception.ML.Runtime;
using DeepPerception.ML.Training;
using DeepPerception.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DeepPerception.Grains.Gpu;

/// <summary>
/// The production <see cref="IGpuWorkRunner"/>: runs fine-tuning (SFT, GRPO or both; LoRA or full) and KVG evaluations
/// with the ML engine on the silo's single <see cref="DeviceWorker"/>. Inputs come from and results go to the
/// <see cref="IArtifactStore"/>; a local scratch folder holds them while a run lasts. Model artifacts are folders
/// (see <see cref="ArtifactFolders"/>): a checkpoint key names a folder whose manifest is written last.
/// </summary>
public sealed class EngineGpuWorkRunner : IGpuWorkRunner
{
    /// <summary>Files copied from the base checkpoint into every output model besides the weights and config.</summary>
    public static readonly IReadOnlyList<string> TokenizerFiles =
        ["tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json", "added_tokens.json",
            "generation_config.json", "preprocessor_config.json", "chat_template.json"];

    private static readonly JsonSerializerOptions ReportJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private readonly IArtifactStore _store;
    private readonly DeviceWorker _worker;
    private readonly EngineGpuWorkerOptions _options;
    private readonly ILogger<EngineGpuWorkRunner> _logger;

    /// <summary>Creates the runner.</summary>
    public EngineGpuWorkRunner(IArtifactStore store, DeviceWorker worker, IOptions<EngineGpuWorkerOptions> options, ILogger<EngineGpuWorkRunner> logger)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _worker = worker ?? throw new ArgumentNullException(nameof(worker));
        _options = options?.Value ?? throw new ArgumentNullException(nameof(options));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    /// <inheritdoc />
    public async Task<JobOutcome> RunFineTuneAsync(FineTuneSpec spec, string? resumeFromCheckpointKey, IProgress<JobProgress> progress,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(progress);
        var recipe = EngineRecipe.From(spec.Recipe);
        if (string.IsNullOrEmpty(spec.CheckpointPrefix))
        {
            throw new ArgumentException("The fine-tune spec has no checkpoint prefix.", nameof(spec));
        }

        ArtifactKey.Validate(spec.OutputKey);
        var resume = resumeFromCheckpointKey is null ? null : ResumePoint.Parse(resumeFromCheckpointKey, recipe);
        var work = NewWorkDirectory("finetune");
        var reporter = new OrderedReporter(progress);
        try
        {
            var baseDir = Path.Combine(work, "base");
            await ArtifactFolders.DownloadAsync(_store, spec.BaseCheckpointKey, baseDir, cancellationToken).ConfigureAwait(false);
            var samples = await PlatformDataset.LoadAsync(_store, spec.SamplesIndexKey, cancellationToken).ConfigureAwait(false);
            CompositeTrainingSet? composites = null;
            if (recipe.CompositeTargets)
            {
                composites = await CompositeTrainingData.BuildAsync(samples, spec.KnowledgeBase, recipe.Composites, recipe.CompositeMaxCanvas, recipe.Seed,
                    cancellationToken).ConfigureAwait(false);
                samples = composites.Samples;
                _logger.LogInformation("Fine-tune {JobKey}: {Kept} of {Built} composites kept by the IoU gate", spec.JobKey,
                    composites.Report.Kept, composites.Report.Composites);
            }

            string? resumeDir = null;
            string? grpoBaseDir = null;
            if (resume is not null)
            {
                if (!await ArtifactFolders.IsCompleteAsync(_store, resume.Key, cancellationToken).ConfigureAwait(false))
                {
                    throw new ArtifactNotFoundException(resume.Key + "/" + ArtifactFolders.ManifestFile);
                }

                resumeDir = Path.Combine(work, "resume");
                await ArtifactFolders.DownloadAsync(_store, resume.Key, resumeDir, cancellationToken).ConfigureAwait(false);
                if (resume.GrpoBaseKey is not null)
                {
                    grpoBaseDir = Path.Combine(work, "grpo-base");
                    await ArtifactFolders.DownloadAsync(_store, resume.GrpoBaseKey, grpoBaseDir, cancellationToken).ConfigureAwait(false);
                }
            }

            _logger.LogInformation("Fine-tune {JobKey}: stages {Stages}, {Samples} samples, resume from {Resume}", spec.JobKey,
                string.Join('+', recipe.Stages), samples.Count, resumeFromCheckpointKey ?? "(start)");
            var context = new FineTuneContext(spec, recipe, samples, composites?.Targets, baseDir, Path.Combine(work, "checkpoints"), Path.Combine(work, "output"),
                resume, resumeDir, grpoBaseDir, reporter, cancellationToken);
            var watch = Stopwatch.StartNew();
            FineTuneResult result;
            try
            {
                result = await _worker.RunAsync(() => FineTuneOnDevice(context), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                watch.Stop();
            }

            await reporter.DrainAsync().ConfigureAwait(false);
            await ArtifactFolders.UploadAsync(_store, context.OutputDir, spec.OutputKey, cancellationToken).ConfigureAwait(false);
            var metrics = result.Metrics.Add("gpu_seconds", watch.Elapsed.TotalSeconds)
                .Add("resumed_from_step", resume?.GlobalStep(recipe) ?? 0);
            if (composites is not null)
            {
                metrics = metrics.Add("composites_built", composites.Report.Composites).Add("composites_kept", composites.Report.Kept);
            }

            progress.Report(new JobProgress(result.TotalSteps, result.TotalSteps, metrics, null, "model uploaded"));
            return new JobOutcome(OutcomeKind.Succeeded, spec.OutputKey, metrics, watch.Elapsed.TotalSeconds, null);
        }
        catch
        {
            await reporter.DrainQuietlyAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            DeleteQuietly(work);
        }
    }

    /// <inheritdoc />
    public async Task<EvaluationOutcome> RunEvaluationAsync(EvaluationSpec spec, IProgress<JobProgress> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(progress);
        var harness = EvaluationHarnessSettings.From(spec.Harness);
        var work = NewWorkDirectory("evaluation");
        try
        {
            var items = await LoadBenchmarkAsync(spec.Harness, harness, cancellationToken).ConfigureAwait(false);
            var modelDir = Path.Combine(work, "model");
            await ArtifactFolders.DownloadAsync(_store, spec.ModelCheckpointKey, modelDir, cancellationToken).ConfigureAwait(false);
            var watch = Stopwatch.StartNew();
            var evaluation = await _worker.RunAsync(() =>
            {
                using var model = KvgModel.Load(modelDir, _worker.Device, maxPixels: harness.MaxPixels);
                return KvgEvaluator.Evaluate(model, items, harness.GroundOptions, harness.BatchSize, harness.Limit,
                    p => progress.Report(new JobProgress(p.Done, p.Total,
                        ImmutableDictionary<string, double>.Empty.Add("running_accuracy", p.RunningAccuracy), null, "evaluating")),
                    KvgCategorySplit.Default, cancellationToken);
            }, cancellationToken).ConfigureAwait(false);
            watch.Stop();
            var metrics = EvaluationMetrics(evaluation.Score);
            if (!metrics.ContainsKey(spec.Harness.PrimaryMetric))
            {
                return new EvaluationOutcome(OutcomeKind.Failed, metrics, null, watch.Elapsed.TotalSeconds,
                    $"The harness's primary metric '{spec.Harness.PrimaryMetric}' is not produced; known: {string.Join(", ", metrics.Keys.Order(StringComparer.Ordinal))}.");
            }

            var reportKey = ArtifactKey.Combine(spec.OutputPrefix, "report.json");
            var report = new
            {
                runKey = spec.RunKey,
                model = spec.ModelCheckpointKey,
                harness = spec.Harness,
                metrics = metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary(kv => kv.Key, kv => kv.Value),
                items = evaluation.Items.Select((i, n) => new
                {
                    i.QuestionId, i.Category, i.Entity, i.Text, i.Iou, i.Correct,
                    Prediction = i.Prediction.IsFailure || !i.Prediction.Box.IsFinite ? null : i.Prediction.Box.ToArray(),
                    Matched = i.Match.Label,
                    Match = MatchKindName(i.Match.Kind),
                    ObjectsKnown = n < items.Count && items[n].Objects is not null,
                }),
            };
            await _store.PutBytesAsync(reportKey, JsonSerializer.SerializeToUtf8Bytes(report, ReportJson),
                new ArtifactWriteOptions { ContentType = "application/json" }, cancellationToken).ConfigureAwait(false);
            return new EvaluationOutcome(OutcomeKind.Succeeded, metrics, reportKey, watch.Elapsed.TotalSeconds, null);
        }
        finally
        {
            DeleteQuietly(work);
        }
    }

    /// <summary>The report's name of a match kind: target, other_entity, other or none.</summary>
    public static string MatchKindName(KvgMatchKind kind) => kind switch
    {
        KvgMatchKind.Target => "target",
        KvgMatchKind.OtherEntity => "other_entity",
        KvgMatchKind.Other => "other",
        KvgMatchKind.None => "none",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown match kind."),
    };

    /// <summary>Flattens a KVG score into platform metrics (fractions; IoU in [0, 1]).</summary>
    public static ImmutableDictionary<string, double> EvaluationMetrics(KvgScore score)
    {
        ArgumentNullException.ThrowIfNull(score);
        var b = ImmutableDictionary.CreateBuilder<string, double>(StringComparer.Ordinal);
        b["accuracy"] = score.Overall.Accuracy;
        b["mean_iou"] = score.Overall.MeanIou;
        b["count"] = score.Overall.Count;
        b["parse_failures"] = score.ParseFailures;
        if (score.Seen is { } seen)
        {
            b["seen_accuracy"] = seen.Accuracy;
            b["seen_mean_iou"] = seen.MeanIou;
        }

        if (score.Unseen is { } unseen)
        {
            b["unseen_accuracy"] = unseen.Accuracy;
            b["unseen_mean_iou"] = unseen.MeanIou;
        }

        foreach (var (category, group) in score.PerCategory)
        {
            b[$"accuracy.{category}"] = group.Accuracy;
            b[$"mean_iou.{category}"] = group.MeanIou;
        }

        return b.ToImmutable();
    }

    private async Task<IReadOnlyList<KvgBenchItem>> LoadBenchmarkAsync(HarnessDescriptor descriptor, EvaluationHarnessSettings harness,
        CancellationToken cancellationToken)
    {
        if (harness.Synth is { } synth)
        {
            var world = SynthWorld.Create(synth.WorldSeed);
            var split = SynthSplits.Build(world, 1, synth.TestCount, synth.SplitSeed, synth.Options);
            return SynthExporter.ToKvgBenchItems(split.Test).ToList();
        }

        var content = await _store.GetAsync(descriptor.BenchmarkKey, cancellationToken).ConfigureAwait(false);
        if (!string.IsNullOrEmpty(descriptor.BenchmarkSha256))
        {
            var sha = Convert.ToHexStringLower(SHA256.HashData(content.Content));
            if (!string.Equals(sha, descriptor.BenchmarkSha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidDataException(
                    $"Benchmark '{descriptor.BenchmarkKey}' has SHA-256 {sha}, but the harness pins {descriptor.BenchmarkSha256}.");
            }
        }

        var items = new List<KvgBenchItem>();
        using var stream = new MemoryStream(content.Content, writable: false);
        await foreach (var item in KvgBenchFile.ReadAsync(stream, cancellationToken).ConfigureAwait(false))
        {
            items.Add(item);
        }

        return items;
    }

    private FineTuneResult FineTuneOnDevice(FineTuneContext c)
    {
        var recipe = c.Recipe;
        var resumeStage = c.Resume?.Stage;
        var skipSft = resumeStage == EngineStage.Grpo;
        var startDir = skipSft && c.GrpoBaseDir is not null ? c.GrpoBaseDir : c.BaseDir;
        using var model = KvgModel.Load(startDir, _worker.Device, maxPixels: recipe.MaxPixels);
        if (skipSft && c.GrpoBaseDir is not null)
        {
            // Keep the GRPO stage's starting weights under this attempt's prefix too, for a later resume from it.
            ArtifactFolders.UploadAsync(_store, c.GrpoBaseDir, GrpoBaseKey(c.Spec.CheckpointPrefix), c.CancellationToken).GetAwaiter().GetResult();
        }

        var metrics = ImmutableDictionary.CreateBuilder<string, double>(StringComparer.Ordinal);
        var adapterStages = new List<IReadOnlyList<LoraDelta>>();
        var adapterBaseKey = skipSft && c.GrpoBaseDir is not null ? GrpoBaseKey(c.Spec.CheckpointPrefix) : c.Spec.BaseCheckpointKey;
        var totalSteps = recipe.Stages.Sum(s => s == EngineStage.Sft ? recipe.SftSteps : recipe.GrpoSteps);
        var offset = 0;
        for (var index = 0; index < recipe.Stages.Count; index++)
        {
            var stage = recipe.Stages[index];
            var stageSteps = stage == EngineStage.Sft ? recipe.SftSteps : recipe.GrpoSteps;
            var name = StageName(stage);
            if (stage == EngineStage.Sft && skipSft)
            {
                offset += stageSteps;
                continue;
            }

            var resumeFrom = resumeStage == stage ? c.ResumeDir : null;
            var outDir = Path.Combine(c.CheckpointDir, name);
            Directory.CreateDirectory(outDir);
            var stageOffset = offset;
            void OnMetrics(TrainingMetrics m) => ReportStep(c, name, outDir, stageOffset, totalSteps, m);
            TrainResult result;
            if (stage == EngineStage.Sft)
            {
                var examples = c.Samples.Select(s => model.SftExample(s.Image, s.Query, SftTarget(s, c), KvgPromptStyle.R1)).ToList();
                var perEpoch = Math.Max(1, examples.Count / (recipe.BatchSize * recipe.GradientAccumulation));
                var options = new SftOptions
                {
                    LearningRate = recipe.LearningRate, WarmupRatio = recipe.WarmupRatio, MaxSteps = stageSteps,
                    Epochs = recipe.Epochs > 0 ? recipe.Epochs : (int)Math.Ceiling(stageSteps / (double)perEpoch),
                    BatchSize = recipe.BatchSize, GradientAccumulation = recipe.GradientAccumulation, MaxGradNorm = recipe.MaxGradNorm,
                    WeightDecay = recipe.WeightDecay, Freeze = recipe.Freeze, CheckpointEvery = recipe.CheckpointEvery, OutputDir = outDir,
                    Seed = recipe.Seed, PadTokenId = model.PadTokenId, Stage = name, GroupByLength = recipe.GroupByLength,
                };
                result = new SftTrainer(model.Model, options).Train(examples, OnMetrics, resumeFrom, c.CancellationToken);
            }
            else
            {
                var prompts = c.Samples.Select(s => model.GrpoPrompt(s.Image, s.Query, s.Solution, s.Id)).ToList();
                var perEpoch = Math.Max(1, prompts.Count / recipe.BatchSize);
                var options = new GrpoOptions
                {
                    Generations = recipe.Generations, Temperature = recipe.Temperature, MaxCompletionLength = recipe.MaxCompletionLength,
                    LearningRate = recipe.GrpoLearningRate, Beta = recipe.Beta, PromptsPerStep = recipe.BatchSize, MaxSteps = stageSteps,
                    Epochs = recipe.Epochs > 0 ? recipe.Epochs : (int)Math.Ceiling(stageSteps / (double)perEpoch),
                    MaxGradNorm = recipe.MaxGradNorm, Freeze = recipe.Freeze with { Vision = !recipe.TrainVision, Merger = !recipe.TrainVision },
                    StopTokenIds = model.StopTokenIds, PadTokenId = model.PadTokenId, CheckpointEvery = recipe.CheckpointEvery, OutputDir = outDir,
                    Seed = recipe.Seed,
                };
                var rewards = new IRewardFunction[]
                {
                    new DelegateReward("accuracy", (completion, prompt) => KvgRewards.IouReward(completion, prompt.Solution)),
                    new DelegateReward("format", (completion, _) => KvgRewards.FormatReward(completion)),
                };
                using var reference = recipe.Lora is null ? Qwen2VLCheckpoint.Load(startDir, _worker.Device) : null;
                var gallery = new RolloutGalleryWriter(_store, c.Spec.CheckpointPrefix, c.Samples, RolloutLog.KeepSteps, c.CancellationToken);
                void OnGrpoMetrics(TrainingMetrics m)
                {
                    // A step's rollouts all precede its metrics: its gallery file is written before the step is reported.
                    gallery.Flush();
                    OnMetrics(m);
                }

                result = new GrpoTrainer(model.Model, reference, ids => model.Decode(ids), rewards, options)
                    .Train(prompts, OnGrpoMetrics, gallery.Add, resumeFrom, c.CancellationToken);
                gallery.Flush();
            }

            metrics[$"{name}_loss"] = result.FinalLoss;
            metrics[$"{name}_steps"] = result.Steps;
            if (result.LossHistory.Count > 0)
            {
                metrics[$"{name}_first_loss"] = result.LossHistory[0];
            }

            metrics["loss"] = result.FinalLoss;
            offset += stageSteps;
            if (recipe.Lora is not null)
            {
                adapterStages.Add(LoraAdapters.Capture(model.Model));
                LoraAdapters.Merge(model.Model);
            }

            if (index + 1 < recipe.Stages.Count)
            {
                // The next stage starts from (and, for full GRPO, is regularised towards) this stage's result: keep it
                // durably so an attempt resumed in the next stage starts from the same weights.
                startDir = Path.Combine(c.CheckpointDir, "grpo-base");
                WriteModelFolder(model.Model, c.BaseDir, startDir);
                ArtifactFolders.UploadAsync(_store, startDir, GrpoBaseKey(c.Spec.CheckpointPrefix), c.CancellationToken).GetAwaiter().GetResult();
            }
        }

        WriteModelFolder(model.Model, c.BaseDir, c.OutputDir);
        if (adapterStages.Count > 0)
        {
            // Besides the merged weights, the version keeps its LoRA delta against the weights it started from, so that
            // serving can load it next to a shared base (ServedAdapters) instead of a full copy per version.
            var adapterDir = Path.Combine(c.OutputDir, ServingAdapter.Folder);
            LoraAdapters.SaveCombined(adapterDir, adapterStages, adapterBaseKey, recipe.Lora!.IncludeVision);
            ServingAdapter.WriteBase(adapterDir, adapterBaseKey);
            foreach (var delta in adapterStages.SelectMany(s => s))
            {
                delta.Dispose();
            }
        }

        metrics["steps"] = totalSteps;
        return new FineTuneResult(totalSteps, metrics.ToImmutable());
    }

    private void ReportStep(FineTuneContext c, string stage, string outDir, int offset, int totalSteps, TrainingMetrics m)
    {
        var values = ImmutableDictionary.CreateBuilder<string, double>(StringComparer.Ordinal);
        values["loss"] = m.Loss;
        values["learning_rate"] = m.LearningRate;
        values["grad_norm"] = m.GradNorm;
        values["tokens_per_second"] = m.TokensPerSecond;
        foreach (var (k, v) in m.Extra)
        {
            values[k] = v;
        }

        var snapshot = values.ToImmutable();
        var step = offset + (int)m.Step;
        var checkpointDir = Path.Combine(outDir, $"checkpoint-{m.Step:D6}");
        if (c.Recipe.CheckpointEvery > 0 && m.Step % c.Recipe.CheckpointEvery == 0 && Directory.Exists(checkpointDir))
        {
            var key = ArtifactKey.Combine(c.Spec.CheckpointPrefix, stage, $"checkpoint-{m.Step:D6}");
            c.Reporter.Enqueue(async () =>
            {
                await ArtifactFolders.UploadAsync(_store, checkpointDir, key, c.CancellationToken).ConfigureAwait(false);
                DeleteQuietly(checkpointDir);
                _logger.LogInformation("Fine-tune {JobKey}: checkpoint {Key} uploaded", c.Spec.JobKey, key);
                return new JobProgress(step, totalSteps, snapshot, key, $"{stage} checkpoint");
            });
        }
        else
        {
            c.Reporter.Enqueue(() => Task.FromResult(new JobProgress(step, totalSteps, snapshot, null, stage)));
        }
    }

    private static string SftTarget(PlatformSample sample, FineTuneContext c)
    {
        if (c.CompositeTargets is not null)
        {
            return c.CompositeTargets[sample.Id];
        }

        if (!c.Recipe.CotTargets)
        {
            return sample.DirectTarget;
        }

        var knowledge = PlatformDataset.FindKnowledge(c.Spec.KnowledgeBase, sample.Entity)
                        ?? throw new DatasetFormatException(
                            $"Sample '{sample.Id}': entity '{sample.Entity}' is not in the dataset's knowledge base (needed for chain-of-thought targets).");
        return sample.CotTarget(knowledge);
    }

    private static void WriteModelFolder(Qwen2VLForConditionalGeneration model, string baseDir, string directory)
    {
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }

        Qwen2VLCheckpoint.Save(model, directory);
        foreach (var file in TokenizerFiles)
        {
            var source = Path.Combine(baseDir, file);
            if (File.Exists(source))
            {
                File.Copy(source, Path.Combine(directory, file), overwrite: true);
            }
        }
    }

    internal static string StageName(EngineStage stage) => stage == EngineStage.Sft ? "sft" : "grpo";

    internal static string GrpoBaseKey(string checkpointPrefix) => ArtifactKey.Combine(checkpointPrefix, "grpo-base");

    private string NewWorkDirectory(string kind)
    {
        var path = Path.Combine(Path.GetFullPath(_options.WorkDirectory), $"{kind}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    private void DeleteQuietly(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException ex)
        {
            _logger.LogWarning(ex, "Could not delete scratch folder {Path}", path);
        }
        catch (UnauthorizedAccessException ex)
        {
            _logger.LogWarning(ex, "Could not delete scratch folder {Path}", path);
        }
    }

    private sealed record FineTuneResult(int TotalSteps, ImmutableDictionary<string, double> Metrics);

    private sealed record FineTuneContext(
        FineTuneSpec Spec,
        EngineRecipe Recipe,
        IReadOnlyList<PlatformSample> Samples,
        IReadOnlyDictionary<string, string>? CompositeTargets,
        string BaseDir,
        string CheckpointDir,
        string OutputDir,
        ResumePoint? Resume,
        string? ResumeDir,
        string? GrpoBaseDir,
        OrderedReporter Reporter,
        CancellationToken CancellationToken);

    /// <summary>Where an attempt resumes: "{prefix}/{stage}/checkpoint-NNNNNN".</summary>
    internal sealed record ResumePoint(string Key, EngineStage Stage, string? GrpoBaseKey)
    {
        /// <summary>The checkpoint's step counted over all stages of the recipe.</summary>
        public int GlobalStep(EngineRecipe recipe) =>
            (Stage == EngineStage.Grpo && recipe.Stages[0] == EngineStage.Sft ? recipe.SftSteps : 0)
            + int.Parse(Key[(Key.LastIndexOf('-') + 1)..], NumberStyles.None, CultureInfo.InvariantCulture);

        public static ResumePoint Parse(string key, EngineRecipe recipe)
        {
            ArtifactKey.Validate(key);
            var parts = key.Split('/');
            if (parts.Length < 3 || !parts[^1].StartsWith("checkpoint-", StringComparison.Ordinal)
                || !int.TryParse(parts[^1]["checkpoint-".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                throw new ArgumentException($"Checkpoint key '{key}' is not of the form '<prefix>/<stage>/checkpoint-<step>'.", nameof(key));
            }

            var stage = parts[^2] switch
            {
                "sft" => EngineStage.Sft,
                "grpo" => EngineStage.Grpo,
                _ => throw new ArgumentException($"Checkpoint key '{key}' names an unknown stage '{parts[^2]}'.", nameof(key)),
            };
            if (!recipe.Stages.Contains(stage))
            {
                throw new ArgumentException($"Checkpoint key '{key}' is from stage '{parts[^2]}', which the recipe does not run.", nameof(key));
            }

            var prefix = string.Join('/', parts[..^2]);
            var grpoBase = stage == EngineStage.Grpo && recipe.Stages[0] == EngineStage.Sft ? EngineGpuWorkRunner.GrpoBaseKey(prefix) : null;
            return new ResumePoint(key, stage, grpoBase);
        }
    }

    /// <summary>
    /// Reports progress in the order the device produced it; a checkpoint's report waits for its upload. Once an upload
    /// has failed (for example the artifact store stayed unavailable), the next report throws its error on the device
    /// thread, so training stops instead of running on without durable checkpoints.
    /// </summary>
    private sealed class OrderedReporter(IProgress<JobProgress> progress)
    {
        private readonly Lock _gate = new();
        private Task _tail = Task.CompletedTask;

        public void Enqueue(Func<Task<JobProgress>> make)
        {
            lock (_gate)
            {
                if (_tail.IsFaulted)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(_tail.Exception!.GetBaseException()).Throw();
                }

                _tail = Next(_tail, make);
            }
        }

        public Task DrainAsync()
        {
            lock (_gate)
            {
                return _tail;
            }
        }

        public async Task DrainQuietlyAsync()
        {
            try
            {
                await DrainAsync().ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The run already failed or was cancelled; a pending upload's error adds nothing.
            }
        }

        private async Task Next(Task previous, Func<Task<JobProgress>> make)
        {
            await previous.ConfigureAwait(false);
            progress.Report(await make().ConfigureAwait(false));
        }
    }
}
