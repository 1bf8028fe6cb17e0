using DeepPerception.ML.Qwen2VL;
using DeepPerception.ML.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepPerception.ML.Tests;

/// <summary>SFT on the golden tiny model: real learning, bit-identical resume, divergence handling, LoRA-only runs.</summary>
public sealed class SftTrainerTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("dp-sft-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    /// <summary>Prompts with a 56×84 image (6 image tokens) and a 4-token answer that depends on the image.</summary>
    internal static List<TrainingExample> ToyData(int count, int seed)
    {
        var rng = new Random(seed);
        var data = new List<TrainingExample>();
        for (var i = 0; i < count; i++)
        {
            var bright = i % 2 == 0;
            var pixels = new float[24 * 1176];
            for (var k = 0; k < pixels.Length; k++)
            {
                pixels[k] = (float)(rng.NextDouble() * 0.5 + (bright ? 0.8 : -0.8));
            }

            long[] prompt = [181, 96, 75, 290, 293, 293, 293, 293, 293, 293, 291, 272, 65];
            long[] answer = bright ? [10, 20, 30, 282] : [40, 50, 60, 282];
            var ids = prompt.Concat(answer).ToArray();
            var mask = prompt.Select(_ => false).Concat(answer.Select(_ => true)).ToArray();
            data.Add(new TrainingExample(ids, mask, pixels, [new ImageGrid(1, 4, 6)]));
        }

        return data;
    }

    private static SftOptions Options(string? dir = null, int checkpointEvery = 0, FreezeOptions? freeze = null) => new()
    {
        LearningRate = 3e-3, WarmupRatio = 0.1, Epochs = 40, MaxSteps = 0, BatchSize = 2, GradientAccumulation = 2,
        Freeze = freeze ?? new FreezeOptions { Vision = false, Merger = false }, OutputDir = dir, CheckpointEvery = checkpointEvery,
        Seed = 5, PadTokenId = 0,
    };

    [Fact]
    public void Loss_falls_and_the_model_learns_the_image_dependent_answer()
    {
        using var model = Golden.LoadModel();
        var data = ToyData(8, 1);
        var metrics = new List<TrainingMetrics>();
        var result = new SftTrainer(model, Options() with { Epochs = 20 }).Train(data, metrics.Add);
        Assert.Equal(result.Steps, metrics.Count);
        Assert.True(result.LossHistory[^1] < result.LossHistory[0] * 0.2, $"loss {result.LossHistory[0]:F3} → {result.LossHistory[^1]:F3}");
        Assert.All(metrics, m => Assert.True(m.LearningRate > 0 && m.TokensPerSecond > 0));

        using var scope = NewDisposeScope();
        foreach (var ex in data.Take(2))
        {
            var prompt = ex.InputIds.Take(13).ToArray();
            var r = Generation.Generate(model, new GenerationRequest
            {
                Prompts = [new PromptInput(prompt, torch.tensor(ex.PixelValues!, [24, 1176]), ex.Grids)],
                Options = new GenerationOptions { MaxNewTokens = 4, StopTokenIds = [282] },
            });
            Assert.Equal(ex.InputIds.Skip(13).Select(x => (int)x), r.Sequences[0].Tokens);
        }
    }

    [Fact]
    public void Resumed_run_continues_bit_identically()
    {
        var data = ToyData(8, 2);
        var options = Options(Path.Combine(_tmp, "a"), checkpointEvery: 3) with { Epochs = 3 };
        TrainResult full;
        Dictionary<string, float[]> fullWeights;
        using (var model = Golden.LoadModel())
        {
            full = new SftTrainer(model, options).Train(data);
            fullWeights = Weights(model);
        }

        Assert.Equal(6, full.Steps);
        var checkpoint = Path.Combine(_tmp, "a", "checkpoint-000003");
        Assert.True(Directory.Exists(checkpoint));
        using var resumed = Golden.LoadModel();
        var second = new SftTrainer(resumed, options with { OutputDir = Path.Combine(_tmp, "b") }).Train(data, resumeFrom: checkpoint);
        Assert.Equal(full.LossHistory, second.LossHistory);
        var resumedWeights = Weights(resumed);
        foreach (var (name, values) in fullWeights)
        {
            Assert.True(values.AsSpan().SequenceEqual(resumedWeights[name]), $"{name} differs after resume");
        }
    }

    [Fact]
    public void Length_grouped_order_is_a_seeded_permutation_whose_batches_share_a_length()
    {
        // 1000 items: every third one long (as base rationales among short answers), three left over after batches of 8.
        var lengths = Enumerable.Range(0, 1003).Select(i => i % 3 == 0 ? 120 + i % 7 : 20 + i % 5).ToArray();
        var order = TrainingCommon.LengthGroupedOrder(lengths, 8, seed: 11, epoch: 2);
        Assert.Equal(Enumerable.Range(0, lengths.Length), order.Order());
        Assert.Equal(order, TrainingCommon.LengthGroupedOrder(lengths, 8, seed: 11, epoch: 2));
        Assert.NotEqual(order, TrainingCommon.LengthGroupedOrder(lengths, 8, seed: 11, epoch: 3));
        Assert.NotEqual(order, TrainingCommon.LengthGroupedOrder(lengths, 8, seed: 12, epoch: 2));

        var batches = order.Take(1000).Chunk(8).ToList();
        var mixed = batches.Count(b => b.Any(i => lengths[i] >= 120) && b.Any(i => lengths[i] < 120));
        // a sorted group of 400 holds one batch at most that straddles the two length classes
        Assert.InRange(mixed, 0, 3);
        var padded = batches.Sum(b => b.Length * b.Max(i => lengths[i]));
        var plain = TrainingCommon.EpochOrder(lengths.Length, 11, 2).Take(1000).Chunk(8).Sum(b => b.Length * b.Max(i => lengths[i]));
        Assert.True(padded < plain * 0.6, $"padded tokens {padded} grouped vs {plain} plain");
        // the batches are shuffled, not laid out longest first
        Assert.Contains(batches.Take(20), b => lengths[b[0]] < 120);
        Assert.Contains(batches.Take(20), b => lengths[b[0]] >= 120);
    }

    [Fact]
    public void A_length_grouped_run_resumes_bit_identically()
    {
        // half the examples carry 12 more prompt tokens, so grouping changes which examples share a batch
        var data = ToyData(8, 6).Select((x, i) => i % 2 == 0 ? x
            : x with { InputIds = [.. Enumerable.Repeat(65L, 12), .. x.InputIds], TargetMask = [.. new bool[12], .. x.TargetMask] }).ToList();
        var options = Options(Path.Combine(_tmp, "g"), checkpointEvery: 3) with { Epochs = 3, GroupByLength = true };
        TrainResult full;
        Dictionary<string, float[]> fullWeights;
        using (var model = Golden.LoadModel())
        {
            full = new SftTrainer(model, options).Train(data);
            fullWeights = Weights(model);
        }

        Assert.True(full.LossHistory[^1] < full.LossHistory[0], $"loss {full.LossHistory[0]:F3} → {full.LossHistory[^1]:F3}");
        using var resumed = Golden.LoadModel();
        var second = new SftTrainer(resumed, options with { OutputDir = Path.Combine(_tmp, "h") })
            .Train(data, resumeFrom: Path.Combine(_tmp, "g", "checkpoint-000003"));
        Assert.Equal(full.LossHistory, second.LossHistory);
        var resumedWeights = Weights(resumed);
        foreach (var (name, values) in fullWeights)
        {
            Assert.True(values.AsSpan().SequenceEqual(resumedWeights[name]), $"{name} differs after resume");
        }
    }

    [Fact]
    public void A_diverging_run_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint()
    {
        var data = ToyData(8, 3);
        // poison an example that the seeded order first meets in the second step, so one good checkpoint exists.
        var late = TrainingCommon.EpochOrder(data.Count, 5, 0)[6];
        var poisoned = data.Select((x, i) => i == late ? x with { PixelValues = x.PixelValues!.Select(_ => float.NaN).ToArray() } : x).ToList();
        using var model = Golden.LoadModel();
        var dir = Path.Combine(_tmp, "nan");
        var e = Assert.Throws<TrainingDivergedException>(() =>
            new SftTrainer(model, Options(dir, checkpointEvery: 1) with { Epochs = 4 }).Train(poisoned));
        Assert.NotNull(e.LastCheckpoint);
        Assert.True(Directory.Exists(e.LastCheckpoint));
        Assert.Contains("NaN", e.Message);
        using var reloaded = Qwen2VLCheckpoint.Load(e.LastCheckpoint!);
        Assert.All(reloaded.parameters(), p => Assert.False(p.isnan().any().item<bool>()));
    }

    [Fact]
    public void Lora_only_run_changes_adapters_and_nothing_else()
    {
        using var model = Golden.LoadModel();
        var before = Weights(model);
        var freeze = new FreezeOptions { Lora = new LoraOptions { Rank = 4, Alpha = 8, Dropout = 0.1 } };
        var result = new SftTrainer(model, Options(freeze: freeze) with { Epochs = 10, LearningRate = 1e-2 }).Train(ToyData(8, 4));
        Assert.True(result.LossHistory[^1] < result.LossHistory[0]);
        var after = Weights(model);
        foreach (var (name, values) in before)
        {
            Assert.True(values.AsSpan().SequenceEqual(after[name]), $"{name} changed in a LoRA-only run");
        }

        Assert.Contains(after.Keys, k => k.Contains("lora_A"));
    }

    private static Dictionary<string, float[]> Weights(Qwen2VLForConditionalGeneration model) =>
        model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().cpu().data<float>().ToArray());
}
