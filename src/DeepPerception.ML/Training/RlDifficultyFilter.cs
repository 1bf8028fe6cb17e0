using DeepPerception.Kvg;
using DeepPerception.ML.Kvg;
using DeepPerception.ML.Qwen2VL;
using DeepPerception.ML.Runtime;
using static TorchSharp.torch;

namespace DeepPerception.ML.Training;

/// <summary>Sampling settings of <see cref="RlDifficultyFilter.Run(Qwen2VLForConditionalGeneration, IReadOnlyList{GrpoPrompt}, Func{int[], string}, Func{string, GrpoPrompt, bool}, RlFilterOptions, CancellationToken)"/>.</summary>
public sealed record RlFilterOptions
{
    /// <summary>Samples per prompt, G (the paper: 4).</summary>
    public int Generations { get; init; } = 4;

    /// <summary>Sampling temperature (the paper's GRPO rollouts: 1).</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Top-k (50, the generation default the paper's rollouts used).</summary>
    public int TopK { get; init; } = 50;

    /// <summary>Nucleus mass (1 = off).</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Most tokens per sample.</summary>
    public int MaxNewTokens { get; init; } = 512;

    /// <summary>Seed; prompt <c>i</c> samples with seed <c>Seed × 7919 + i</c>.</summary>
    public long Seed { get; init; }

    /// <summary>Tokens that end a sample.</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];

    /// <summary>Padding token.</summary>
    public int PadTokenId { get; init; }
}

/// <summary>Correct-sample counts of a filter run and what it keeps.</summary>
/// <param name="CorrectCounts">Correct samples per prompt, in prompt order.</param>
/// <param name="Generations">Samples per prompt (G).</param>
public sealed record RlFilterResult(IReadOnlyList<int> CorrectCounts, int Generations)
{
    /// <summary>How many prompts had 0, 1, …, G correct samples.</summary>
    public IReadOnlyList<int> Histogram => Enumerable.Range(0, Generations + 1).Select(k => CorrectCounts.Count(c => c == k)).ToList();

    /// <summary>Indices of the kept prompts (1 … G − 1 correct), ascending.</summary>
    public IReadOnlyList<int> KeptIndices => Enumerable.Range(0, CorrectCounts.Count).Where(i => RlDifficultyFilter.Keep(CorrectCounts[i], Generations)).ToList();

    /// <summary>The kept items of a list parallel to the prompts.</summary>
    public IReadOnlyList<T> Kept<T>(IReadOnlyList<T> items) => RlDifficultyFilter.Select(items, CorrectCounts, Generations);
}

/// <summary>
/// The RL data filter of the paper: the CoT-SFT model samples each candidate prompt G times and a prompt is kept for
/// GRPO only when some but not all samples are correct (1 … G − 1), so that every kept group has a reward spread. The
/// one implementation behind the KVG-Synth experiment and the data-synthesis pipeline.
/// </summary>
public static class RlDifficultyFilter
{
    /// <summary>Whether a prompt with <paramref name="correct"/> correct samples out of <paramref name="generations"/> is kept.</summary>
    public static bool Keep(int correct, int generations)
    {
        if (generations < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(generations), generations, "The filter needs at least 2 samples per prompt.");
        }

        if (correct < 0 || correct > generations)
        {
            throw new ArgumentOutOfRangeException(nameof(correct), correct, $"The correct count must lie in 0..{generations}.");
        }

        return correct >= 1 && correct <= generations - 1;
    }

    /// <summary>The items whose correct counts pass <see cref="Keep"/>, in order.</summary>
    public static IReadOnlyList<T> Select<T>(IReadOnlyList<T> items, IReadOnlyList<int> correctCounts, int generations)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(correctCounts);
        if (items.Count != correctCounts.Count)
        {
            throw new ArgumentException($"{items.Count} items but {correctCounts.Count} correct counts.", nameof(correctCounts));
        }

        return items.Where((_, i) => Keep(correctCounts[i], generations)).ToList();
    }

    /// <summary>
    /// Whether a grounding sample is correct: the IoU of its first answer box with the solution's box reaches
    /// <see cref="KvgScorer.CorrectIouThreshold"/> (0.5, KVG-Bench's Acc@0.5).
    /// </summary>
    public static bool IsCorrectGrounding(string completion, string solution) =>
        KvgRewards.IouReward(completion, solution, continuous: true) >= KvgScorer.CorrectIouThreshold;

    /// <summary>
    /// Samples every prompt G times with <paramref name="model"/> and counts the correct samples; must run on the thread
    /// that owns the model's device work.
    /// </summary>
    /// <param name="model">The CoT-SFT model.</param>
    /// <param name="prompts">Candidate prompts (ids, pixel rows, grids, solution).</param>
    /// <param name="decode">Turns generated ids into text.</param>
    /// <param name="isCorrect">Judges one decoded sample of a prompt.</param>
    /// <param name="options">Sampling settings.</param>
    /// <param name="cancellationToken">Cancels between prompts.</param>
    public static RlFilterResult Run(Qwen2VLForConditionalGeneration model, IReadOnlyList<GrpoPrompt> prompts, Func<int[], string> decode,
        Func<string, GrpoPrompt, bool> isCorrect, RlFilterOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(decode);
        ArgumentNullException.ThrowIfNull(isCorrect);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Generations < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Generations, "The filter needs at least 2 samples per prompt.");
        }

        var patch = model.Config.Vision.PatchInputSize;
        var counts = new List<int>(prompts.Count);
        for (var i = 0; i < prompts.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var prompt = prompts[i];
            using var scope = NewDisposeScope();
            var pixels = prompt.PixelValues is null ? null : HostTensors.FromFloats(prompt.PixelValues, [prompt.PixelValues.Length / patch, patch]);
            var result = Generation.Generate(model, new GenerationRequest
            {
                Prompts = Enumerable.Range(0, options.Generations).Select(_ => new PromptInput(prompt.PromptIds, pixels, prompt.Grids)).ToList(),
                Options = new GenerationOptions
                {
                    MaxNewTokens = options.MaxNewTokens, Temperature = options.Temperature, TopK = options.TopK, TopP = options.TopP,
                    Seed = (options.Seed * 7_919L) + i, StopTokenIds = options.StopTokenIds, PadTokenId = options.PadTokenId,
                },
                CancellationToken = cancellationToken,
            });
            counts.Add(result.Sequences.Count(seq => isCorrect(decode(seq.Tokens), prompt)));
        }

        return new RlFilterResult(counts, options.Generations);
    }

    /// <summary>
    /// The grounding filter: samples with the KVG model (its tokenizer decodes, its stop and pad tokens apply) and judges
    /// each sample with <see cref="IsCorrectGrounding"/> against the prompt's solution.
    /// </summary>
    public static RlFilterResult Run(KvgModel kvg, IReadOnlyList<GrpoPrompt> prompts, RlFilterOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(kvg);
        ArgumentNullException.ThrowIfNull(options);
        return Run(kvg.Model, prompts, kvg.Decode, (text, p) => IsCorrectGrounding(text, p.Solution),
            options with { StopTokenIds = kvg.StopTokenIds, PadTokenId = kvg.PadTokenId }, cancellationToken);
    }
}
