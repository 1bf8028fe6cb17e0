using DeepPerception.Checkpoints;
using DeepPerception.ML.Qwen2VL;
using DeepPerception.ML.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DeepPerception.ML.Training;

/// <summary>
/// AdamW with PyTorch's update rule (decoupled weight decay, bias-corrected moments, eps added after the square root),
/// with state that saves to and loads from safetensors so a resumed run continues bit-identically.
/// </summary>
public sealed class AdamW : IDisposable
{
    private readonly IReadOnlyList<(string Name, Parameter Param)> _params;
    private readonly Dictionary<string, (Tensor M, Tensor V)> _state = new(StringComparer.Ordinal);

    /// <summary>Creates the optimiser over named parameters.</summary>
    public AdamW(IEnumerable<(string Name, Parameter Param)> parameters, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0.0)
    {
        _params = parameters.ToList();
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
    }

    /// <summary>β1.</summary>
    public double Beta1 { get; }

    /// <summary>β2.</summary>
    public double Beta2 { get; }

    /// <summary>ε.</summary>
    public double Eps { get; }

    /// <summary>Decoupled weight decay.</summary>
    public double WeightDecay { get; }

    /// <summary>Updates taken so far.</summary>
    public long StepCount { get; private set; }

    /// <summary>The optimised parameters.</summary>
    public IReadOnlyList<(string Name, Parameter Param)> Parameters => _params;

    /// <summary>Clears gradients.</summary>
    public void ZeroGrad()
    {
        foreach (var (_, p) in _params)
        {
            p.grad?.zero_();
        }
    }

    /// <summary>Clips the global gradient norm to <paramref name="maxNorm"/>; returns the norm before clipping.</summary>
    public double ClipGradNorm(double maxNorm)
    {
        using var scope = NewDisposeScope();
        var grads = _params.Select(p => p.Param.grad).Where(g => g is not null).Select(g => g!).ToList();
        if (grads.Count == 0)
        {
            return 0;
        }

        var total = torch.stack(grads.Select(g => g.to(ScalarType.Float32).norm()).ToList()).norm().item<float>();
        if (maxNorm > 0 && total > maxNorm)
        {
            // Scalars are held in variables until the loop ends: an implicit temporary could be finalized (and its native
            // value freed) by the garbage collector while the native call still reads it.
            using var coef = (maxNorm / (total + 1e-6)).ToScalar();
            using var _ = no_grad();
            foreach (var g in grads)
            {
                g.mul_(coef);
            }
        }

        return total;
    }

    /// <summary>One update at learning rate <paramref name="lr"/>.</summary>
    public void Step(double lr)
    {
        StepCount++;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var bias1 = 1 - Math.Pow(Beta1, StepCount);
        var bias2 = 1 - Math.Pow(Beta2, StepCount);
        // One Scalar per constant, alive until the step ends (see ClipGradNorm on implicit temporaries).
        using var decay = (1 - lr * WeightDecay).ToScalar();
        using var beta1 = Beta1.ToScalar();
        using var oneMinusBeta1 = (1 - Beta1).ToScalar();
        using var beta2 = Beta2.ToScalar();
        using var oneMinusBeta2 = (1 - Beta2).ToScalar();
        using var bias2Root = Math.Sqrt(bias2).ToScalar();
        using var eps = Eps.ToScalar();
        using var stepSize = (-lr / bias1).ToScalar();
        foreach (var (name, p) in _params)
        {
            var g = p.grad;
            if (g is null)
            {
                continue;
            }

            if (!_state.TryGetValue(name, out var s))
            {
                s = (torch.zeros_like(p).DetachFromDisposeScope(), torch.zeros_like(p).DetachFromDisposeScope());
                _state[name] = s;
            }

            if (WeightDecay != 0)
            {
                p.mul_(decay);
            }

            s.M.mul_(beta1).add_(g, alpha: oneMinusBeta1);
            s.V.mul_(beta2).addcmul_(g, g, value: oneMinusBeta2);
            var denom = s.V.sqrt().div_(bias2Root).PlusInPlace(eps);
            p.addcdiv_(s.M, denom, value: stepSize);
        }
    }

    /// <summary>Saves moments and the step count.</summary>
    public void Save(string path)
    {
        var tensors = new List<SafetensorsTensor>();
        foreach (var (name, (m, v)) in _state)
        {
            tensors.Add(Qwen2VLCheckpoint.ToSafetensors("exp_avg." + name, m, SafetensorsDType.F32));
            tensors.Add(Qwen2VLCheckpoint.ToSafetensors("exp_avg_sq." + name, v, SafetensorsDType.F32));
        }

        Safetensors.Write(path, tensors, new Dictionary<string, string> { ["step"] = StepCount.ToString(System.Globalization.CultureInfo.InvariantCulture) });
    }

    /// <summary>Loads moments and the step count saved by <see cref="Save"/>.</summary>
    public void Load(string path)
    {
        using var reader = SafetensorsReader.Open(path);
        StepCount = long.Parse(reader.Metadata["step"], System.Globalization.CultureInfo.InvariantCulture);
        foreach (var (m, v) in _state.Values)
        {
            m.Dispose();
            v.Dispose();
        }

        _state.Clear();
        var byName = _params.ToDictionary(p => p.Name, p => p.Param, StringComparer.Ordinal);
        foreach (var (name, p) in byName)
        {
            if (!reader.Entries.ContainsKey("exp_avg." + name))
            {
                continue;
            }

            var m = torch.tensor(reader.ReadFloat32("exp_avg." + name), p.shape).to(p.dtype, p.device).DetachFromDisposeScope();
            var v = torch.tensor(reader.ReadFloat32("exp_avg_sq." + name), p.shape).to(p.dtype, p.device).DetachFromDisposeScope();
            _state[name] = (m, v);
        }

        var unknown = reader.Entries.Keys.Select(k => k[(k.IndexOf('.') + 1)..]).Where(n => !byName.ContainsKey(n)).Distinct().ToList();
        if (unknown.Count > 0)
        {
            throw new CheckpointFormatException($"{path}: optimizer state for unknown parameters: {string.Join(", ", unknown.Take(5))}.");
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (m, v) in _state.Values)
        {
            m.Dispose();
            v.Dispose();
        }

        _state.Clear();
    }
}

/// <summary>Learning-rate schedules.</summary>
public static class LrSchedule
{
    /// <summary>Linear warm-up then cosine decay to 0 (HF <c>get_cosine_schedule_with_warmup</c>).</summary>
    public static double Cosine(double peak, long step, long totalSteps, long warmupSteps)
    {
        if (step < warmupSteps)
        {
            return peak * (step + 1) / Math.Max(1, warmupSteps);
        }

        var progress = (double)(step - warmupSteps) / Math.Max(1, totalSteps - warmupSteps);
        return peak * Math.Max(0, 0.5 * (1 + Math.Cos(Math.PI * progress)));
    }

    /// <summary>Linear decay from peak to 0 with optional warm-up (HF default schedule).</summary>
    public static double Linear(double peak, long step, long totalSteps, long warmupSteps)
    {
        if (step < warmupSteps)
        {
            return peak * (step + 1) / Math.Max(1, warmupSteps);
        }

        return peak * Math.Max(0, (double)(totalSteps - step) / Math.Max(1, totalSteps - warmupSteps));
    }
}
