using DeepPerception.ML.Runtime;
using TorchSharp;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace DeepPerception.ML.Qwen2VL;

/// <summary>
/// A linear layer whose parameters use PyTorch names (<c>weight</c>, <c>bias</c>) and that can carry a LoRA adapter
/// (<c>lora_A</c>, <c>lora_B</c>, PEFT names). The adapter adds <c>scaling · B(A(dropout(x)))</c> to the output.
/// </summary>
public sealed class AdaptableLinear : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "weight")]
    private readonly Parameter _weight;

    [ComponentName(Name = "bias")]
    private readonly Parameter? _bias;

    private Linear? _loraA;
    private Linear? _loraB;
    private double _loraScaling;
    private double _loraDropout;
    private readonly Dictionary<string, ServedLora> _served = new(StringComparer.Ordinal);
    private IReadOnlyList<(ServedLora Adapter, Tensor Rows)>? _routes;
    private bool _routeFlattened;

    /// <summary>Creates a layer mapping <paramref name="inFeatures"/> to <paramref name="outFeatures"/>.</summary>
    public AdaptableLinear(long inFeatures, long outFeatures, bool hasBias) : base(nameof(AdaptableLinear))
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        _weight = new Parameter(empty(outFeatures, inFeatures));
        _bias = hasBias ? new Parameter(zeros(outFeatures)) : null;
        RegisterComponents();
    }

    /// <summary>Input width.</summary>
    public long InFeatures { get; }

    /// <summary>Output width.</summary>
    public long OutFeatures { get; }

    /// <summary>The weight [out, in].</summary>
    public Parameter Weight => _weight;

    /// <summary>The bias, if any.</summary>
    public Parameter? Bias => _bias;

    /// <summary>Whether a LoRA adapter is attached.</summary>
    public bool HasLora => _loraA is not null;

    /// <summary>When false, an attached adapter is bypassed (the base layer alone computes the output).</summary>
    public bool LoraEnabled { get; set; } = true;

    /// <summary>The adapter's A matrix [r, in] (null without an adapter).</summary>
    public Linear? LoraA => _loraA;

    /// <summary>The attached adapter's scaling (alpha / r; 0 without an adapter).</summary>
    public double LoraScaling => _loraA is null ? 0 : _loraScaling;

    /// <summary>The adapter's B matrix [out, r] (null without an adapter).</summary>
    public Linear? LoraB => _loraB;

    /// <summary>Attaches a fresh adapter: A ~ Kaiming-uniform (as PEFT), B = 0, scaling = alpha / r.</summary>
    public void AttachLora(int rank, double alpha, double dropout)
    {
        if (_loraA is not null)
        {
            throw new InvalidOperationException("A LoRA adapter is already attached to this layer.");
        }

        var device = _weight.device;
        _loraA = nn.Linear(InFeatures, rank, hasBias: false, device: device);
        _loraB = nn.Linear(rank, OutFeatures, hasBias: false, device: device);
        using (no_grad())
        {
            nn.init.kaiming_uniform_(_loraA.weight!, a: Math.Sqrt(5));
            _loraB.weight!.zero_();
        }

        _loraScaling = alpha / rank;
        _loraDropout = dropout;
        register_module("lora_A", _loraA);
        register_module("lora_B", _loraB);
    }

    /// <summary>Folds the adapter into the weight (W += scaling · B·A) and removes it.</summary>
    public void MergeLora()
    {
        if (_loraA is null || _loraB is null)
        {
            return;
        }

        using (no_grad())
        {
            using var delta = _loraB.weight!.matmul(_loraA.weight!).mul(_loraScaling);
            _weight.PlusInPlace(delta);
        }

        DetachLora();
    }

    /// <summary>Removes the adapter without merging it.</summary>
    public void DetachLora()
    {
        if (_loraA is null)
        {
            return;
        }

        _internal_submodules.Remove("lora_A");
        _internal_submodules.Remove("lora_B");
        _loraA.Dispose();
        _loraB!.Dispose();
        _loraA = null;
        _loraB = null;
    }

    /// <summary>Names of the served (inference-only) adapters loaded on this layer.</summary>
    public IReadOnlyCollection<string> ServedAdapters => _served.Keys;

    /// <summary>
    /// Adds an inference-only adapter under <paramref name="name"/> (A [r, in], B [out, r], output += scaling · x·Aᵀ·Bᵀ for
    /// the rows routed to it). The layer takes ownership of the tensors.
    /// </summary>
    public void AddServedAdapter(string name, Tensor a, Tensor b, double scaling)
    {
        if (a.ndim != 2 || b.ndim != 2 || a.shape[1] != InFeatures || b.shape[0] != OutFeatures || a.shape[0] != b.shape[1])
        {
            throw new ArgumentException(
                $"Adapter '{name}' has A [{string.Join(',', a.shape)}] and B [{string.Join(',', b.shape)}]; this layer needs A [r,{InFeatures}] and B [{OutFeatures},r].");
        }

        if (!_served.TryAdd(name, new ServedLora(a, b, scaling)))
        {
            throw new InvalidOperationException($"An adapter named '{name}' is already loaded on this layer.");
        }
    }

    /// <summary>Removes and disposes a served adapter; returns false when absent.</summary>
    public bool RemoveServedAdapter(string name)
    {
        if (!_served.Remove(name, out var adapter))
        {
            return false;
        }

        adapter.A.Dispose();
        adapter.B.Dispose();
        return true;
    }

    /// <summary>
    /// Routes rows of the next forward passes to served adapters: each entry names an adapter and the row indices it
    /// applies to (rows of dimension 0, or of the input flattened to [rows, in] when <paramref name="flattened"/>).
    /// Adapters this layer does not carry are skipped. Null clears the routes.
    /// </summary>
    internal void SetRoutes(IReadOnlyList<(string Adapter, Tensor Rows)>? routes, bool flattened)
    {
        _routes = routes?.Where(r => _served.ContainsKey(r.Adapter)).Select(r => (_served[r.Adapter], r.Rows)).ToList();
        _routeFlattened = flattened;
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        var output = SmallBatchLinear.TryForward(input, _weight, _bias, InFeatures, OutFeatures) ?? F.linear(input, _weight, _bias);
        if (_routes is { Count: > 0 } routes)
        {
            output = ApplyServed(input, output, routes);
        }

        if (_loraA is null || _loraB is null || !LoraEnabled)
        {
            return output;
        }

        var x = training && _loraDropout > 0 ? F.dropout(input, _loraDropout, training) : input;
        using var scaling = _loraScaling.ToScalar();
        return output.Plus(_loraB.forward(_loraA.forward(x)).mul(scaling));
    }

    private Tensor ApplyServed(Tensor input, Tensor output, IReadOnlyList<(ServedLora Adapter, Tensor Rows)> routes)
    {
        var x = _routeFlattened ? input.reshape(-1, InFeatures) : input;
        var y = _routeFlattened ? output.reshape(-1, OutFeatures) : output;
        foreach (var (adapter, rows) in routes)
        {
            var selected = x.index_select(0, rows);
            using var scaling = adapter.Scaling.ToScalar(); // held through the native call
            var delta = selected.matmul(adapter.A.t()).matmul(adapter.B.t()).mul(scaling);
            y = y.IndexPlus(0, rows, delta.to(y.dtype));
        }

        return _routeFlattened ? y.reshape(output.shape) : y;
    }

    private sealed record ServedLora(Tensor A, Tensor B, double Scaling);
}

/// <summary>Qwen2 RMSNorm: <c>w · x / sqrt(mean(x²) + eps)</c>, computed in float32.</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "weight")]
    private readonly Parameter _weight;

    private readonly double _eps;

    /// <summary>Creates a norm over the last dimension of size <paramref name="size"/>.</summary>
    public RmsNorm(long size, double eps) : base(nameof(RmsNorm))
    {
        _eps = eps;
        _weight = new Parameter(ones(size));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = input.to(ScalarType.Float32);
        // Scalars held until the method ends (an implicit temporary could be finalized during the native call).
        using var two = 2.ToScalar();
        using var eps = _eps.ToScalar();
        var variance = x.pow(two).mean([-1L], keepdim: true);
        x = x.mul(rsqrt(variance.Plus(eps)));
        return _weight.mul(x.to(input.dtype)).MoveToOuterDisposeScope();
    }
}

/// <summary>LayerNorm with PyTorch parameter names.</summary>
public sealed class LayerNormWithBias : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "weight")]
    private readonly Parameter _weight;

    [ComponentName(Name = "bias")]
    private readonly Parameter _bias;

    private readonly long _size;
    private readonly double _eps;

    /// <summary>Creates a LayerNorm over the last dimension.</summary>
    public LayerNormWithBias(long size, double eps) : base(nameof(LayerNormWithBias))
    {
        _size = size;
        _eps = eps;
        _weight = new Parameter(ones(size));
        _bias = new Parameter(zeros(size));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => F.layer_norm(input, [_size], _weight, _bias, _eps);
}

/// <summary>Rotary helpers shared by the vision tower and the decoder.</summary>
internal static class Rotary
{
    /// <summary>[-x2, x1] over the two halves of the last dimension.</summary>
    public static Tensor RotateHalf(Tensor x)
    {
        var half = x.shape[^1] / 2;
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        return cat([x2.neg(), x1], -1);
    }

    /// <summary><c>x·cos + rotate_half(x)·sin</c>.</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin) => x.mul(cos).Plus(RotateHalf(x).mul(sin));
}
