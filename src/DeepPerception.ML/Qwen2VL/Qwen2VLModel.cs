using DeepPerception.ML.Runtime;
using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace DeepPerception.ML.Qwen2VL;

/// <summary>Inputs of one forward pass. Tensors belong to the caller.</summary>
public sealed record ModelInput
{
    /// <summary>Token ids [B, L] (int64).</summary>
    public required Tensor InputIds { get; init; }

    /// <summary>[B, past + L] with 1 for tokens and 0 for left padding; null when no row is padded.</summary>
    public Tensor? AttentionMask { get; init; }

    /// <summary>Pixel rows of all images of the batch [rows, C·T·P·P], in prompt order.</summary>
    public Tensor? PixelValues { get; init; }

    /// <summary>Patch grids of those images, in prompt order.</summary>
    public IReadOnlyList<ImageGrid> ImageGrids { get; init; } = [];

    /// <summary>Explicit position ids [3, B, L]; computed with <see cref="RopeIndex"/> when null and no cache is in use.</summary>
    public Tensor? PositionIds { get; init; }

    /// <summary>Per-request cache; when given, keys/values of this pass are appended.</summary>
    public KvCache? Cache { get; init; }

    /// <summary>When positive, logits only for the last N positions (generation needs 1).</summary>
    public int LogitsToKeep { get; init; }
}

/// <summary>Outputs of one forward pass.</summary>
public sealed record ModelOutput(Tensor Logits, long[] RopeDeltas);

/// <summary>
/// Qwen2-VL for conditional generation: vision tower (<c>visual.*</c>), Qwen2 decoder (<c>model.*</c>) and
/// <c>lm_head</c>, with Hugging Face parameter names so checkpoints load strictly.
/// </summary>
public sealed class Qwen2VLForConditionalGeneration : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "visual")]
    private readonly VisionTransformer _visual;

    [ComponentName(Name = "model")]
    private readonly Qwen2VLTextModel _model;

    [ComponentName(Name = "lm_head")]
    private readonly AdaptableLinear? _lmHead;

    /// <summary>Builds an uninitialised model (weights are filled by loading or <see cref="InitializeWeights"/>).</summary>
    public Qwen2VLForConditionalGeneration(Qwen2VLConfig config) : base(nameof(Qwen2VLForConditionalGeneration))
    {
        Config = config.Validate();
        _visual = new VisionTransformer(config.Vision);
        _model = new Qwen2VLTextModel(config);
        _lmHead = config.TieWordEmbeddings ? null : new AdaptableLinear(config.HiddenSize, config.VocabSize, hasBias: false);
        RegisterComponents();
    }

    /// <summary>The configuration.</summary>
    public Qwen2VLConfig Config { get; }

    /// <summary>The vision tower.</summary>
    public VisionTransformer Visual => _visual;

    /// <summary>The decoder.</summary>
    public Qwen2VLTextModel TextModel => _model;

    /// <summary>Device of the parameters.</summary>
    public Device Device => _model.EmbedTokens.device;

    /// <summary>Dtype of the parameters.</summary>
    public ScalarType DType => _model.EmbedTokens.dtype;

    /// <inheritdoc />
    public override Tensor forward(Tensor inputIds) => Forward(new ModelInput { InputIds = inputIds }).Logits;

    /// <summary>
    /// Initialises weights like Hugging Face (normal(0, <paramref name="std"/>) for linear/conv/embedding weights, zero
    /// biases, unit norm scales), deterministically from <paramref name="seed"/>.
    /// </summary>
    public void InitializeWeights(long seed, double std = 0.02)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var gen = new Generator((ulong)seed, Device);
        foreach (var (name, p) in named_parameters())
        {
            if (name.EndsWith(".bias", StringComparison.Ordinal))
            {
                p.zero_();
            }
            else if (name.Contains("norm", StringComparison.Ordinal) || name.Contains("ln_q", StringComparison.Ordinal))
            {
                using var one = 1.0.ToScalar();
                p.fill_(one);
            }
            else if (name.Contains("lora_B", StringComparison.Ordinal))
            {
                p.zero_();
            }
            else
            {
                p.copy_(torch.randn(p.shape, p.dtype, p.device, generator: gen).mul(std));
            }
        }
    }

    /// <summary>Logits from final hidden states.</summary>
    public Tensor LmHead(Tensor hidden) =>
        _lmHead is null
            ? SmallBatchLinear.TryForward(hidden, _model.EmbedTokens, null, Config.HiddenSize, Config.VocabSize) ?? F.linear(hidden, _model.EmbedTokens)
            : _lmHead.forward(hidden);

    /// <summary>Token embeddings with the image-token rows replaced, in order, by the vision tower's output.</summary>
    public Tensor InputsEmbeds(Tensor inputIds, Tensor? pixelValues, IReadOnlyList<ImageGrid> grids)
    {
        using var scope = NewDisposeScope();
        var embeds = _model.Embed(inputIds);
        if (pixelValues is null)
        {
            return embeds.MoveToOuterDisposeScope();
        }

        var imageEmbeds = _visual.Forward(pixelValues, grids);
        using var imageToken = Config.ImageTokenId.ToScalar(); // held through the native call
        var positions = inputIds.flatten().eq(imageToken).nonzero().squeeze(1);
        if (positions.shape[0] != imageEmbeds.shape[0])
        {
            throw new ArgumentException($"Image features and image tokens do not match: tokens {positions.shape[0]}, features {imageEmbeds.shape[0]}.");
        }

        var flat = embeds.view(-1, Config.HiddenSize).index_copy(0, positions, imageEmbeds.to(embeds.dtype));
        return flat.view(embeds.shape).MoveToOuterDisposeScope();
    }

    /// <summary>M-RoPE position ids for a prompt batch as a tensor [3, B, L], with the per-row deltas.</summary>
    public (Tensor PositionIds, long[] Deltas) PositionIds(Tensor inputIds, Tensor? attentionMask, IReadOnlyList<ImageGrid> grids)
    {
        var ids = ToRows(inputIds);
        var mask = attentionMask is null ? null : ToRows(attentionMask.narrow(1, attentionMask.shape[1] - inputIds.shape[1], inputIds.shape[1]));
        var rope = RopeIndex.Compute(Config, ids, mask, grids);
        var b = ids.Length;
        var l = ids[0].Length;
        var flat = new long[3 * b * l];
        Buffer.BlockCopy(rope.Ids, 0, flat, 0, flat.Length * sizeof(long));
        return (torch.tensor(flat, [3, b, l], device: inputIds.device), rope.Deltas);
    }

    /// <summary>Decoding positions [3, B, L] for new tokens at cache position <paramref name="start"/>: start + i + delta.</summary>
    public static Tensor DecodePositions(long start, long length, long[] deltas, Device device)
    {
        var b = deltas.Length;
        var flat = new long[3 * b * length];
        for (var a = 0; a < 3; a++)
        {
            for (var r = 0; r < b; r++)
            {
                for (var i = 0; i < length; i++)
                {
                    flat[(a * b + r) * length + i] = start + i + deltas[r];
                }
            }
        }

        return torch.tensor(flat, [3, b, length], device: device);
    }

    /// <summary>
    /// One forward pass. Without a cache, or with an empty one (prefill), positions come from <see cref="RopeIndex"/>;
    /// with a filled cache, pass <see cref="ModelInput.PositionIds"/> (see <see cref="DecodePositions"/>).
    /// </summary>
    public ModelOutput Forward(ModelInput input)
    {
        using var scope = NewDisposeScope();
        var embeds = InputsEmbeds(input.InputIds, input.PixelValues, input.ImageGrids);
        long[] deltas;
        Tensor positions;
        if (input.PositionIds is not null)
        {
            positions = input.PositionIds;
            deltas = [];
        }
        else if (input.Cache is null || input.Cache.Length == 0)
        {
            (positions, deltas) = PositionIds(input.InputIds, input.AttentionMask, input.ImageGrids);
        }
        else
        {
            throw new ArgumentException("A forward pass on a filled cache needs explicit position ids (DecodePositions).");
        }

        var hidden = _model.Forward(embeds, positions, input.AttentionMask, input.Cache);
        if (input.LogitsToKeep > 0)
        {
            hidden = hidden.narrow(1, hidden.shape[1] - input.LogitsToKeep, input.LogitsToKeep);
        }

        var logits = LmHead(hidden);
        return new ModelOutput(logits.MoveToOuterDisposeScope(), deltas);
    }

    /// <summary>All <see cref="AdaptableLinear"/> layers with their full names.</summary>
    public IEnumerable<(string Name, AdaptableLinear Layer)> Linears() =>
        named_modules().Where(m => m.module is AdaptableLinear).Select(m => (m.name, (AdaptableLinear)m.module));

    private static long[][] ToRows(Tensor t)
    {
        using var cpu = t.to(ScalarType.Int64).cpu();
        var data = cpu.data<long>().ToArray();
        var rows = (int)t.shape[0];
        var cols = (int)t.shape[1];
        var result = new long[rows][];
        for (var r = 0; r < rows; r++)
        {
            result[r] = data.AsSpan(r * cols, cols).ToArray();
        }

        return result;
    }
}
