using System.Text.Json;
using DeepPerception.ML.Qwen2VL;
using DeepPerception.ML.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DeepPerception.ML.Training;

/// <summary>
/// One supervised example: token ids, which tokens are targets (assistant content, trained on), and the images of the
/// prompt as flattened pixel rows (rows × C·T·P·P) with their grids. No tensors: examples live outside the device thread.
/// </summary>
public sealed record TrainingExample(long[] InputIds, bool[] TargetMask, float[]? PixelValues, IReadOnlyList<ImageGrid> Grids)
{
    /// <summary>Number of target tokens.</summary>
    public int TargetCount => TargetMask.Count(t => t);
}

/// <summary>One metrics record of a training run.</summary>
public sealed record TrainingMetrics(
    string Stage,
    long Step,
    long TotalSteps,
    double Loss,
    double LearningRate,
    double GradNorm,
    double TokensPerSecond,
    TimeSpan Elapsed,
    TimeSpan Eta,
    IReadOnlyDictionary<string, double> Extra);

/// <summary>Which parts of the model a run updates.</summary>
public sealed record FreezeOptions
{
    /// <summary>Freeze the ViT (patch embedding and blocks).</summary>
    public bool Vision { get; init; } = true;

    /// <summary>Freeze the patch merger (the multimodal projector).</summary>
    public bool Merger { get; init; } = true;

    /// <summary>Freeze the language model (decoder and lm_head).</summary>
    public bool LanguageModel { get; init; }

    /// <summary>When set, attach LoRA adapters and train only them (the other switches are ignored).</summary>
    public LoraOptions? Lora { get; init; }
}

/// <summary>The end of a run.</summary>
public sealed record TrainResult(long Steps, double FinalLoss, string? LastCheckpoint, IReadOnlyList<double> LossHistory);

/// <summary>Raised when the loss becomes NaN or infinite; the last good checkpoint is kept.</summary>
public sealed class TrainingDivergedException(long step, string? lastCheckpoint)
    : Exception($"Training diverged at step {step} (loss is NaN or infinite). The last good checkpoint is {lastCheckpoint ?? "none (no checkpoint was written yet)"}.")
{
    /// <summary>The step whose loss was not finite.</summary>
    public long Step { get; } = step;

    /// <summary>The last checkpoint written before the divergence, if any.</summary>
    public string? LastCheckpoint { get; } = lastCheckpoint;
}

/// <summary>Progress saved with each checkpoint.</summary>
public sealed record TrainerState(string Stage, long Step, long TotalSteps, long Seed, List<double> LossHistory);

/// <summary>Helpers shared by the trainers: parameter selection, batching, checkpoints.</summary>
public static class TrainingCommon
{
    /// <summary>Applies freeze switches (or attaches LoRA) and returns the trainable parameters by name.</summary>
    public static List<(string Name, Parameter Param)> SelectTrainable(Qwen2VLForConditionalGeneration model, FreezeOptions freeze)
    {
        if (freeze.Lora is not null)
        {
            if (!model.named_parameters().Any(p => p.name.Contains(".lora_", StringComparison.Ordinal)))
            {
                LoraAdapters.Attach(model, freeze.Lora);
            }

            LoraAdapters.FreezeBaseAndGetTrainable(model);
        }
        else
        {
            foreach (var (name, p) in model.named_parameters())
            {
                var frozen = name.StartsWith("visual.merger.", StringComparison.Ordinal) ? freeze.Merger
                    : name.StartsWith("visual.", StringComparison.Ordinal) ? freeze.Vision
                    : freeze.LanguageModel;
                p.requires_grad = !frozen;
            }
        }

        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, p.parameter)).ToList();
        if (trainable.Count == 0)
        {
            throw new ArgumentException("Every parameter is frozen: nothing to train.");
        }

        return trainable;
    }

    /// <summary>
    /// Right-pads a batch: ids [B, L] (pad id after the end), attention mask [B, L], target mask [B, L] and the images'
    /// pixel rows concatenated in batch order.
    /// </summary>
    public static (Tensor Ids, Tensor Mask, Tensor Targets, Tensor? Pixels, List<ImageGrid> Grids) Collate(
        IReadOnlyList<TrainingExample> batch, int padTokenId, Device device, int patchInputSize)
    {
        var b = batch.Count;
        var l = batch.Max(x => x.InputIds.Length);
        var ids = new long[b * l];
        var mask = new long[b * l];
        var targets = new bool[b * l];
        for (var r = 0; r < b; r++)
        {
            var x = batch[r];
            if (x.TargetMask.Length != x.InputIds.Length)
            {
                throw new ArgumentException("TargetMask must have one entry per input id.");
            }

            for (var j = 0; j < l; j++)
            {
                var real = j < x.InputIds.Length;
                ids[r * l + j] = real ? x.InputIds[j] : padTokenId;
                mask[r * l + j] = real ? 1 : 0;
                targets[r * l + j] = real && x.TargetMask[j];
            }
        }

        var pixelRows = batch.Where(x => x.PixelValues is not null).Select(x => x.PixelValues!).ToList();
        Tensor? pixels = null;
        if (pixelRows.Count > 0)
        {
            pixels = HostTensors.ConcatRows(pixelRows, patchInputSize, device);
        }

        var anyPadding = mask.Any(m => m == 0);
        return (torch.tensor(ids, [b, l], device: device),
            anyPadding ? torch.tensor(mask, [b, l], device: device) : torch.ones([b, l], ScalarType.Int64, device),
            torch.tensor(targets, [b, l], device: device),
            pixels,
            batch.SelectMany(x => x.Grids).ToList());
    }

    /// <summary>Whether a mask tensor has any zero.</summary>
    public static bool HasPadding(Tensor mask)
    {
        using var zero = 0.ToScalar(); // held through the native call (an implicit temporary may be finalized mid-call)
        return mask.eq(zero).any().item<bool>();
    }

    /// <summary>Deterministic permutation of <paramref name="count"/> items for an epoch.</summary>
    public static int[] EpochOrder(int count, long seed, int epoch)
    {
        var order = Enumerable.Range(0, count).ToArray();
        Shuffle(order, new Random(unchecked((int)(seed * 1_000_003 + epoch * 7919))));
        return order;
    }

    /// <summary>Fisher–Yates shuffle in place.</summary>
    private static void Shuffle<T>(IList<T> items, Random rng)
    {
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = rng.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>Batches per sorted group of <see cref="LengthGroupedOrder"/>.</summary>
    public const int LengthGroupBatches = 50;

    /// <summary>
    /// A deterministic epoch order in which consecutive runs of <paramref name="batchSize"/> items have similar lengths:
    /// the epoch's shuffle (<see cref="EpochOrder"/>) is cut into groups of <see cref="LengthGroupBatches"/> batches, each
    /// group is sorted by length (longest first), cut into batches, and the batches of the epoch are shuffled. Items that
    /// do not fill a last batch come at the end, as in the plain order. Every item appears once.
    /// </summary>
    public static int[] LengthGroupedOrder(IReadOnlyList<int> lengths, int batchSize, long seed, int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var shuffled = EpochOrder(lengths.Count, seed, epoch);
        var full = shuffled.Length / batchSize * batchSize;
        var group = batchSize * LengthGroupBatches;
        var batches = new List<int[]>(full / batchSize);
        for (var start = 0; start < full; start += group)
        {
            var sorted = new ArraySegment<int>(shuffled, start, Math.Min(group, full - start))
                .OrderByDescending(i => lengths[i]).ThenBy(i => i).ToArray();
            for (var b = 0; b < sorted.Length; b += batchSize)
            {
                batches.Add(sorted[b..(b + batchSize)]);
            }
        }

        Shuffle(batches, new Random(unchecked((int)(seed * 1_000_033 + epoch * 7927 + 1))));

        return [.. batches.SelectMany(b => b), .. shuffled.AsSpan(full)];
    }

    /// <summary>
    /// Writes a checkpoint folder atomically (written under a temporary name, then renamed): the model (or only its LoRA
    /// adapter), the optimizer state and the trainer state.
    /// </summary>
    public static string SaveCheckpoint(string outputDir, Qwen2VLForConditionalGeneration model, FreezeOptions freeze, AdamW optimizer, TrainerState state)
    {
        var final = Path.Combine(outputDir, $"checkpoint-{state.Step:D6}");
        var tmp = final + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        Directory.CreateDirectory(tmp);
        if (freeze.Lora is not null)
        {
            LoraAdapters.Save(model, Path.Combine(tmp, "adapter"), freeze.Lora, "base");
        }
        else
        {
            Qwen2VLCheckpoint.Save(model, tmp);
        }

        optimizer.Save(Path.Combine(tmp, "optimizer.safetensors"));
        File.WriteAllText(Path.Combine(tmp, "trainer_state.json"), JsonSerializer.Serialize(state, JsonOptions));
        if (Directory.Exists(final))
        {
            Directory.Delete(final, recursive: true);
        }

        Directory.Move(tmp, final);
        return final;
    }

    /// <summary>Restores model weights, optimizer and trainer state from a checkpoint folder.</summary>
    public static TrainerState LoadCheckpoint(string checkpointDir, Qwen2VLForConditionalGeneration model, FreezeOptions freeze, AdamW optimizer)
    {
        var statePath = Path.Combine(checkpointDir, "trainer_state.json");
        if (!File.Exists(statePath))
        {
            throw new DeepPerception.Checkpoints.CheckpointFormatException($"{checkpointDir} is not a training checkpoint (no trainer_state.json).");
        }

        var state = JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(statePath), JsonOptions)
            ?? throw new DeepPerception.Checkpoints.CheckpointFormatException($"{statePath}: empty.");
        if (freeze.Lora is not null)
        {
            LoraAdapters.Detach(model);
            LoraAdapters.Load(model, Path.Combine(checkpointDir, "adapter"));
            LoraAdapters.FreezeBaseAndGetTrainable(model);
        }
        else
        {
            Qwen2VLCheckpoint.LoadWeights(model, checkpointDir);
        }

        optimizer.Load(Path.Combine(checkpointDir, "optimizer.safetensors"));
        return state;
    }

    /// <summary>The newest checkpoint folder in <paramref name="outputDir"/>, if any.</summary>
    public static string? LatestCheckpoint(string outputDir) =>
        Directory.Exists(outputDir)
            ? Directory.GetDirectories(outputDir, "checkpoint-*").Where(d => !d.Contains(".tmp-", StringComparison.Ordinal)).Order(StringComparer.Ordinal).LastOrDefault()
            : null;

    internal static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };
}
