using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Serving;
using DeepPerception.Grains.Serving;
using DeepPerception.Kvg;
using DeepPerception.ML.Kvg;
using DeepPerception.ML.Preprocessing.Images;
using DeepPerception.ML.Preprocessing.Text;
using DeepPerception.ML.Qwen2VL;
using DeepPerception.ML.Runtime;
using DeepPerception.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DeepPerception.Grains.Gpu;

/// <summary>
/// The production <see cref="IGroundingRunner"/>: decodes each image with the hardened decoder on the caller's thread,
/// then hands the request to a <see cref="DynamicBatcher{TKey, TRequest, TResult}"/> keyed by checkpoint and decoding
/// settings. Each batch runs as one batched generation on the silo's <see cref="DeviceWorker"/> (the images' vision
/// encoding batched too), between whatever training steps are queued there. Loaded checkpoints are cached (least
/// recently used out) and shared by every tenant request that names them.
/// </summary>
public sealed partial class EngineGroundingRunner : IGroundingRunner, IAsyncDisposable
{
    private readonly IArtifactStore _store;
    private readonly DeviceWorker _worker;
    private readonly EngineGpuWorkerOptions _options;
    private readonly ILogger<EngineGroundingRunner> _logger;
    private readonly SafeImageDecoder _decoder;

    // Each served checkpoint's image processor (the same settings for the checkpoint's whole life), kept after eviction.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Qwen2VLImageProcessor> _processors = new(StringComparer.Ordinal);
    private readonly DynamicBatcher<BatchKey, Pending, GroundOutcome> _batcher;
    private readonly LinkedList<LoadedModel> _models = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Task<string?>> _adapterBases = new(StringComparer.Ordinal);

    /// <summary>Creates the runner and starts its batcher.</summary>
    public EngineGroundingRunner(IArtifactStore store, DeviceWorker worker, IOptions<EngineGpuWorkerOptions> options, ILogger<EngineGroundingRunner> logger)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _worker = worker ?? throw new ArgumentNullException(nameof(worker));
        _options = options?.Value ?? throw new ArgumentNullException(nameof(options));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _decoder = new SafeImageDecoder();
        _batcher = new DynamicBatcher<BatchKey, Pending, GroundOutcome>(
            new DynamicBatcherOptions
            {
                MaxBatchSize = _options.ServingMaxBatchSize,
                MaxWait = TimeSpan.FromMilliseconds(_options.ServingMaxWaitMs),
                AdaptiveWait = _options.ServingAdaptiveWait,
                MaxQueueLength = _options.ServingMaxQueueLength,
            },
            RunBatchAsync);
    }

    /// <summary>Checkpoints currently loaded, most recently used first.</summary>
    public IReadOnlyList<string> LoadedCheckpoints
    {
        get
        {
            lock (_models)
            {
                return _models.Select(m => m.Key).Concat(_models.SelectMany(m => m.Adapters)).ToList();
            }
        }
    }

    /// <inheritdoc />
    public async Task<GroundOutcome> GroundAsync(GroundWork work, Action<string>? onText, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        var arrived = Stopwatch.GetTimestamp();
        var settings = (work.Settings ?? throw new InvalidRequestException("The ground settings are missing.")).Validate();
        ArtifactKey.Validate(work.CheckpointKey);

        // A LoRA version is served as an adapter on its (shared, cached) base: requests of different versions of one base
        // then share batches. Other versions are served from their own weights.
        var adapterBase = await _adapterBases.GetOrAdd(work.CheckpointKey, key => ServingAdapter.ReadBaseAsync(_store, key, CancellationToken.None))
            .ConfigureAwait(false);
        var modelKey = adapterBase ?? work.CheckpointKey;

        // Decode and preprocess on the thread pool, in parallel with other requests and with the device's work; the
        // processor is known once the model has been loaded, and the batch then only turns pixel arrays into tensors.
        var (image, processed) = await Task.Run(() =>
        {
            RgbImage decoded;
            try
            {
                decoded = _decoder.Decode(work.Image);
            }
            catch (ImageDecodeException e)
            {
                throw new ImageRefusedException(e.Reason.ToString(), e.Message);
            }

            return (decoded, _processors.TryGetValue(modelKey, out var processor) ? processor.Process(decoded) : null);
        }, cancellationToken).ConfigureAwait(false);
        var decodeTime = Stopwatch.GetElapsedTime(arrived);
        try
        {
            return await _batcher.EnqueueAsync(new BatchKey(modelKey, settings),
                new Pending(work, image, processed, arrived, decodeTime, onText, adapterBase is null ? null : work.CheckpointKey),
                cancellationToken).ConfigureAwait(false);
        }
        catch (BatcherQueueFullException e)
        {
            throw new QuotaExceededException(e.Message);
        }
    }

    /// <inheritdoc />
    public GroundingStats GetStats(string siloId) => new(
        siloId, _batcher.Requests, _batcher.Batches, _batcher.Options.MaxBatchSize, _batcher.Options.MaxWait.TotalMilliseconds,
        _batcher.QueueLength, [.. LoadedCheckpoints]);

    /// <summary>Stops the batcher and releases the loaded models on the device thread.</summary>
    public async ValueTask DisposeAsync()
    {
        await _batcher.DisposeAsync().ConfigureAwait(false);
        List<LoadedModel> models;
        lock (_models)
        {
            models = _models.ToList();
            _models.Clear();
        }

        foreach (var model in models)
        {
            try
            {
                await _worker.RunAsync(model.Dispose).ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                // The device worker is already gone with its tensors.
            }
        }
    }

    /// <summary>The reasoning of a completion: the text inside its first &lt;think&gt;…&lt;/think&gt; block.</summary>
    public static string? Reasoning(string text)
    {
        var match = ThinkBlock().Match(text);
        return match.Success ? match.Groups[1].Value.Trim() : null;
    }

    /// <summary>The API's name of a parse status.</summary>
    public static string StatusName(ParseStatus status) => status switch
    {
        ParseStatus.Parsed => "parsed",
        ParseStatus.NoMatch => "no_match",
        ParseStatus.ConversionFailed => "conversion_failed",
        _ => status.ToString().ToLowerInvariant(),
    };

    private async Task<IReadOnlyList<GroundOutcome>> RunBatchAsync(BatchKey key, IReadOnlyList<BatchEntry<Pending>> batch, CancellationToken stop)
    {
        var loaded = await ModelAsync(key.CheckpointKey, stop).ConfigureAwait(false);
        foreach (var adapter in batch.Select(e => e.Request.Adapter).OfType<string>().Distinct(StringComparer.Ordinal))
        {
            await EnsureAdapterAsync(loaded, adapter, stop).ConfigureAwait(false);
        }

        var model = loaded.Model;
        var options = new GroundOptions
        {
            Prompt = key.Settings.Prompt == "base" ? KvgPromptStyle.None : KvgPromptStyle.R1,
            MaxNewTokens = key.Settings.MaxNewTokens,
            Temperature = key.Settings.Temperature,
            TopK = key.Settings.TopK,
            TopP = key.Settings.TopP,
            Seed = key.Settings.Seed,
        };
        var started = Stopwatch.GetTimestamp();
        var results = await _worker.RunAsync(() =>
        {
            var streams = batch.Select(e => e.Request.OnText is null ? null : new TokenStreamDecoder(model.Tokenizer)).ToArray();
            Action<int, int>? onToken = streams.Any(s => s is not null)
                ? (row, id) =>
                {
                    if (streams[row] is { } decoder && decoder.Append(id) is { Length: > 0 } delta)
                    {
                        Emit(batch[row].Request, delta);
                    }
                }
                : null;
            var answers = model.Ground(batch.Select(e => new GroundRequest(e.Request.Image, e.Request.Work.Query, e.Request.Adapter, e.Request.Processed)).ToList(),
                options, onToken, stop);
            for (var i = 0; i < streams.Length; i++)
            {
                if (streams[i]?.Flush() is { Length: > 0 } rest)
                {
                    Emit(batch[i].Request, rest);
                }
            }

            return answers;
        }, stop).ConfigureAwait(false);
        var modelTime = Stopwatch.GetElapsedTime(started);
        var gpuSeconds = modelTime.TotalSeconds / batch.Count;
        var outcomes = new GroundOutcome[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var pending = batch[i].Request;
            var r = results[i];
            var timings = new GroundTimings(
                QueueMs: batch[i].QueuedFor.TotalMilliseconds,
                PreprocessMs: (pending.DecodeTime + r.PreprocessTime).TotalMilliseconds,
                PrefillMs: r.PrefillTime.TotalMilliseconds,
                DecodeMs: r.DecodeTime.TotalMilliseconds,
                ModelMs: modelTime.TotalMilliseconds,
                TotalMs: Stopwatch.GetElapsedTime(pending.Arrived).TotalMilliseconds,
                BatchSize: batch.Count);
            outcomes[i] = new GroundOutcome(
                pending.Work.RequestId, pending.Work.CheckpointKey, pending.Image.Width, pending.Image.Height,
                r.PixelBox is { } p ? new BoxCoordinates(p.X1, p.Y1, p.X2, p.Y2) : null,
                r.ModelBox is { } m ? new BoxCoordinates(m.X1, m.Y1, m.X2, m.Y2) : null,
                model.Convention.Family, r.Text, Reasoning(r.Text), StatusName(r.Parsed.Status), r.PromptTokens, r.GeneratedTokens,
                r.FinishReason.ToString().ToLowerInvariant(), timings, gpuSeconds, SiloId: string.Empty);
        }

        return outcomes;
    }

    private void Emit(Pending pending, string delta)
    {
        try
        {
            pending.OnText!(delta);
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "A stream listener of request {RequestId} failed; the request goes on.", pending.Work.RequestId);
        }
    }

    private async Task<LoadedModel> ModelAsync(string checkpointKey, CancellationToken cancellationToken)
    {
        lock (_models)
        {
            for (var node = _models.First; node is not null; node = node.Next)
            {
                if (node.Value.Key == checkpointKey)
                {
                    _models.Remove(node);
                    _models.AddFirst(node);
                    return node.Value;
                }
            }
        }

        // Only the batcher's single loop loads models and adapters, so no two loads of one key race.
        var directory = await DownloadAsync(checkpointKey, checkpointKey, cancellationToken).ConfigureAwait(false);
        var stopwatch = Stopwatch.StartNew();
        var model = await _worker.RunAsync(() => KvgModel.Load(directory, _worker.Device, maxPixels: _options.ServingMaxPixels).DetachFromDisposeScope(), cancellationToken)
            .ConfigureAwait(false);
        _logger.LogInformation("Loaded checkpoint {CheckpointKey} for serving in {Elapsed} ms.", checkpointKey, stopwatch.ElapsedMilliseconds);
        _processors[checkpointKey] = model.Processor;
        var loaded = new LoadedModel(checkpointKey, model);
        LoadedModel? evicted = null;
        lock (_models)
        {
            _models.AddFirst(loaded);
            if (_models.Count > _options.ServingMaxLoadedModels)
            {
                evicted = _models.Last!.Value;
                _models.RemoveLast();
            }
        }

        if (evicted is not null)
        {
            await _worker.RunAsync(evicted.Dispose, CancellationToken.None).ConfigureAwait(false);
        }

        return loaded;
    }

    private async Task EnsureAdapterAsync(LoadedModel loaded, string versionKey, CancellationToken cancellationToken)
    {
        lock (_models)
        {
            if (loaded.Adapters.Remove(versionKey))
            {
                loaded.Adapters.AddFirst(versionKey);
                return;
            }
        }

        var adapterKey = ArtifactKey.Combine(versionKey, ServingAdapter.Folder);
        var directory = await DownloadAsync(adapterKey, adapterKey, cancellationToken).ConfigureAwait(false);
        var layers = await _worker.RunAsync(() => ServedAdapters.Load(loaded.Model.Model, versionKey, directory), cancellationToken).ConfigureAwait(false);
        _logger.LogInformation("Loaded the LoRA adapter of {VersionKey} ({Layers} layers) on {BaseKey}.", versionKey, layers, loaded.Key);
        string? evicted = null;
        lock (_models)
        {
            loaded.Adapters.AddFirst(versionKey);
            if (loaded.Adapters.Count > _options.ServingMaxAdaptersPerModel)
            {
                evicted = loaded.Adapters.Last!.Value;
                loaded.Adapters.RemoveLast();
            }
        }

        if (evicted is not null)
        {
            await _worker.RunAsync(() => ServedAdapters.Unload(loaded.Model.Model, evicted), CancellationToken.None).ConfigureAwait(false);
        }
    }

    private async Task<string> DownloadAsync(string folderKey, string cacheKey, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(_options.WorkDirectory, "serving",
            Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(cacheKey)))[..24]);
        var done = Path.Combine(directory, ".complete");
        if (!File.Exists(done))
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }

            try
            {
                await ArtifactFolders.DownloadAsync(_store, folderKey, directory, cancellationToken).ConfigureAwait(false);
            }
            catch (ArtifactNotFoundException)
            {
                throw new ResourceNotFoundException($"The checkpoint '{folderKey}' is not in the artifact store.");
            }

            await File.WriteAllTextAsync(done, folderKey, cancellationToken).ConfigureAwait(false);
        }

        return directory;
    }

    [GeneratedRegex(@"<think>(.*?)</think>", RegexOptions.Singleline)]
    private static partial Regex ThinkBlock();

    private sealed record BatchKey(string CheckpointKey, GroundSettings Settings);

    private sealed record Pending(GroundWork Work, RgbImage Image, ProcessedImage? Processed, long Arrived, TimeSpan DecodeTime, Action<string>? OnText, string? Adapter);

    private sealed class LoadedModel(string key, KvgModel model)
    {
        public string Key { get; } = key;

        public KvgModel Model { get; } = model;

        /// <summary>Served adapters (model version keys), most recently used first.</summary>
        public LinkedList<string> Adapters { get; } = new();

        /// <summary>Releases the adapters' tensors and the model (on the device thread).</summary>
        public void Dispose()
        {
            foreach (var adapter in Adapters)
            {
                ServedAdapters.Unload(Model.Model, adapter);
            }

            Adapters.Clear();
            Model.Dispose();
        }
    }
}
