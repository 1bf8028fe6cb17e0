using System.Collections.Immutable;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Evaluation;
using DeepPerception.Abstractions.Work;
using DeepPerception.Api.Identity;
using DeepPerception.Client;
using DeepPerception.Kvg;
using DeepPerception.Storage;

namespace DeepPerception.Api.Services;

/// <summary>What an evaluation (or a leaderboard) scores on.</summary>
/// <param name="Source">kvg-synth, dataset or benchmark.</param>
/// <param name="DatasetId">The dataset (source dataset).</param>
/// <param name="DatasetVersion">Its version.</param>
/// <param name="BenchmarkId">The uploaded benchmark (source benchmark).</param>
/// <param name="TestCount">KVG-Synth test items.</param>
/// <param name="WorldSeed">KVG-Synth world seed.</param>
/// <param name="SplitSeed">KVG-Synth split seed.</param>
/// <param name="Limit">Score only the first N items.</param>
/// <param name="MaxNewTokens">Decoding length.</param>
/// <param name="Prompt">Prompt style (r1, base, ...).</param>
/// <param name="PrimaryMetric">The metric a leaderboard ranks by (default accuracy).</param>
public sealed record HarnessSpec(string Source, string? DatasetId, int? DatasetVersion, string? BenchmarkId, int? TestCount, int? WorldSeed,
    int? SplitSeed, int? Limit, int? MaxNewTokens, string? Prompt, string? PrimaryMetric = null);

/// <summary>
/// Evaluation runs of the caller's tenant on a dataset version, a generated KVG-Synth split or an uploaded KVG-Bench
/// parquet, executed by the platform on a GPU silo; the report (per domain, seen/unseen, outcome confusion per domain,
/// error gallery) is read from the report the GPU runner writes. Also uploads KVG-Bench parquet benchmarks.
/// </summary>
public sealed class EvaluationService(IGrainFactory grains, IArtifactStore store, ResourceIndex index, DatasetService datasets,
    DeepPerceptionApiOptions options)
{
    private const string Kind = "evaluations";
    private const string BenchmarkKind = "benchmarks";
    private static readonly JsonSerializerOptions MetaJson = new(JsonSerializerDefaults.Web);

    private IEvaluationRunGrain Grain(PlatformPrincipal caller, string runId) =>
        grains.GetGrain<IEvaluationRunGrain>(PlatformKeys.Scoped(caller.TenantId, runId, "evaluation id"));

    /// <summary>Uploads a KVG-Bench parquet (question_id, category, question, answer, image) after reading every row.</summary>
    public async Task<BenchmarkDto> UploadBenchmarkAsync(PlatformPrincipal caller, string benchmarkId, Stream parquet, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(parquet);
        PlatformKeys.ValidateId(benchmarkId, "benchmark id");
        var key = BenchmarkKey(caller.TenantId, benchmarkId);
        if (await store.ExistsAsync(key, cancellationToken).ConfigureAwait(false))
        {
            throw new ConflictException($"Benchmark '{benchmarkId}' already exists; benchmarks are immutable.");
        }

        using var buffer = new MemoryStream();
        await parquet.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        var bytes = buffer.ToArray();
        var categories = new SortedSet<string>(StringComparer.Ordinal);
        var count = 0;
        try
        {
            using var read = new MemoryStream(bytes, writable: false);
            await foreach (var item in KvgBenchFile.ReadAsync(read, cancellationToken).ConfigureAwait(false))
            {
                _ = item.GroundTruth;
                categories.Add(item.Category);
                count++;
            }
        }
        catch (Exception ex) when (ex is KvgFormatException or IOException or InvalidDataException or NotSupportedException or ArgumentException
                                       or InvalidOperationException or IndexOutOfRangeException)
        {
            throw new UnprocessableException($"The upload is not a readable KVG-Bench parquet: {ex.Message}");
        }

        if (count == 0)
        {
            throw new UnprocessableException("The benchmark has no rows.");
        }

        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        await store.PutBytesAsync(key, bytes, new ArtifactWriteOptions { Overwrite = false, ContentType = "application/vnd.apache.parquet" },
            cancellationToken).ConfigureAwait(false);
        var meta = new BenchmarkDto(benchmarkId, count, sha, categories.ToArray(), DateTimeOffset.UtcNow);
        await store.PutBytesAsync(key + ".meta.json", JsonSerializer.SerializeToUtf8Bytes(meta, MetaJson),
            new ArtifactWriteOptions { Overwrite = true, ContentType = "application/json" }, cancellationToken).ConfigureAwait(false);
        await index.AddAsync(caller.TenantId, BenchmarkKind, benchmarkId, cancellationToken).ConfigureAwait(false);
        return await GetBenchmarkAsync(caller, benchmarkId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Returns an uploaded benchmark.</summary>
    public async Task<BenchmarkDto> GetBenchmarkAsync(PlatformPrincipal caller, string benchmarkId, CancellationToken cancellationToken = default)
    {
        PlatformKeys.ValidateId(benchmarkId, "benchmark id");
        var key = BenchmarkKey(caller.TenantId, benchmarkId);
        if (!await store.ExistsAsync(key + ".meta.json", cancellationToken).ConfigureAwait(false))
        {
            throw new ResourceNotFoundException($"Benchmark '{benchmarkId}' does not exist.");
        }

        return JsonSerializer.Deserialize<BenchmarkDto>(await store.GetTextAsync(key + ".meta.json", cancellationToken).ConfigureAwait(false), MetaJson)
               ?? throw new ResourceNotFoundException($"Benchmark '{benchmarkId}' does not exist.");
    }

    /// <summary>Lists the uploaded benchmarks.</summary>
    public async Task<IReadOnlyList<BenchmarkDto>> ListBenchmarksAsync(PlatformPrincipal caller, CancellationToken cancellationToken = default)
    {
        var result = new List<BenchmarkDto>();
        foreach (var id in await index.ListAsync(caller.TenantId, BenchmarkKind, cancellationToken).ConfigureAwait(false))
        {
            result.Add(await GetBenchmarkAsync(caller, id, cancellationToken).ConfigureAwait(false));
        }

        return result;
    }

    /// <summary>Builds (and for dataset sources, materialises as a parquet) the pinned harness of a spec.</summary>
    public async Task<HarnessDescriptor> BuildHarnessAsync(PlatformPrincipal caller, HarnessSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(spec);
        var settings = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        var prompt = spec.Prompt ?? "r1";
        try
        {
            KvgPrompts.ParseStyle(prompt);
        }
        catch (Exception ex) when (ex is ArgumentException or KvgFormatException)
        {
            throw new InvalidRequestException($"prompt '{prompt}' is not a KVG prompt style ({ex.Message}).");
        }

        settings["prompt"] = prompt;
        settings["max_new_tokens"] = Range(spec.MaxNewTokens ?? 256, 1, 2048, "maxNewTokens");
        if (spec.Limit is { } limit)
        {
            settings["limit"] = Range(limit, 1, 1_000_000, "limit");
        }

        var metric = spec.PrimaryMetric ?? "accuracy";
        if (metric is not ("accuracy" or "mean_iou" or "seen_accuracy" or "unseen_accuracy"))
        {
            throw new InvalidRequestException($"primaryMetric must be accuracy, mean_iou, seen_accuracy or unseen_accuracy (got '{metric}').");
        }

        string harnessId, benchmarkKey, sha;
        switch (spec.Source)
        {
            case "kvg-synth":
                settings["source"] = "kvg-synth";
                settings["test_count"] = Range(spec.TestCount ?? 100, 1, 100_000, "testCount");
                settings["world_seed"] = Range(spec.WorldSeed ?? 0, 0, int.MaxValue, "worldSeed");
                settings["split_seed"] = Range(spec.SplitSeed ?? 0, 0, int.MaxValue, "splitSeed");
                harnessId = "kvg-synth";
                benchmarkKey = $"{caller.TenantId}/benchmarks/kvg-synth";
                sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
                    string.Join(";", settings.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + kv.Value)))));
                break;
            case "dataset":
                if (spec.DatasetId is null || spec.DatasetVersion is null)
                {
                    throw new InvalidRequestException("source 'dataset' needs datasetId and datasetVersion.");
                }

                settings["source"] = "parquet";
                (benchmarkKey, sha) = await MaterialiseDatasetAsync(caller, spec.DatasetId, spec.DatasetVersion.Value, cancellationToken).ConfigureAwait(false);
                harnessId = $"dataset:{spec.DatasetId}@v{spec.DatasetVersion}";
                break;
            case "benchmark":
                if (spec.BenchmarkId is null)
                {
                    throw new InvalidRequestException("source 'benchmark' needs benchmarkId.");
                }

                settings["source"] = "parquet";
                var benchmark = await GetBenchmarkAsync(caller, spec.BenchmarkId, cancellationToken).ConfigureAwait(false);
                benchmarkKey = BenchmarkKey(caller.TenantId, spec.BenchmarkId);
                sha = benchmark.Sha256;
                harnessId = $"benchmark:{spec.BenchmarkId}";
                break;
            default:
                throw new InvalidRequestException($"source must be kvg-synth, dataset or benchmark (got '{spec.Source}').");
        }

        return new HarnessDescriptor(harnessId, "1", benchmarkKey, sha, metric, settings.ToImmutable());
    }

    /// <summary>Starts an evaluation run.</summary>
    public async Task<EvaluationDto> CreateAsync(PlatformPrincipal caller, CreateEvaluationBody body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        var harness = await BuildHarnessAsync(caller, new HarnessSpec(body.Source, body.DatasetId, body.DatasetVersion, body.BenchmarkId, body.TestCount,
            body.WorldSeed, body.SplitSeed, body.Limit, body.MaxNewTokens, body.Prompt), cancellationToken).ConfigureAwait(false);
        return await SubmitAsync(caller, body.ModelId, body.ModelVersion, harness, body.RunId, body.EstimatedGpuSeconds, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Submits a run with a built harness (used by leaderboard submissions too).</summary>
    public async Task<EvaluationDto> SubmitAsync(PlatformPrincipal caller, string modelId, int modelVersion, HarnessDescriptor harness, string? runId,
        double? estimatedGpuSeconds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(harness);
        PlatformKeys.ValidateId(modelId, "model id");
        if (modelVersion < 1)
        {
            throw new InvalidRequestException($"modelVersion must be at least 1 (got {modelVersion}).");
        }

        var items = harness.Settings.TryGetValue("limit", out var l) ? int.Parse(l, CultureInfo.InvariantCulture)
            : harness.Settings.TryGetValue("test_count", out var t) ? int.Parse(t, CultureInfo.InvariantCulture) : 100;
        var estimate = estimatedGpuSeconds ?? Math.Max(1, items * options.GpuSecondsPerEvaluationItem);
        if (!double.IsFinite(estimate) || estimate <= 0 || estimate > 1e9)
        {
            throw new InvalidRequestException($"estimatedGpuSeconds must be in (0, 1e9] (got {estimate.ToString(CultureInfo.InvariantCulture)}).");
        }

        runId ??= "ev-" + Guid.NewGuid().ToString("N")[..12];
        var status = await Grain(caller, runId).SubmitAsync(new EvaluationRequest(modelId, modelVersion, harness, estimate)).ConfigureAwait(false);
        await index.AddAsync(caller.TenantId, Kind, runId, cancellationToken).ConfigureAwait(false);
        return ToDto(status);
    }

    /// <summary>Lists the tenant's evaluation runs, newest first.</summary>
    public async Task<IReadOnlyList<EvaluationDto>> ListAsync(PlatformPrincipal caller, CancellationToken cancellationToken = default)
    {
        var result = new List<EvaluationDto>();
        foreach (var id in await index.ListAsync(caller.TenantId, Kind, cancellationToken).ConfigureAwait(false))
        {
            result.Add(ToDto(await Grain(caller, id).GetStatusAsync().ConfigureAwait(false)));
        }

        return result.OrderByDescending(r => r.SubmittedAt).ToArray();
    }

    /// <summary>Returns a run.</summary>
    public async Task<EvaluationDto> GetAsync(PlatformPrincipal caller, string runId) =>
        ToDto(await Grain(caller, runId).GetStatusAsync().ConfigureAwait(false));

    /// <summary>Cancels a run.</summary>
    public async Task<EvaluationDto> CancelAsync(PlatformPrincipal caller, string runId)
    {
        var grain = Grain(caller, runId);
        await grain.GetStatusAsync().ConfigureAwait(false);
        return ToDto(await grain.CancelAsync($"cancelled by key {caller.KeyId}").ConfigureAwait(false));
    }

    /// <summary>The report of a succeeded run.</summary>
    /// <exception cref="ConflictException">The run has not succeeded (yet).</exception>
    public async Task<EvaluationReportDto> GetReportAsync(PlatformPrincipal caller, string runId, CancellationToken cancellationToken = default)
    {
        var status = await Grain(caller, runId).GetStatusAsync().ConfigureAwait(false);
        if (status.State != WorkState.Succeeded || status.Outcome?.ReportKey is not { } reportKey)
        {
            throw new ConflictException($"Evaluation '{runId}' has no report: it is {status.State.ToString().ToLowerInvariant()} ({status.StatusMessage}).");
        }

        PlatformKeys.RequireTenantArtifact(caller.TenantId, reportKey, "report");
        using var doc = JsonDocument.Parse(await store.GetTextAsync(reportKey, cancellationToken).ConfigureAwait(false));
        return BuildReport(runId, status.Outcome.Metrics, doc.RootElement, options.ErrorGallerySize);
    }

    /// <summary>The most entities an entity-confusion matrix shows per domain (the rest are folded into one row and column).</summary>
    public const int MaxConfusionEntities = 12;

    private sealed record ReportItem(string Id, string Category, string? Entity, string Text, double Iou, bool Correct, bool NoBox, string Kind,
        string Matched, bool ObjectsKnown);

    /// <summary>
    /// Builds the report from the runner's report.json (items with category, entity, text, IoU, correct and, since the
    /// entity-confusion matrix exists, the match: kind, matched entity and whether all objects of the image were known).
    /// </summary>
    public static EvaluationReportDto BuildReport(string runId, IReadOnlyDictionary<string, double> metrics, JsonElement report, int gallerySize,
        int maxConfusionEntities = MaxConfusionEntities)
    {
        var items = new List<ReportItem>();
        if (report.TryGetProperty("items", out var array) && array.ValueKind == JsonValueKind.Array)
        {
            foreach (var i in array.EnumerateArray())
            {
                var text = i.TryGetProperty("text", out var tx) ? tx.GetString() ?? string.Empty : string.Empty;
                var entity = i.TryGetProperty("entity", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
                var correct = i.TryGetProperty("correct", out var c) && c.ValueKind == JsonValueKind.True;
                var noBox = KvgAnswerParser.Parse(text).IsFailure;
                var label = entity ?? KvgBenchItem.UnnamedEntity;

                // Reports written before the match existed: correct is the target, no box is none, any other box is other.
                var kind = i.TryGetProperty("match", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()!
                    : correct ? EntityConfusionMatrix.TargetKind : noBox ? KvgEntityMatcher.None : KvgEntityMatcher.Other;
                var matched = i.TryGetProperty("matched", out var mt) && mt.ValueKind == JsonValueKind.String ? mt.GetString()!
                    : kind == EntityConfusionMatrix.TargetKind ? label : kind;
                items.Add(new ReportItem(i.GetProperty("questionId").GetString() ?? string.Empty, i.GetProperty("category").GetString() ?? string.Empty,
                    entity, text, i.TryGetProperty("iou", out var iou) && iou.ValueKind == JsonValueKind.Number ? iou.GetDouble() : 0, correct, noBox,
                    kind, matched, i.TryGetProperty("objectsKnown", out var ok) && ok.ValueKind == JsonValueKind.True));
            }
        }

        ScoreDto Score(string name, IEnumerable<ReportItem> group)
        {
            var g = group.ToArray();
            var correct = g.Count(x => x.Correct);
            return new ScoreDto(name, g.Length, correct, g.Length == 0 ? 0 : correct / (double)g.Length, g.Length == 0 ? 0 : g.Average(x => x.Iou),
                g.Count(x => x.NoBox));
        }

        var split = KvgCategorySplit.Default;
        var seen = items.Where(i => split.Seen.Contains(i.Category)).ToArray();
        var unseen = items.Where(i => split.Unseen.Contains(i.Category)).ToArray();
        var perDomain = items.GroupBy(i => i.Category, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => Score(g.Key, g)).ToArray();
        var rows = perDomain.ToDictionary(d => d.Name, d =>
        {
            var g = items.Where(i => i.Category == d.Name).ToArray();
            return (IReadOnlyList<int>)[g.Count(x => x.Correct), g.Count(x => !x.Correct && !x.NoBox), g.Count(x => x.NoBox)];
        }, StringComparer.Ordinal);
        var entities = items.GroupBy(i => i.Category, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => EntityConfusionMatrix.Build(g.Key,
                g.Select(i => new ConfusionItem(i.Entity ?? KvgBenchItem.UnnamedEntity, i.Kind, i.Matched, i.ObjectsKnown)).ToArray(), maxConfusionEntities))
            .ToArray();
        var gallery = items.Where(i => !i.Correct).OrderBy(i => i.Iou).Take(gallerySize)
            .Select(i => new ErrorItemDto(i.Id, i.Category, i.Entity, i.Text, i.Iou, i.NoBox ? "no_box" : "wrong_box", i.Matched)).ToArray();
        return new EvaluationReportDto(runId, metrics, Score("overall", items), seen.Length > 0 ? Score("seen", seen) : null,
            unseen.Length > 0 ? Score("unseen", unseen) : null, perDomain, new ConfusionDto(["correct", "wrong_box", "no_box"], rows, entities), gallery);
    }

    /// <summary>Maps a run status.</summary>
    public static EvaluationDto ToDto(EvaluationRunStatus s) => new(Mapping.LocalId(s.RunKey), s.State.ToString().ToLowerInvariant(), s.Attempt,
        s.Request.ModelId, s.Request.ModelVersion, s.Request.Harness.HarnessId, s.StatusMessage,
        s.LatestProgress is null ? null : Mapping.Progress(s.LatestProgress), s.Outcome?.Metrics, s.Outcome?.Error, s.Outcome?.ReportKey is not null,
        s.SubmittedAt, s.UpdatedAt);

    private async Task<(string Key, string Sha)> MaterialiseDatasetAsync(PlatformPrincipal caller, string datasetId, int version, CancellationToken cancellationToken)
    {
        var indexKey = await datasets.GetSamplesIndexKeyAsync(caller, datasetId, version).ConfigureAwait(false);
        PlatformKeys.RequireTenantArtifact(caller.TenantId, indexKey, "samples index");
        var key = $"{caller.TenantId}/benchmarks/datasets/{datasetId}/v{version}-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(indexKey)))[..16]}-objects.parquet";
        if (!await store.ExistsAsync(key, cancellationToken).ConfigureAwait(false))
        {
            var folder = indexKey[..indexKey.LastIndexOf('/')];
            var records = (await store.GetTextAsync(indexKey, cancellationToken).ConfigureAwait(false)).Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => JsonDocument.Parse(line).RootElement.Clone()).ToArray();
            var objectsByImage = DatasetObjects(records);
            var items = new List<KvgBenchItem>();
            foreach (var r in records)
            {
                var imagePath = r.GetProperty("image").GetString()!;
                var image = (await store.GetAsync(ArtifactKey.Combine(folder, imagePath), cancellationToken).ConfigureAwait(false)).Content;
                items.Add(new KvgBenchItem(r.GetProperty("id").GetString()!, r.GetProperty("domain").GetString()!, r.GetProperty("query").GetString()!,
                    KvgPrompts.BoxStart + r.GetProperty("answer").GetString()! + KvgPrompts.BoxEnd, image, null,
                    RecordObjects(r) ?? objectsByImage.GetValueOrDefault(imagePath)));
            }

            using var buffer = new MemoryStream();
            await KvgBenchFile.WriteAsync(buffer, items, cancellationToken: cancellationToken).ConfigureAwait(false);
            await store.PutBytesAsync(key, buffer.ToArray(), new ArtifactWriteOptions { Overwrite = true, ContentType = "application/vnd.apache.parquet" },
                cancellationToken).ConfigureAwait(false);
        }

        var bytes = (await store.GetAsync(key, cancellationToken).ConfigureAwait(false)).Content;
        return (key, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    /// <summary>
    /// Every annotated object of each image of a platform dataset, where several records share an image (COCO, ODVG or
    /// RefCOCO uploads with several annotations per image): record entity and answer box. Images with one record are
    /// absent (their other objects are unknown).
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<KvgObject>> DatasetObjects(IEnumerable<JsonElement> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        return records
            .Select(r => (Image: r.GetProperty("image").GetString()!, Object: new KvgObject(r.GetProperty("entity").GetString()!,
                KvgPrompts.ParseGroundTruth(KvgPrompts.BoxStart + r.GetProperty("answer").GetString()! + KvgPrompts.BoxEnd))))
            .GroupBy(x => x.Image, StringComparer.Ordinal)
            .Where(g => g.Count() > 1)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<KvgObject>)g.Select(x => x.Object).Distinct().ToArray(), StringComparer.Ordinal);
    }

    /// <summary>The record's own <c>objects</c> list (<c>[{entity, answer}]</c>, as KVG-Synth records carry), or null.</summary>
    /// <exception cref="UnprocessableException">The list is malformed.</exception>
    public static IReadOnlyList<KvgObject>? RecordObjects(JsonElement record)
    {
        if (!record.TryGetProperty("objects", out var objects) || objects.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var id = record.TryGetProperty("id", out var i) ? i.ToString() : "?";
        if (objects.ValueKind != JsonValueKind.Array)
        {
            throw new UnprocessableException($"Record '{id}': 'objects' must be a list of {{entity, answer}}.");
        }

        var result = new List<KvgObject>();
        foreach (var o in objects.EnumerateArray())
        {
            if (o.ValueKind != JsonValueKind.Object || !o.TryGetProperty("entity", out var e) || e.GetString() is not { Length: > 0 } entity
                || !o.TryGetProperty("answer", out var a) || a.ValueKind != JsonValueKind.String)
            {
                throw new UnprocessableException($"Record '{id}': object {result.Count} of 'objects' needs a string 'entity' and 'answer'.");
            }

            try
            {
                result.Add(new KvgObject(entity, KvgPrompts.ParseGroundTruth(KvgPrompts.BoxStart + a.GetString() + KvgPrompts.BoxEnd)));
            }
            catch (KvgFormatException ex)
            {
                throw new UnprocessableException($"Record '{id}': object {result.Count} ('{entity}') has no box answer ({ex.Message}).");
            }
        }

        return result;
    }

    private static string BenchmarkKey(string tenantId, string benchmarkId) => $"{tenantId}/benchmarks/uploaded/{benchmarkId}.parquet";

    private static string Range(int value, int min, int max, string name) =>
        value < min || value > max
            ? throw new InvalidRequestException($"{name} must be in [{min}, {max}] (got {value}).")
            : value.ToString(CultureInfo.InvariantCulture);
}
