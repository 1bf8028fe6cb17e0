using DeepPerception.ML.Runtime;
using TorchSharp;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace DeepPerception.ML.Qwen2VL;

/// <summary>Conv3d patch embedding (kernel = stride = (temporal, patch, patch), no bias), computed as one matmul.</summary>
internal sealed class PatchEmbed : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "proj")]
    private readonly Conv3d _proj;

    private readonly Qwen2VLVisionConfig _config;

    public PatchEmbed(Qwen2VLVisionConfig config) : base(nameof(PatchEmbed))
    {
        _config = config;
        _proj = nn.Conv3d(config.InChannels, config.EmbedDim,
            kernel_size: (config.TemporalPatchSize, config.PatchSize, config.PatchSize),
            stride: (config.TemporalPatchSize, config.PatchSize, config.PatchSize), bias: false);
        RegisterComponents();
    }

    public Conv3d Proj => _proj;

    /// <summary>[rows, C·T·P·P] → [rows, embed]. Equal to the Conv3d because kernel = stride covers the whole row.</summary>
    public override Tensor forward(Tensor pixelValues)
    {
        var weight = _proj.weight!;
        return F.linear(pixelValues.to(weight.dtype), weight.view(_config.EmbedDim, -1));
    }
}

/// <summary>ViT MLP: fc2(act(fc1(x))).</summary>
internal sealed class VisionMlp : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "fc1")]
    private readonly AdaptableLinear _fc1;

    [ComponentName(Name = "fc2")]
    private readonly AdaptableLinear _fc2;

    private readonly string _act;

    public VisionMlp(Qwen2VLVisionConfig config) : base(nameof(VisionMlp))
    {
        _fc1 = new AdaptableLinear(config.EmbedDim, config.MlpHidden, hasBias: true);
        _fc2 = new AdaptableLinear(config.MlpHidden, config.EmbedDim, hasBias: true);
        _act = config.HiddenAct;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        using var quickGeluScale = 1.702.ToScalar(); // held until the method ends, not an implicit temporary
        var h = _fc1.forward(x);
        h = _act switch
        {
            "quick_gelu" => h.mul(torch.sigmoid(h.mul(quickGeluScale))),
            "gelu" => F.gelu(h),
            "silu" => F.silu(h),
            _ => throw new NotSupportedException($"Vision activation '{_act}' is not supported."),
        };
        return _fc2.forward(h).MoveToOuterDisposeScope();
    }
}

/// <summary>ViT attention with 2-D rotary embeddings, restricted to each image's block.</summary>
internal sealed class VisionAttention : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "qkv")]
    private readonly AdaptableLinear _qkv;

    [ComponentName(Name = "proj")]
    private readonly AdaptableLinear _proj;

    private readonly int _heads;
    private readonly int _headDim;

    public VisionAttention(Qwen2VLVisionConfig config) : base(nameof(VisionAttention))
    {
        _heads = config.NumHeads;
        _headDim = config.HeadDim;
        _qkv = new AdaptableLinear(config.EmbedDim, config.EmbedDim * 3, hasBias: true);
        _proj = new AdaptableLinear(config.EmbedDim, config.EmbedDim, hasBias: true);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => throw new NotSupportedException("Use Forward(x, cos, sin, segments).");

    /// <summary>
    /// x [seq, dim]; cos/sin [seq, head_dim]; <paramref name="segments"/>: row counts of the images (frames) in order.
    /// Attention runs separately inside each segment, which equals one pass with a block-diagonal mask but costs
    /// Σ nᵢ² instead of (Σ nᵢ)².
    /// </summary>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, IReadOnlyList<long> segments)
    {
        using var scope = NewDisposeScope();
        var seq = x.shape[0];
        var qkv = _qkv.forward(x).reshape(seq, 3, _heads, _headDim).permute(1, 2, 0, 3); // [3, heads, seq, hd]
        var q = qkv[0];
        var k = qkv[1];
        var v = qkv[2];
        var c = cos.unsqueeze(0);
        var s = sin.unsqueeze(0);
        q = Rotary.Apply(q.to(ScalarType.Float32), c, s).to(x.dtype);
        k = Rotary.Apply(k.to(ScalarType.Float32), c, s).to(x.dtype);
        q = q.unsqueeze(0);
        k = k.unsqueeze(0);
        v = v.unsqueeze(0);
        Tensor attn;
        if (segments.Count <= 1)
        {
            attn = F.scaled_dot_product_attention(q, k, v);
        }
        else
        {
            var parts = new List<Tensor>(segments.Count);
            long start = 0;
            foreach (var n in segments)
            {
                parts.Add(F.scaled_dot_product_attention(q.narrow(2, start, n), k.narrow(2, start, n), v.narrow(2, start, n)));
                start += n;
            }

            attn = torch.cat(parts, 2);
        }

        var output = attn.squeeze(0).transpose(0, 1).reshape(seq, -1);
        return _proj.forward(output).MoveToOuterDisposeScope();
    }
}

/// <summary>ViT block: x += attn(norm1(x)); x += mlp(norm2(x)).</summary>
internal sealed class VisionBlock : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "norm1")]
    private readonly LayerNormWithBias _norm1;

    [ComponentName(Name = "norm2")]
    private readonly LayerNormWithBias _norm2;

    [ComponentName(Name = "attn")]
    private readonly VisionAttention _attn;

    [ComponentName(Name = "mlp")]
    private readonly VisionMlp _mlp;

    public VisionBlock(Qwen2VLVisionConfig config) : base(nameof(VisionBlock))
    {
        _norm1 = new LayerNormWithBias(config.EmbedDim, 1e-6);
        _norm2 = new LayerNormWithBias(config.EmbedDim, 1e-6);
        _attn = new VisionAttention(config);
        _mlp = new VisionMlp(config);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => throw new NotSupportedException("Use Forward(x, cos, sin, segments).");

    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, IReadOnlyList<long> segments)
    {
        using var scope = NewDisposeScope();
        var h = x.Plus(_attn.Forward(_norm1.forward(x), cos, sin, segments));
        h = h.Plus(_mlp.forward(_norm2.forward(h)));
        return h.MoveToOuterDisposeScope();
    }
}

/// <summary>Patch merger: LayerNorm, group each 2×2 window (4 consecutive rows), Linear, exact GELU, Linear.</summary>
internal sealed class PatchMerger : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "ln_q")]
    private readonly LayerNormWithBias _lnQ;

    [ComponentName(Name = "mlp")]
    private readonly Sequential _mlp;

    private readonly long _hidden;

    public PatchMerger(Qwen2VLVisionConfig config) : base(nameof(PatchMerger))
    {
        _hidden = (long)config.EmbedDim * config.SpatialMergeSize * config.SpatialMergeSize;
        _lnQ = new LayerNormWithBias(config.EmbedDim, 1e-6);
        _mlp = nn.Sequential(
            ("0", new AdaptableLinear(_hidden, _hidden, hasBias: true)),
            ("1", nn.GELU()),
            ("2", new AdaptableLinear(_hidden, config.HiddenSize, hasBias: true)));
        RegisterComponents();
    }

    public LayerNormWithBias LnQ => _lnQ;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return _mlp.forward(_lnQ.forward(x).view(-1, _hidden)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The Qwen2-VL vision tower: patch embedding, ViT blocks with 2-D rotary attention inside each image, patch merger.
/// Input rows are in the processor's 2×2 merge-window order.
/// </summary>
public sealed class VisionTransformer : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "patch_embed")]
    private readonly PatchEmbed _patchEmbed;

    [ComponentName(Name = "blocks")]
    private readonly ModuleList<VisionBlock> _blocks;

    [ComponentName(Name = "merger")]
    private readonly PatchMerger _merger;

    private readonly Qwen2VLVisionConfig _config;

    /// <summary>Builds the tower.</summary>
    public VisionTransformer(Qwen2VLVisionConfig config) : base(nameof(VisionTransformer))
    {
        _config = config;
        _patchEmbed = new PatchEmbed(config);
        _blocks = new ModuleList<VisionBlock>();
        for (var i = 0; i < config.Depth; i++)
        {
            _blocks.Add(new VisionBlock(config));
        }

        _merger = new PatchMerger(config);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => throw new NotSupportedException("Use Forward(pixelValues, grids).");

    /// <summary>Rotary frequencies 1/10000^(2i/(head_dim/2)).</summary>
    internal Tensor InvFreq()
    {
        var dim = _config.HeadDim / 2;
        // Scalars held through their native calls (implicit temporaries may be finalized mid-call).
        using var zero = 0.ToScalar();
        using var two = 2.ToScalar();
        using var end = dim.ToScalar();
        using var width = ((float)dim).ToScalar();
        return torch.pow(10000.0f, torch.arange(zero, end, two, dtype: ScalarType.Float32).div(width)).reciprocal();
    }

    /// <summary>Per-row rotation angles [rows, head_dim/2] = [h·inv_freq, w·inv_freq], rows in merge-window order.</summary>
    internal Tensor RotaryAngles(IReadOnlyList<ImageGrid> grids, Device device)
    {
        var m = _config.SpatialMergeSize;
        var rows = grids.Sum(g => g.Rows);
        var hpos = new long[rows];
        var wpos = new long[rows];
        var r = 0;
        foreach (var g in grids)
        {
            for (var t = 0; t < g.T; t++)
            {
                for (var bh = 0; bh < g.H / m; bh++)
                {
                    for (var bw = 0; bw < g.W / m; bw++)
                    {
                        for (var mh = 0; mh < m; mh++)
                        {
                            for (var mw = 0; mw < m; mw++)
                            {
                                hpos[r] = bh * m + mh;
                                wpos[r] = bw * m + mw;
                                r++;
                            }
                        }
                    }
                }
            }
        }

        using var scope = NewDisposeScope();
        var invFreq = InvFreq();
        var maxGrid = grids.Max(g => Math.Max(g.H, g.W));
        using var end = maxGrid.ToScalar(); // held through the native call
        var table = torch.outer(torch.arange(end, dtype: ScalarType.Float32), invFreq);
        var h = table.index_select(0, torch.tensor(hpos));
        var w = table.index_select(0, torch.tensor(wpos));
        return torch.cat([h, w], 1).to(device).MoveToOuterDisposeScope();
    }

    /// <summary>Patch embedding only (golden checks).</summary>
    internal Tensor PatchEmbedding(Tensor pixelValues) => _patchEmbed.forward(pixelValues);

    /// <summary>Runs the tower and returns each stage (golden checks).</summary>
    internal (Tensor PatchEmbed, List<Tensor> Blocks, Tensor MergerLn, Tensor Output) ForwardWithStages(Tensor pixelValues, IReadOnlyList<ImageGrid> grids)
    {
        var x = _patchEmbed.forward(pixelValues);
        var patch = x;
        var (cos, sin) = CosSin(grids, x.device);
        var segments = Segments(grids);
        var stages = new List<Tensor>();
        foreach (var block in _blocks)
        {
            x = block.Forward(x, cos, sin, segments);
            stages.Add(x);
        }

        return (patch, stages, _merger.LnQ.forward(x), _merger.forward(x));
    }

    /// <summary>[rows, C·T·P·P] pixel values of all images → [tokens, hidden] merged embeddings.</summary>
    public Tensor Forward(Tensor pixelValues, IReadOnlyList<ImageGrid> grids)
    {
        var expected = grids.Sum(g => g.Rows);
        if (pixelValues.shape.Length != 2 || pixelValues.shape[0] != expected || pixelValues.shape[1] != _config.PatchInputSize)
        {
            throw new ArgumentException($"pixel_values has shape [{string.Join(',', pixelValues.shape)}] but the grids need [{expected}, {_config.PatchInputSize}].");
        }

        using var scope = NewDisposeScope();
        var x = _patchEmbed.forward(pixelValues);
        var (cos, sin) = CosSin(grids, x.device);
        var segments = Segments(grids);
        foreach (var block in _blocks)
        {
            x = block.Forward(x, cos, sin, segments);
        }

        return _merger.forward(x).MoveToOuterDisposeScope();
    }

    private (Tensor Cos, Tensor Sin) CosSin(IReadOnlyList<ImageGrid> grids, Device device)
    {
        var angles = RotaryAngles(grids, device);
        var emb = torch.cat([angles, angles], 1);
        return (emb.cos(), emb.sin());
    }

    /// <summary>Row counts of the attention segments: one per frame (temporal patch) of every image, in order.</summary>
    private static List<long> Segments(IReadOnlyList<ImageGrid> grids)
    {
        var segments = new List<long>();
        foreach (var g in grids)
        {
            for (var t = 0; t < g.T; t++)
            {
                segments.Add((long)g.H * g.W);
            }
        }

        return segments;
    }
}

/// <summary>An image's patch grid: T frames (temporal patches) × H × W patches of 14 px.</summary>
public readonly record struct ImageGrid(int T, int H, int W)
{
    /// <summary>pixel_values rows of this image.</summary>
    public int Rows => T * H * W;

    /// <summary>Merged tokens (rows / merge²).</summary>
    public int Tokens(int mergeSize) => T * (H / mergeSize) * (W / mergeSize);
}
