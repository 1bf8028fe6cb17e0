using System.Diagnostics;
using DeepPerception.ML.Qwen2VL;
using DeepPerception.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepPerception.ML.Training;

/// <summary>One RL prompt: the chat-formatted prompt ids, its images and the ground-truth solution text.</summary>
public sealed record GrpoPrompt(long[] PromptIds, float[]? PixelValues, IReadOnlyList<ImageGrid> Grids, string Solution, string? Id = null);

/// <summary>A reward on a decoded completion (decoded with special tokens skipped).</summary>
public interface IRewardFunction
{
    /// <summary>Metric name, e.g. <c>iou</c> or <c>format</c>.</summary>
    string Name { get; }

    /// <summary>Scores one completion against its prompt.</summary>
    double Score(string completion, GrpoPrompt prompt);
}

/// <summary>A reward built from a delegate.</summary>
public sealed class DelegateReward(string name, Func<string, GrpoPrompt, double> score) : IRewardFunction
{
    /// <inheritdoc />
    public string Name => name;

    /// <inheritdoc />
    public double Score(string completion, GrpoPrompt prompt) => score(completion, prompt);
}

/// <summary>GRPO settings; defaults are the released DeepPerception/R1-V recipe.</summary>
public sealed record GrpoOptions
{
    /// <summary>Samples per prompt (G).</summary>
    public int Generations { get; init; } = 4;

    /// <summary>Sampling temperature of rollouts.</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Top-k of rollouts (HF GenerationConfig default 50).</summary>
    public int TopK { get; init; } = 50;

    /// <summary>Maximum completion tokens.</summary>
    public int MaxCompletionLength { get; init; } = 512;

    /// <summary>Peak learning rate (linear decay, no warm-up).</summary>
    public double LearningRate { get; init; } = 1e-6;

    /// <summary>KL coefficient β.</summary>
    public double Beta { get; init; } = 0.04;

    /// <summary>Prompts per optimizer step (per-device batch 1 × accumulation × devices = 16 in the paper).</summary>
    public int PromptsPerStep { get; init; } = 16;

    /// <summary>Passes over the prompts.</summary>
    public int Epochs { get; init; } = 2;

    /// <summary>When positive, stop after this many optimizer steps.</summary>
    public long MaxSteps { get; init; }

    /// <summary>Gradient updates per rollout (μ; 1 = the paper's on-policy update, ratio ≡ 1).</summary>
    public int UpdatesPerRollout { get; init; } = 1;

    /// <summary>PPO clip range for μ &gt; 1.</summary>
    public double ClipEpsilon { get; init; } = 0.2;

    /// <summary>Global gradient-norm clip.</summary>
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>What to train (paper: everything).</summary>
    public FreezeOptions Freeze { get; init; } = new() { Vision = false, Merger = false };

    /// <summary>Tokens that end a completion (<c>&lt;|im_end|&gt;</c>, <c>&lt;|endoftext|&gt;</c>).</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];

    /// <summary>Padding id.</summary>
    public int PadTokenId { get; init; }

    /// <summary>Checkpoint every N steps (0 = only at the end).</summary>
    public int CheckpointEvery { get; init; }

    /// <summary>Checkpoint folder (null = none).</summary>
    public string? OutputDir { get; init; }

    /// <summary>Seed of prompt order and sampling.</summary>
    public long Seed { get; init; } = 42;
}

/// <summary>One stored rollout, for the gallery.</summary>
public sealed record RolloutSample(long Step, string? PromptId, int Index, string Completion, IReadOnlyDictionary<string, double> Rewards, double Total, double Advantage, int Length);

/// <summary>
/// GRPO as DeepPerception ran it: G samples per prompt, rewards summed over functions, advantages normalised per group
/// with the unbiased std + 1e-4, per-token k3 KL to a frozen reference with coefficient β, loss = −(ratio·A − β·KL) as a
/// masked token mean per sequence then a mean over sequences, one update per rollout (ratio ≡ 1) or several with PPO
/// clipping. The reference is a separate frozen model, or, when the policy trains LoRA adapters and no reference is
/// given, the same model with its adapters bypassed. Runs synchronously on the device worker thread.
/// </summary>
public sealed class GrpoTrainer(
    Qwen2VLForConditionalGeneration policy,
    Qwen2VLForConditionalGeneration? reference,
    Func<int[], string> decode,
    IReadOnlyList<IRewardFunction> rewards,
    GrpoOptions options)
{
    /// <summary>Total optimizer steps for <paramref name="count"/> prompts.</summary>
    public long TotalSteps(int count)
    {
        var total = Math.Max(1, count / options.PromptsPerStep) * (long)options.Epochs;
        return options.MaxSteps > 0 ? Math.Min(total, options.MaxSteps) : total;
    }

    /// <summary>Trains on the prompts; resumes from a checkpoint folder when given.</summary>
    public TrainResult Train(IReadOnlyList<GrpoPrompt> prompts, Action<TrainingMetrics>? onMetrics = null, Action<RolloutSample>? onRollout = null,
        string? resumeFrom = null, CancellationToken cancellationToken = default)
    {
        if (prompts.Count < options.PromptsPerStep)
        {
            throw new ArgumentException($"GRPO needs at least {options.PromptsPerStep} prompts (one step); got {prompts.Count}.");
        }

        if (options.Generations < 2)
        {
            throw new ArgumentException("GRPO needs at least 2 generations per prompt.");
        }

        if (reference is null && options.Freeze.Lora is null)
        {
            throw new ArgumentException("Full-parameter GRPO needs a frozen reference model.");
        }

        var trainable = TrainingCommon.SelectTrainable(policy, options.Freeze);
        if (reference is not null)
        {
            foreach (var p in reference.parameters()) p.requires_grad = false;
            reference.eval();
        }

        using var optimizer = new AdamW(trainable);
        var total = TotalSteps(prompts.Count);
        var perEpoch = prompts.Count / options.PromptsPerStep;
        var history = new List<double>();
        long start = 0;
        string? lastCheckpoint = null;
        if (resumeFrom is not null)
        {
            var state = TrainingCommon.LoadCheckpoint(resumeFrom, policy, options.Freeze, optimizer);
            start = state.Step;
            history.AddRange(state.LossHistory);
            lastCheckpoint = resumeFrom;
        }

        var sw = Stopwatch.StartNew();
        long tokens = 0;
        double loss = double.NaN;
        for (var step = start; step < total; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            torch.manual_seed(options.Seed * 1_000_003 + step);
            var epoch = (int)(step / perEpoch);
            var order = TrainingCommon.EpochOrder(prompts.Count, options.Seed, epoch);
            var stepPrompts = Enumerable.Range((int)(step % perEpoch) * options.PromptsPerStep, options.PromptsPerStep).Select(i => prompts[order[i]]).ToList();

            var rollouts = new List<Rollout>();
            for (var i = 0; i < stepPrompts.Count; i++)
            {
                rollouts.Add(DoRollout(stepPrompts[i], step, i, onRollout));
            }

            var stats = new Dictionary<string, double>();
            double stepLoss = 0, klSum = 0;
            double gradNorm = 0;
            for (var update = 0; update < options.UpdatesPerRollout; update++)
            {
                policy.train();
                optimizer.ZeroGrad();
                stepLoss = 0;
                klSum = 0;
                foreach (var r in rollouts)
                {
                    using var scope = NewDisposeScope();
                    var (l, kl) = Loss(r, update == 0);
                    var value = l.item<float>();
                    if (!float.IsFinite(value))
                    {
                        policy.eval();
                        throw new TrainingDivergedException(step, lastCheckpoint);
                    }

                    using (var count = rollouts.Count.ToScalar())
                    {
                        l.div(count).backward();
                    }

                    stepLoss += value / rollouts.Count;
                    klSum += kl / rollouts.Count;
                }

                gradNorm = optimizer.ClipGradNorm(options.MaxGradNorm);
                optimizer.Step(LrSchedule.Linear(options.LearningRate, step, total, 0));
            }

            foreach (var r in rollouts) r.Dispose();
            policy.eval();
            tokens += rollouts.Sum(r => r.CompletionTokens);
            loss = stepLoss;
            history.Add(loss);
            stats["reward"] = rollouts.SelectMany(r => r.Totals).Average();
            stats["reward_std"] = rollouts.Average(r => r.GroupStd);
            foreach (var fn in rewards)
            {
                stats["rewards/" + fn.Name] = rollouts.SelectMany(r => r.PerFunction[fn.Name]).Average();
            }

            stats["kl"] = klSum;
            stats["completion_length"] = rollouts.SelectMany(r => r.Lengths).Average();
            var done = step + 1;
            if (options.OutputDir is not null && ((options.CheckpointEvery > 0 && done % options.CheckpointEvery == 0) || done == total))
            {
                lastCheckpoint = TrainingCommon.SaveCheckpoint(options.OutputDir, policy, options.Freeze, optimizer,
                    new TrainerState("grpo", done, total, options.Seed, history));
            }

            var elapsed = sw.Elapsed;
            onMetrics?.Invoke(new TrainingMetrics("grpo", done, total, loss, LrSchedule.Linear(options.LearningRate, step, total, 0), gradNorm,
                tokens / Math.Max(1e-9, elapsed.TotalSeconds), elapsed, TimeSpan.FromSeconds(elapsed.TotalSeconds / (done - start) * (total - done)), stats));
        }

        policy.eval();
        return new TrainResult(total, loss, lastCheckpoint, history);
    }

    /// <summary>Samples G completions, scores them and prepares the padded tensors of the update.</summary>
    private Rollout DoRollout(GrpoPrompt prompt, long step, int promptIndex, Action<RolloutSample>? onRollout)
    {
        using var scope = NewDisposeScope();
        var g = options.Generations;
        var pixels = prompt.PixelValues is null ? null
            : HostTensors.FromFloats(prompt.PixelValues, [prompt.PixelValues.Length / policy.Config.Vision.PatchInputSize, policy.Config.Vision.PatchInputSize], policy.Device);
        policy.eval();
        var result = Generation.Generate(policy, new GenerationRequest
        {
            Prompts = Enumerable.Range(0, g).Select(_ => new PromptInput(prompt.PromptIds, pixels, prompt.Grids)).ToList(),
            Options = new GenerationOptions
            {
                MaxNewTokens = options.MaxCompletionLength, Temperature = options.Temperature, TopK = options.TopK,
                Seed = options.Seed * 7_919 + step * 131 + promptIndex, StopTokenIds = options.StopTokenIds, PadTokenId = options.PadTokenId,
            },
        });

        var texts = result.Sequences.Select(s => decode(s.Tokens)).ToList();
        var perFunction = rewards.ToDictionary(f => f.Name, f => texts.Select(t => f.Score(t, prompt)).ToArray());
        var totals = Enumerable.Range(0, g).Select(i => rewards.Sum(f => perFunction[f.Name][i])).ToArray();
        var mean = totals.Average();
        var std = Math.Sqrt(totals.Sum(t => (t - mean) * (t - mean)) / (g - 1));
        var advantages = totals.Select(t => (t - mean) / (std + 1e-4)).ToArray();
        var lengths = result.Sequences.Select(s => s.Tokens.Length).ToArray();
        for (var i = 0; i < g; i++)
        {
            onRollout?.Invoke(new RolloutSample(step + 1, prompt.Id, i, texts[i],
                rewards.ToDictionary(f => f.Name, f => perFunction[f.Name][i]), totals[i], advantages[i], lengths[i]));
        }

        // prompt + completion, completions right-padded; the completion mask keeps tokens up to and including the stop token.
        var p = prompt.PromptIds.Length;
        var c = Math.Max(1, lengths.Max());
        var ids = new long[g * (p + c)];
        var mask = new long[g * (p + c)];
        var cmask = new float[g * c];
        for (var i = 0; i < g; i++)
        {
            for (var j = 0; j < p; j++)
            {
                ids[i * (p + c) + j] = prompt.PromptIds[j];
                mask[i * (p + c) + j] = 1;
            }

            var toks = result.Sequences[i].Tokens;
            for (var j = 0; j < c; j++)
            {
                var real = j < toks.Length;
                ids[i * (p + c) + p + j] = real ? toks[j] : options.PadTokenId;
                mask[i * (p + c) + p + j] = real ? 1 : 0;
                cmask[i * c + j] = real ? 1 : 0;
            }
        }

        var grids = Enumerable.Range(0, g).SelectMany(_ => prompt.Grids).ToList();
        var allPixels = pixels is null ? null : torch.cat(Enumerable.Range(0, g).Select(_ => pixels).ToList(), 0);
        var rollout = new Rollout
        {
            Ids = torch.tensor(ids, [g, p + c], device: policy.Device).DetachFromDisposeScope(),
            Mask = torch.tensor(mask, [g, p + c], device: policy.Device).DetachFromDisposeScope(),
            CompletionMask = torch.tensor(cmask, [g, c], device: policy.Device).DetachFromDisposeScope(),
            Advantages = torch.tensor(advantages.Select(a => (float)a).ToArray(), [g, 1], device: policy.Device).DetachFromDisposeScope(),
            Pixels = allPixels?.DetachFromDisposeScope(),
            Grids = grids,
            PromptLength = p,
            CompletionLength = c,
            Totals = totals,
            GroupStd = std,
            PerFunction = perFunction,
            Lengths = lengths,
            CompletionTokens = lengths.Sum(),
        };
        using (no_grad())
        {
            rollout.ReferenceLogProbs = LogProbs(reference ?? policy, rollout, disableAdapters: reference is null).DetachFromDisposeScope();
        }

        return rollout;
    }

    /// <summary>Per-token log-probabilities [G, C] of the completion tokens.</summary>
    private Tensor LogProbs(Qwen2VLForConditionalGeneration model, Rollout r, bool disableAdapters)
    {
        using var scope = NewDisposeScope();
        using var adapters = disableAdapters ? LoraAdapters.Disabled(model) : null;
        var padded = TrainingCommon.HasPadding(r.Mask);
        var logits = model.Forward(new ModelInput { InputIds = r.Ids, AttentionMask = padded ? r.Mask : null, PixelValues = r.Pixels, ImageGrids = r.Grids }).Logits;
        var completionLogits = logits.narrow(1, r.PromptLength - 1, r.CompletionLength);
        var targets = r.Ids.narrow(1, r.PromptLength, r.CompletionLength);
        return completionLogits.log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1).MoveToOuterDisposeScope();
    }

    /// <summary>The GRPO loss of one rollout and its mean KL.</summary>
    private (Tensor Loss, double Kl) Loss(Rollout r, bool firstUpdate)
    {
        var logp = LogProbs(policy, r, disableAdapters: false);
        if (firstUpdate)
        {
            r.OldLogProbs?.Dispose();
            r.OldLogProbs = logp.detach().clone().DetachFromDisposeScope();
        }

        // Scalars live in variables through their native calls (implicit temporaries may be finalized mid-call).
        using var one = 1.ToScalar();
        using var beta = options.Beta.ToScalar();
        using var clipLow = (1 - options.ClipEpsilon).ToScalar();
        using var clipHigh = (1 + options.ClipEpsilon).ToScalar();
        var diff = r.ReferenceLogProbs!.sub(logp);
        var kl = diff.exp().sub(diff).sub(one);
        var ratio = logp.sub(r.OldLogProbs!).exp();
        Tensor surrogate = options.UpdatesPerRollout == 1
            ? ratio.mul(r.Advantages)
            : torch.minimum(ratio.mul(r.Advantages), ratio.clamp(clipLow, clipHigh).mul(r.Advantages));
        var perToken = surrogate.sub(kl.mul(beta)).neg();
        var perSequence = perToken.mul(r.CompletionMask).sum(1).div(r.CompletionMask.sum(1).clamp_min(one));
        var klMean = kl.mul(r.CompletionMask).sum().div(r.CompletionMask.sum().clamp_min(one)).item<float>();
        return (perSequence.mean(), klMean);
    }

    private sealed class Rollout : IDisposable
    {
        public required Tensor Ids { get; init; }
        public required Tensor Mask { get; init; }
        public required Tensor CompletionMask { get; init; }
        public required Tensor Advantages { get; init; }
        public Tensor? Pixels { get; init; }
        public required List<ImageGrid> Grids { get; init; }
        public required int PromptLength { get; init; }
        public required int CompletionLength { get; init; }
        public required double[] Totals { get; init; }
        public required double GroupStd { get; init; }
        public required Dictionary<string, double[]> PerFunction { get; init; }
        public required int[] Lengths { get; init; }
        public required long CompletionTokens { get; init; }
        public Tensor? ReferenceLogProbs { get; set; }
        public Tensor? OldLogProbs { get; set; }

        public void Dispose()
        {
            Ids.Dispose();
            Mask.Dispose();
            CompletionMask.Dispose();
            Advantages.Dispose();
            Pixels?.Dispose();
            ReferenceLogProbs?.Dispose();
            OldLogProbs?.Dispose();
        }
    }
}
