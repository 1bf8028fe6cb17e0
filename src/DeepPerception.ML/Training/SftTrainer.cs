using System.Diagnostics;
using DeepPerception.ML.Qwen2VL;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace DeepPerception.ML.Training;

/// <summary>Supervised fine-tuning settings (defaults: the paper's CoT-SFT recipe, scaled for one device).</summary>
public sealed record SftOptions
{
    /// <summary>Peak learning rate (paper: 5e-6 for the 7B model).</summary>
    public double LearningRate { get; init; } = 5e-6;

    /// <summary>Warm-up fraction of the steps (paper: 0.1).</summary>
    public double WarmupRatio { get; init; } = 0.1;

    /// <summary>Passes over the data (paper: 1).</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>When positive, stop after this many optimizer steps.</summary>
    public long MaxSteps { get; init; }

    /// <summary>Examples per micro-batch.</summary>
    public int BatchSize { get; init; } = 2;

    /// <summary>Micro-batches per optimizer step.</summary>
    public int GradientAccumulation { get; init; } = 1;

    /// <summary>Global gradient-norm clip (paper: 1.0).</summary>
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>AdamW weight decay (paper: 0).</summary>
    public double WeightDecay { get; init; }

    /// <summary>What to train (paper: LLM only, ViT and merger frozen).</summary>
    public FreezeOptions Freeze { get; init; } = new();

    /// <summary>Write a checkpoint every N steps (0 = only at the end).</summary>
    public int CheckpointEvery { get; init; }

    /// <summary>Folder for checkpoints (null = none).</summary>
    public string? OutputDir { get; init; }

    /// <summary>Seed of data order and dropout.</summary>
    public long Seed { get; init; } = 42;

    /// <summary>Padding token id.</summary>
    public int PadTokenId { get; init; }

    /// <summary>
    /// Group examples of similar length into the same micro-batch (<see cref="TrainingCommon.LengthGroupedOrder"/>), so a
    /// batch is padded only to its own length class; the order is still derived from the seed and the epoch, so resume
    /// stays bit-identical. Off by default (a plain shuffle).
    /// </summary>
    public bool GroupByLength { get; init; }

    /// <summary>Stage name in metrics.</summary>
    public string Stage { get; init; } = "sft";
}

/// <summary>
/// Supervised fine-tuning: cross-entropy on target (assistant) tokens only, AdamW with cosine schedule and warm-up,
/// gradient accumulation and clipping, checkpoints with optimizer and trainer state so a resumed run continues
/// bit-identically (data order and dropout are derived from the seed and the step, not from hidden RNG state).
/// Runs synchronously: call it on the device worker thread.
/// </summary>
public sealed class SftTrainer(Qwen2VLForConditionalGeneration model, SftOptions options)
{
    /// <summary>Total optimizer steps for a dataset of <paramref name="count"/> examples.</summary>
    public long TotalSteps(int count)
    {
        var perEpoch = Math.Max(1, count / Math.Max(1, options.BatchSize * options.GradientAccumulation));
        var total = perEpoch * (long)options.Epochs;
        return options.MaxSteps > 0 ? Math.Min(total, options.MaxSteps) : total;
    }

    /// <summary>Trains; resumes from <paramref name="resumeFrom"/> (a checkpoint folder) when given.</summary>
    public TrainResult Train(IReadOnlyList<TrainingExample> data, Action<TrainingMetrics>? onMetrics = null, string? resumeFrom = null, CancellationToken cancellationToken = default)
    {
        if (data.Count == 0)
        {
            throw new ArgumentException("The training set is empty.");
        }

        if (data.Any(d => d.TargetCount == 0))
        {
            throw new ArgumentException("Every training example needs at least one target token.");
        }

        var trainable = TrainingCommon.SelectTrainable(model, options.Freeze);
        using var optimizer = new AdamW(trainable, weightDecay: options.WeightDecay);
        var total = TotalSteps(data.Count);
        var warmup = (long)Math.Ceiling(total * options.WarmupRatio);
        var history = new List<double>();
        long start = 0;
        string? lastCheckpoint = null;
        if (resumeFrom is not null)
        {
            var state = TrainingCommon.LoadCheckpoint(resumeFrom, model, options.Freeze, optimizer);
            start = state.Step;
            history.AddRange(state.LossHistory);
            lastCheckpoint = resumeFrom;
        }

        var microPerEpoch = data.Count / options.BatchSize;
        if (microPerEpoch == 0)
        {
            throw new ArgumentException($"The training set ({data.Count}) is smaller than one batch ({options.BatchSize}).");
        }

        var lengths = options.GroupByLength ? data.Select(d => d.InputIds.Length).ToArray() : null;
        (int Epoch, int[] Order)? epochOrder = null;
        int[] OrderOf(int epoch)
        {
            if (epochOrder is not { } cached || cached.Epoch != epoch)
            {
                epochOrder = (epoch, lengths is null
                    ? TrainingCommon.EpochOrder(data.Count, options.Seed, epoch)
                    : TrainingCommon.LengthGroupedOrder(lengths, options.BatchSize, options.Seed, epoch));
            }

            return epochOrder.Value.Order;
        }

        model.train();
        var sw = Stopwatch.StartNew();
        long tokens = 0;
        double loss = double.NaN;
        for (var step = start; step < total; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            torch.manual_seed(options.Seed * 1_000_003 + step);
            optimizer.ZeroGrad();
            double stepLoss = 0;
            for (var micro = 0; micro < options.GradientAccumulation; micro++)
            {
                using var scope = NewDisposeScope();
                var globalMicro = step * options.GradientAccumulation + micro;
                var epoch = (int)(globalMicro / microPerEpoch);
                var order = OrderOf(epoch);
                var offset = (int)(globalMicro % microPerEpoch) * options.BatchSize;
                var batch = Enumerable.Range(offset, options.BatchSize).Select(i => data[order[i]]).ToList();
                var (microLoss, microTokens) = LossOf(batch);
                var value = microLoss.item<float>();
                if (!float.IsFinite(value))
                {
                    model.eval();
                    throw new TrainingDivergedException(step, lastCheckpoint);
                }

                using (var accumulation = options.GradientAccumulation.ToScalar())
                {
                    microLoss.div(accumulation).backward();
                }

                stepLoss += value / options.GradientAccumulation;
                tokens += microTokens;
            }

            var gradNorm = optimizer.ClipGradNorm(options.MaxGradNorm);
            var lr = LrSchedule.Cosine(options.LearningRate, step, total, warmup);
            optimizer.Step(lr);
            loss = stepLoss;
            history.Add(loss);
            var done = step + 1;
            if (options.OutputDir is not null && ((options.CheckpointEvery > 0 && done % options.CheckpointEvery == 0) || done == total))
            {
                lastCheckpoint = TrainingCommon.SaveCheckpoint(options.OutputDir, model, options.Freeze, optimizer,
                    new TrainerState(options.Stage, done, total, options.Seed, history));
            }

            var elapsed = sw.Elapsed;
            var stepsRun = done - start;
            onMetrics?.Invoke(new TrainingMetrics(options.Stage, done, total, loss, lr, gradNorm, tokens / Math.Max(1e-9, elapsed.TotalSeconds),
                elapsed, TimeSpan.FromSeconds(elapsed.TotalSeconds / stepsRun * (total - done)), new Dictionary<string, double>()));
        }

        model.eval();
        return new TrainResult(total, loss, lastCheckpoint, history);
    }

    /// <summary>Mean cross-entropy over the target tokens of a batch (next-token prediction), and the token count.</summary>
    internal (Tensor Loss, long Tokens) LossOf(IReadOnlyList<TrainingExample> batch)
    {
        var (ids, mask, targets, pixels, grids) = TrainingCommon.Collate(batch, options.PadTokenId, model.Device, model.Config.Vision.PatchInputSize);
        var padded = TrainingCommon.HasPadding(mask);
        var logits = model.Forward(new ModelInput { InputIds = ids, AttentionMask = padded ? mask : null, PixelValues = pixels, ImageGrids = grids }).Logits;
        var l = ids.shape[1];
        var shiftLogits = logits.narrow(1, 0, l - 1).reshape(-1, logits.shape[^1]);
        var labels = ids.narrow(1, 1, l - 1).reshape(-1);
        var weight = targets.narrow(1, 1, l - 1).reshape(-1).to(ScalarType.Float32);
        var perToken = F.cross_entropy(shiftLogits, labels, reduction: nn.Reduction.None);
        var count = weight.sum();
        using var one = 1.ToScalar(); // held through the native call (an implicit temporary may be finalized mid-call)
        return (perToken.mul(weight).sum().div(count.clamp_min(one)), (long)count.item<float>());
    }
}
