using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepPerception.ML.Qwen2VL;

/// <summary>One prompt: token ids and its images (pixel rows in prompt order and their grids).</summary>
public sealed record PromptInput(long[] Ids, Tensor? PixelValues, IReadOnlyList<ImageGrid> Grids);

/// <summary>Decoding settings. Temperature 0 means greedy.</summary>
public sealed record GenerationOptions
{
    /// <summary>Upper bound on generated tokens.</summary>
    public int MaxNewTokens { get; init; } = 256;

    /// <summary>Sampling temperature; 0 = greedy (argmax).</summary>
    public double Temperature { get; init; }

    /// <summary>Keep only the k most likely tokens (0 = off).</summary>
    public int TopK { get; init; }

    /// <summary>Nucleus sampling mass (1 = off).</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Seed of the sampling generator (null = nondeterministic).</summary>
    public long? Seed { get; init; }

    /// <summary>Tokens that end a sequence (kept in the output, like HF). Empty = run to MaxNewTokens.</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];

    /// <summary>
    /// Tokens never produced (their logits are set to −∞ before choosing). Null = the model's vision placeholders
    /// (<c>&lt;|image_pad|&gt;</c>, <c>&lt;|video_pad|&gt;</c>, <c>&lt;|vision_pad|&gt;</c>), which only the processor may place.
    /// </summary>
    public IReadOnlyList<int>? SuppressTokenIds { get; init; }

    /// <summary>Token used for left padding and for finished rows.</summary>
    public int PadTokenId { get; init; }
}

/// <summary>Why a sequence ended.</summary>
public enum FinishReason
{
    /// <summary>A stop token was produced.</summary>
    Stop,

    /// <summary>MaxNewTokens was reached.</summary>
    Length,
}

/// <summary>A batch of prompts to continue.</summary>
public sealed record GenerationRequest
{
    /// <summary>The prompts (batched with left padding).</summary>
    public required IReadOnlyList<PromptInput> Prompts { get; init; }

    /// <summary>Decoding settings.</summary>
    public GenerationOptions Options { get; init; } = new();

    /// <summary>Called for every produced token: (row, token id). For streaming.</summary>
    public Action<int, int>? OnToken { get; init; }

    /// <summary>Cancels between decoding steps.</summary>
    public CancellationToken CancellationToken { get; init; }
}

/// <summary>A generated continuation with the model's log-probability of each token (temperature 1, unfiltered).</summary>
public sealed record GeneratedSequence(int[] Tokens, float[] LogProbs, FinishReason Reason);

/// <summary>Generation output with timings.</summary>
public sealed record GenerationResult(IReadOnlyList<GeneratedSequence> Sequences, int PaddedPromptLength, TimeSpan PrefillTime, TimeSpan DecodeTime, int DecodeSteps);

/// <summary>
/// Autoregressive generation with a KV cache: batched prompts are left-padded with an attention mask, decoded greedily or
/// by sampling (temperature → top-k → top-p, as Hugging Face orders its processors), stopped per row on a stop token or
/// after MaxNewTokens. One dispose scope per step; no tensor outlives the call except what the caller passed in.
/// </summary>
public static class Generation
{
    /// <summary>Runs generation. Must run on the thread that owns the model's device work.</summary>
    public static GenerationResult Generate(Qwen2VLForConditionalGeneration model, GenerationRequest request)
    {
        var options = request.Options;
        var prompts = request.Prompts;
        if (prompts.Count == 0)
        {
            throw new ArgumentException("At least one prompt is required.");
        }

        if (options.MaxNewTokens < 0 || options.Temperature < 0 || options.TopP <= 0 || options.TopP > 1 || options.TopK < 0)
        {
            throw new ArgumentException("Invalid generation options (max_new_tokens ≥ 0, temperature ≥ 0, 0 < top_p ≤ 1, top_k ≥ 0).");
        }

        using var outer = NewDisposeScope();
        using var noGrad = no_grad();
        var device = model.Device;
        var b = prompts.Count;
        var l = prompts.Max(p => p.Ids.Length);
        var padded = prompts.Any(p => p.Ids.Length != l);
        var ids = new long[b * l];
        var mask = new long[b * l];
        for (var r = 0; r < b; r++)
        {
            var p = prompts[r].Ids;
            var offset = l - p.Length;
            for (var j = 0; j < l; j++)
            {
                ids[r * l + j] = j < offset ? options.PadTokenId : p[j - offset];
                mask[r * l + j] = j < offset ? 0 : 1;
            }
        }

        var inputIds = torch.tensor(ids, [b, l], device: device);
        var maskList = new List<long[]>();
        Tensor? attentionMask = padded ? torch.tensor(mask, [b, l], device: device) : null;
        var pixelParts = prompts.Where(p => p.PixelValues is not null).Select(p => p.PixelValues!).ToList();
        var pixels = pixelParts.Count == 0 ? null : pixelParts.Count == 1 ? pixelParts[0].to(device) : torch.cat(pixelParts, 0).to(device);
        var grids = prompts.SelectMany(p => p.Grids).ToList();

        using var cache = new KvCache(model.Config, b, l + Math.Max(1, options.MaxNewTokens), device, model.DType);
        torch.Generator? gen = options.Seed is long seed ? new torch.Generator((ulong)seed, device) : null;
        var stop = options.StopTokenIds.ToHashSet();
        var suppressIds = (options.SuppressTokenIds ?? [model.Config.ImageTokenId, model.Config.VideoTokenId, model.Config.VisionTokenId])
            .Where(t => t >= 0 && t < model.Config.VocabSize).Select(t => (long)t).ToArray();
        var suppress = suppressIds.Length == 0 ? null : torch.tensor(suppressIds, device: device).DetachFromDisposeScope();
        var tokens = Enumerable.Range(0, b).Select(_ => new List<int>()).ToArray();
        var logProbs = Enumerable.Range(0, b).Select(_ => new List<float>()).ToArray();
        var finished = new FinishReason?[b];

        var sw = Stopwatch.StartNew();
        var prefill = model.Forward(new ModelInput
        {
            InputIds = inputIds, AttentionMask = attentionMask, PixelValues = pixels, ImageGrids = grids, Cache = cache, LogitsToKeep = 1,
        });
        var deltas = prefill.RopeDeltas;
        var logits = prefill.Logits.select(1, 0);
        var prefillTime = sw.Elapsed;
        sw.Restart();
        var steps = 0;
        for (var step = 0; step < options.MaxNewTokens; step++)
        {
            request.CancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var (next, lp) = Choose(logits, options, gen, suppress);
            var nextIds = next.cpu().data<long>().ToArray();
            var nextLp = lp.cpu().data<float>().ToArray();
            var feed = new long[b];
            for (var r = 0; r < b; r++)
            {
                if (finished[r] is not null)
                {
                    feed[r] = options.PadTokenId;
                    continue;
                }

                var t = (int)nextIds[r];
                tokens[r].Add(t);
                logProbs[r].Add(nextLp[r]);
                feed[r] = t;
                request.OnToken?.Invoke(r, t);
                if (stop.Contains(t))
                {
                    finished[r] = FinishReason.Stop;
                }
                else if (tokens[r].Count >= options.MaxNewTokens)
                {
                    finished[r] = FinishReason.Length;
                }
            }

            if (finished.All(f => f is not null))
            {
                break;
            }

            if (attentionMask is not null)
            {
                attentionMask = torch.cat([attentionMask, torch.ones([b, 1], ScalarType.Int64, device)], 1).MoveToOuterDisposeScope();
            }

            var positions = Qwen2VLForConditionalGeneration.DecodePositions(cache.Length, 1, deltas, device);
            var output = model.Forward(new ModelInput
            {
                InputIds = torch.tensor(feed, [b, 1], device: device), AttentionMask = attentionMask, PositionIds = positions, Cache = cache,
            });
            logits.Dispose();
            logits = output.Logits.select(1, 0).MoveToOuterDisposeScope();
            steps++;
        }

        suppress?.Dispose();
        var decodeTime = sw.Elapsed;
        var sequences = Enumerable.Range(0, b)
            .Select(r => new GeneratedSequence(tokens[r].ToArray(), logProbs[r].ToArray(), finished[r] ?? FinishReason.Length))
            .ToList();
        return new GenerationResult(sequences, l, prefillTime, decodeTime, steps);
    }

    /// <summary>Picks the next token per row from logits [B, V]; returns ids and the raw log-probabilities of the picks.</summary>
    internal static (Tensor Ids, Tensor LogProbs) Choose(Tensor logits, GenerationOptions options, torch.Generator? gen, Tensor? suppress = null)
    {
        var raw = logits.to(ScalarType.Float32);
        var logp = raw.log_softmax(-1);
        // Scalars live in variables through their native calls (implicit temporaries may be finalized mid-call).
        using var negativeInfinity = float.NegativeInfinity.ToScalar();
        if (suppress is not null)
        {
            raw = raw.index_fill(-1, suppress, negativeInfinity);
        }

        Tensor next;
        if (options.Temperature == 0)
        {
            next = raw.argmax(-1);
        }
        else
        {
            using var temperature = options.Temperature.ToScalar();
            var scores = raw.div(temperature);
            if (options.TopK > 0 && options.TopK < scores.shape[^1])
            {
                var kth = scores.topk(options.TopK, -1).values.narrow(-1, options.TopK - 1, 1);
                scores = scores.masked_fill(scores.lt(kth), negativeInfinity);
            }

            if (options.TopP < 1.0)
            {
                using var keepMass = (1 - options.TopP).ToScalar();
                using var keep = false.ToScalar();
                var (sorted, order) = scores.sort(-1, descending: false);
                var cumulative = sorted.softmax(-1).cumsum(-1);
                var remove = cumulative.le(keepMass);
                remove.index_fill_(-1, torch.tensor(new long[] { scores.shape[^1] - 1 }, device: scores.device), keep);
                var removeOriginal = torch.zeros_like(remove).scatter(-1, order, remove);
                scores = scores.masked_fill(removeOriginal, negativeInfinity);
            }

            var probs = scores.softmax(-1);
            next = torch.multinomial(probs, 1, replacement: false, generator: gen).squeeze(-1);
        }

        var picked = logp.gather(-1, next.unsqueeze(-1)).squeeze(-1);
        return (next, picked);
    }
}
