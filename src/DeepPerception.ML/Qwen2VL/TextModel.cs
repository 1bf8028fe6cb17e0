using DeepPerception.ML.Runtime;
using TorchSharp;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace DeepPerception.ML.Qwen2VL;

/// <summary>
/// A per-request key/value cache: one preallocated [batch, kv_heads, capacity, head_dim] buffer per layer for keys and
/// values (keys stored after RoPE, before the GQA repeat). The caller owns it (<c>using var cache = …</c>); modules never
/// keep request state.
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly Tensor[] _keys;
    private readonly Tensor[] _values;

    /// <summary>Allocates a cache for <paramref name="capacity"/> positions.</summary>
    public KvCache(Qwen2VLConfig config, long batch, long capacity, Device device, ScalarType dtype)
    {
        Capacity = capacity;
        Batch = batch;
        _keys = new Tensor[config.NumHiddenLayers];
        _values = new Tensor[config.NumHiddenLayers];
        for (var i = 0; i < config.NumHiddenLayers; i++)
        {
            _keys[i] = zeros([batch, config.NumKeyValueHeads, capacity, config.HeadDim], dtype, device).DetachFromDisposeScope();
            _values[i] = zeros([batch, config.NumKeyValueHeads, capacity, config.HeadDim], dtype, device).DetachFromDisposeScope();
        }
    }

    /// <summary>Positions stored so far (the same for every layer once a forward pass has finished).</summary>
    public long Length { get; private set; }

    /// <summary>Maximum positions.</summary>
    public long Capacity { get; }

    /// <summary>Batch size.</summary>
    public long Batch { get; }

    /// <summary>The layer-0 keys stored so far (golden checks).</summary>
    internal Tensor Keys(int layer) => _keys[layer].narrow(2, 0, Length);

    /// <summary>The values stored so far.</summary>
    internal Tensor Values(int layer) => _values[layer].narrow(2, 0, Length);

    /// <summary>Appends this step's keys/values for a layer and returns views of everything stored.</summary>
    internal (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v)
    {
        var n = k.shape[2];
        if (Length + n > Capacity)
        {
            throw new InvalidOperationException($"KV cache capacity {Capacity} exceeded ({Length} + {n}).");
        }

        using (no_grad())
        {
            _keys[layer].narrow(2, Length, n).copy_(k);
            _values[layer].narrow(2, Length, n).copy_(v);
        }

        return (_keys[layer].narrow(2, 0, Length + n), _values[layer].narrow(2, 0, Length + n));
    }

    /// <summary>Commits <paramref name="n"/> new positions after all layers appended.</summary>
    internal void Advance(long n) => Length += n;

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in _keys) t.Dispose();
        foreach (var t in _values) t.Dispose();
    }
}

/// <summary>Qwen2 decoder self-attention with M-RoPE and GQA.</summary>
internal sealed class DecoderAttention : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "q_proj")]
    private readonly AdaptableLinear _qProj;

    [ComponentName(Name = "k_proj")]
    private readonly AdaptableLinear _kProj;

    [ComponentName(Name = "v_proj")]
    private readonly AdaptableLinear _vProj;

    [ComponentName(Name = "o_proj")]
    private readonly AdaptableLinear _oProj;

    private readonly int _heads;
    private readonly int _kvHeads;
    private readonly int _headDim;

    public DecoderAttention(Qwen2VLConfig config) : base(nameof(DecoderAttention))
    {
        _heads = config.NumAttentionHeads;
        _kvHeads = config.NumKeyValueHeads;
        _headDim = config.HeadDim;
        _qProj = new AdaptableLinear(config.HiddenSize, _heads * _headDim, hasBias: true);
        _kProj = new AdaptableLinear(config.HiddenSize, _kvHeads * _headDim, hasBias: true);
        _vProj = new AdaptableLinear(config.HiddenSize, _kvHeads * _headDim, hasBias: true);
        _oProj = new AdaptableLinear(_heads * _headDim, config.HiddenSize, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => throw new NotSupportedException();

    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, AttentionBias bias, KvCache? cache, int layer)
    {
        using var scope = NewDisposeScope();
        var b = x.shape[0];
        var l = x.shape[1];
        var q = _qProj.forward(x).view(b, l, _heads, _headDim).transpose(1, 2);
        var k = _kProj.forward(x).view(b, l, _kvHeads, _headDim).transpose(1, 2);
        var v = _vProj.forward(x).view(b, l, _kvHeads, _headDim).transpose(1, 2);
        q = Rotary.Apply(q, cos, sin);
        k = Rotary.Apply(k, cos, sin);
        if (cache is not null)
        {
            (k, v) = cache.Append(layer, k, v);
        }

        var groups = _heads / _kvHeads;
        if (groups > 1 && l == 1 && !bias.Causal)
        {
            // One query per row (a decode step): the query heads that share a key/value head become that head's
            // queries, so attention reads the cache in place instead of a copy repeated for every group. The mask
            // ([B or 1, 1, 1, S]) applies to all of them alike.
            var grouped = F.scaled_dot_product_attention(q.reshape(b, _kvHeads, groups, _headDim), k, v, bias.Mask);
            return _oProj.forward(grouped.reshape(b, 1, _heads * _headDim)).MoveToOuterDisposeScope();
        }

        if (groups > 1)
        {
            var s = k.shape[2];
            k = k.unsqueeze(2).expand(b, _kvHeads, groups, s, _headDim).reshape(b, _heads, s, _headDim);
            v = v.unsqueeze(2).expand(b, _kvHeads, groups, s, _headDim).reshape(b, _heads, s, _headDim);
        }

        var attn = F.scaled_dot_product_attention(q, k, v, bias.Mask, is_casual: bias.Causal);
        var output = attn.transpose(1, 2).reshape(b, l, _heads * _headDim);
        return _oProj.forward(output).MoveToOuterDisposeScope();
    }
}

/// <summary>SwiGLU MLP: down(silu(gate(x)) · up(x)).</summary>
internal sealed class DecoderMlp : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "gate_proj")]
    private readonly AdaptableLinear _gate;

    [ComponentName(Name = "up_proj")]
    private readonly AdaptableLinear _up;

    [ComponentName(Name = "down_proj")]
    private readonly AdaptableLinear _down;

    public DecoderMlp(Qwen2VLConfig config) : base(nameof(DecoderMlp))
    {
        _gate = new AdaptableLinear(config.HiddenSize, config.IntermediateSize, hasBias: false);
        _up = new AdaptableLinear(config.HiddenSize, config.IntermediateSize, hasBias: false);
        _down = new AdaptableLinear(config.IntermediateSize, config.HiddenSize, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return _down.forward(F.silu(_gate.forward(x)).mul(_up.forward(x))).MoveToOuterDisposeScope();
    }
}

/// <summary>Decoder layer: x += attn(norm(x)); x += mlp(norm(x)).</summary>
internal sealed class DecoderLayer : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "self_attn")]
    private readonly DecoderAttention _attn;

    [ComponentName(Name = "mlp")]
    private readonly DecoderMlp _mlp;

    [ComponentName(Name = "input_layernorm")]
    private readonly RmsNorm _inputNorm;

    [ComponentName(Name = "post_attention_layernorm")]
    private readonly RmsNorm _postNorm;

    public DecoderLayer(Qwen2VLConfig config) : base(nameof(DecoderLayer))
    {
        _attn = new DecoderAttention(config);
        _mlp = new DecoderMlp(config);
        _inputNorm = new RmsNorm(config.HiddenSize, config.RmsNormEps);
        _postNorm = new RmsNorm(config.HiddenSize, config.RmsNormEps);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => throw new NotSupportedException();

    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, AttentionBias bias, KvCache? cache, int layer)
    {
        using var scope = NewDisposeScope();
        var h = x.Plus(_attn.Forward(_inputNorm.forward(x), cos, sin, bias, cache, layer));
        h = h.Plus(_mlp.forward(_postNorm.forward(h)));
        return h.MoveToOuterDisposeScope();
    }
}

/// <summary>An embedding table whose parameter is named <c>weight</c>.</summary>
internal sealed class TokenEmbedding : nn.Module
{
    [ComponentName(Name = "weight")]
    private readonly Parameter _weight;

    public TokenEmbedding(long vocab, long hidden) : base(nameof(TokenEmbedding))
    {
        _weight = new Parameter(empty(vocab, hidden));
        RegisterComponents();
    }

    public Parameter Weight => _weight;
}

/// <summary>How attention is restricted in one forward pass: an additive mask, or the built-in causal path.</summary>
internal sealed record AttentionBias(Tensor? Mask, bool Causal);

/// <summary>The Qwen2 decoder stack (<c>model.*</c> in checkpoints): embeddings, layers, final norm, M-RoPE.</summary>
public sealed class Qwen2VLTextModel : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "embed_tokens")]
    private readonly TokenEmbedding _embedTokens;

    [ComponentName(Name = "layers")]
    private readonly ModuleList<DecoderLayer> _layers;

    [ComponentName(Name = "norm")]
    private readonly RmsNorm _norm;

    private readonly Qwen2VLConfig _config;
    private Tensor? _invFreq;
    private Tensor? _axisIndex;

    /// <summary>Builds the decoder.</summary>
    public Qwen2VLTextModel(Qwen2VLConfig config) : base(nameof(Qwen2VLTextModel))
    {
        _config = config;
        _embedTokens = new TokenEmbedding(config.VocabSize, config.HiddenSize);
        _layers = new ModuleList<DecoderLayer>();
        for (var i = 0; i < config.NumHiddenLayers; i++)
        {
            _layers.Add(new DecoderLayer(config));
        }

        _norm = new RmsNorm(config.HiddenSize, config.RmsNormEps);
        RegisterComponents();
    }

    /// <summary>The embedding matrix [vocab, hidden].</summary>
    public Parameter EmbedTokens => _embedTokens.Weight;

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => throw new NotSupportedException();

    /// <summary>Token embeddings for ids [B, L] → [B, L, hidden].</summary>
    public Tensor Embed(Tensor inputIds) => _embedTokens.Weight.index_select(0, inputIds.flatten()).view(inputIds.shape[0], inputIds.shape[1], -1);

    /// <summary>
    /// cos/sin [B, 1, L, head_dim] after M-RoPE section selection, from position ids [3, B, L]. Dimension d takes its angle
    /// from axis (section index of d) mod 3, with the sections doubled over the two halves; with
    /// <see cref="Qwen2VLConfig.MropeInterleaved"/> from <see cref="Qwen2VLConfig.MropeAxisOfPair"/> instead.
    /// </summary>
    internal (Tensor Cos, Tensor Sin) RopeCosSin(Tensor positionIds, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var (cos3, sin3) = RopePerAxis(positionIds);
        if (_config.MropeInterleaved)
        {
            var index = AxisIndex(positionIds.device).view(1, 1, 1, -1).expand(1, cos3.shape[1], cos3.shape[2], -1);
            var cosI = cos3.gather(0, index).squeeze(0).unsqueeze(1).to(dtype);
            var sinI = sin3.gather(0, index).squeeze(0).unsqueeze(1).to(dtype);
            return (cosI.MoveToOuterDisposeScope(), sinI.MoveToOuterDisposeScope());
        }

        var sections = _config.MropeSection.Concat(_config.MropeSection).ToArray();
        var cosParts = new List<Tensor>();
        var sinParts = new List<Tensor>();
        long offset = 0;
        for (var i = 0; i < sections.Length; i++)
        {
            cosParts.Add(cos3[i % 3].narrow(-1, offset, sections[i]));
            sinParts.Add(sin3[i % 3].narrow(-1, offset, sections[i]));
            offset += sections[i];
        }

        var cos = torch.cat(cosParts, -1).unsqueeze(1).to(dtype);
        var sin = torch.cat(sinParts, -1).unsqueeze(1).to(dtype);
        return (cos.MoveToOuterDisposeScope(), sin.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The axis of every channel of a head [head_dim] (int64, <see cref="Qwen2VLConfig.MropeAxisOfPair"/> over both halves)
    /// on <paramref name="device"/>, for the interleaved layout: a constant of the config, built once per device.
    /// </summary>
    private Tensor AxisIndex(Device device)
    {
        if (_axisIndex is { } cached && cached.device_type == device.type && cached.device_index == device.index)
        {
            return cached;
        }

        _axisIndex?.Dispose();
        var axis = _config.MropeAxisOfPair();
        _axisIndex = torch.tensor(axis.Concat(axis).Select(a => (long)a).ToArray(), device: device).DetachFromDisposeScope();
        return _axisIndex;
    }

    /// <summary>
    /// The rotary inverse frequencies θ^(−2i/head_dim) [head_dim/2] (float32) on <paramref name="device"/>: a constant of the
    /// config, computed once per device rather than on every decode step.
    /// </summary>
    private Tensor InvFreq(Device device)
    {
        if (_invFreq is { } cached && cached.device_type == device.type && cached.device_index == device.index)
        {
            return cached;
        }

        _invFreq?.Dispose();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var hd = _config.HeadDim;
        // Scalars held through their native calls (implicit temporaries may be finalized mid-call).
        using var zero = 0.ToScalar();
        using var two = 2.ToScalar();
        using var headDim = hd.ToScalar();
        using var headDimF = ((float)hd).ToScalar();
        _invFreq = torch.pow((float)_config.RopeTheta, torch.arange(zero, headDim, two, dtype: ScalarType.Int64, device: device)
            .to(ScalarType.Float32).div(headDimF)).reciprocal().DetachFromDisposeScope();
        return _invFreq;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _invFreq?.Dispose();
            _invFreq = null;
            _axisIndex?.Dispose();
            _axisIndex = null;
        }

        base.Dispose(disposing);
    }

    /// <summary>Per-axis cos/sin [3, B, L, head_dim] of [p·inv_freq, p·inv_freq] (float32).</summary>
    internal (Tensor Cos, Tensor Sin) RopePerAxis(Tensor positionIds)
    {
        using var scope = NewDisposeScope();
        var invFreq = InvFreq(positionIds.device);
        var pos = positionIds.to(ScalarType.Float32);
        var freqs = pos.unsqueeze(-1).mul(invFreq); // [3, B, L, hd/2]
        var emb = torch.cat([freqs, freqs], -1);
        return (emb.cos().MoveToOuterDisposeScope(), emb.sin().MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Runs the decoder on input embeddings [B, L, hidden] with position ids [3, B, L]. <paramref name="attentionMask"/>
    /// [B, past + L] (1 = token, 0 = padding) may be null when no row is padded. Returns the final-norm hidden states; when
    /// <paramref name="afterLayer0"/> is given it receives the residual stream after layer 0 (golden checks).
    /// </summary>
    public Tensor Forward(Tensor inputsEmbeds, Tensor positionIds, Tensor? attentionMask, KvCache? cache, Action<Tensor>? afterLayer0 = null)
    {
        using var scope = NewDisposeScope();
        var b = inputsEmbeds.shape[0];
        var l = inputsEmbeds.shape[1];
        var past = cache?.Length ?? 0;
        var (cos, sin) = RopeCosSin(positionIds, inputsEmbeds.dtype);
        var bias = BuildBias(attentionMask, b, l, past, inputsEmbeds.dtype, inputsEmbeds.device);
        var h = inputsEmbeds;
        for (var i = 0; i < _layers.Count; i++)
        {
            h = _layers[i].Forward(h, cos, sin, bias, cache, i);
            if (i == 0)
            {
                afterLayer0?.Invoke(h);
            }
        }

        cache?.Advance(l);
        return _norm.forward(h).MoveToOuterDisposeScope();
    }

    private static AttentionBias BuildBias(Tensor? attentionMask, long b, long l, long past, ScalarType dtype, Device device)
    {
        var total = past + l;
        using var zero = 0.ToScalar(); // scalars held through their native calls (implicit temporaries may be finalized mid-call)
        var padded = attentionMask is not null && attentionMask.eq(zero).any().item<bool>();
        if (!padded)
        {
            if (l == 1)
            {
                return new AttentionBias(null, false);
            }

            if (past == 0)
            {
                return new AttentionBias(null, true);
            }
        }

        // key j is visible to query i (absolute position past + i) iff j <= past + i and key j is not padding.
        using var pastScalar = past.ToScalar();
        using var totalScalar = total.ToScalar();
        using var lowest = float.MinValue.ToScalar();
        var q = torch.arange(pastScalar, totalScalar, device: device).unsqueeze(1);
        var k = torch.arange(zero, totalScalar, device: device).unsqueeze(0);
        var visible = k.le(q).unsqueeze(0).unsqueeze(0); // [1, 1, L, total]
        if (padded)
        {
            var keyOk = attentionMask!.narrow(1, 0, total).to(ScalarType.Bool).view(b, 1, 1, total);
            visible = visible.logical_and(keyOk);
        }

        var mask = torch.zeros(visible.shape, dtype, device).masked_fill(visible.logical_not(), lowest);
        return new AttentionBias(mask, false);
    }
}
