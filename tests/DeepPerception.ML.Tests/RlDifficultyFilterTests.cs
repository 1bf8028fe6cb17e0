using DeepPerception.ML.Qwen2VL;
using DeepPerception.ML.Training;
using TorchSharp;

namespace DeepPerception.ML.Tests;

/// <summary>The RL difficulty filter keeps only prompts with 1 … G − 1 correct samples; its counts come from real sampling.</summary>
public sealed class RlDifficultyFilterTests
{
    [Theory]
    [InlineData(0, 4, false)]
    [InlineData(1, 4, true)]
    [InlineData(3, 4, true)]
    [InlineData(4, 4, false)]
    [InlineData(1, 2, true)]
    [InlineData(2, 2, false)]
    public void Keeps_only_partly_solved_prompts(int correct, int generations, bool kept) =>
        Assert.Equal(kept, RlDifficultyFilter.Keep(correct, generations));

    [Fact]
    public void Select_keeps_the_items_with_1_to_G_minus_1_correct_in_order()
    {
        string[] items = ["a", "b", "c", "d", "e", "f"];
        int[] counts = [0, 1, 4, 3, 2, 0];
        Assert.Equal(["b", "d", "e"], RlDifficultyFilter.Select(items, counts, 4));
    }

    [Fact]
    public void Bad_counts_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RlDifficultyFilter.Keep(5, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => RlDifficultyFilter.Keep(-1, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => RlDifficultyFilter.Keep(0, 1));
        Assert.Throws<ArgumentException>(() => RlDifficultyFilter.Select(["a"], [1, 2], 4));
    }

    [Fact]
    public void Counts_correct_samples_of_the_engine_and_keeps_the_partly_solved_prompts()
    {
        torch.set_num_threads(1);
        using var model = Golden.LoadModel();
        var prompts = SftTrainerTests.ToyData(6, 21)
            .Select((x, i) => new GrpoPrompt(x.InputIds.Take(13).ToArray(), x.PixelValues, x.Grids, "even", $"p{i}"))
            .ToList();
        var options = new RlFilterOptions { Generations = 4, MaxNewTokens = 3, Temperature = 1.0, TopK = 0, Seed = 3 };

        // Correct: the first sampled token is even (about half of the samples of an untrained model).
        static string Decode(int[] ids) => string.Join(' ', ids);
        static bool FirstEven(string text, GrpoPrompt _) => int.Parse(text.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) % 2 == 0;
        var result = RlDifficultyFilter.Run(model, prompts, Decode, FirstEven, options);

        // The same samples drawn directly with the engine give the same counts.
        var expected = new List<int>();
        for (var i = 0; i < prompts.Count; i++)
        {
            using var scope = torch.NewDisposeScope();
            var p = prompts[i];
            var pixels = torch.tensor(p.PixelValues!, [p.PixelValues!.Length / model.Config.Vision.PatchInputSize, model.Config.Vision.PatchInputSize]);
            var generated = Generation.Generate(model, new GenerationRequest
            {
                Prompts = Enumerable.Range(0, 4).Select(_ => new PromptInput(p.PromptIds, pixels, p.Grids)).ToList(),
                Options = new GenerationOptions { MaxNewTokens = 3, Temperature = 1.0, Seed = (3 * 7_919L) + i },
            });
            expected.Add(generated.Sequences.Count(s => s.Tokens[0] % 2 == 0));
        }

        Assert.Equal(expected, result.CorrectCounts);
        Assert.Equal(prompts.Count, result.Histogram.Sum());
        Assert.Equal(Enumerable.Range(0, prompts.Count).Where(i => expected[i] is >= 1 and <= 3), result.KeptIndices);
        Assert.Equal(result.KeptIndices.Select(i => prompts[i].Id), result.Kept(prompts).Select(p => p.Id));
        Assert.True(result.CorrectCounts.Distinct().Count() > 1, $"counts {string.Join(",", result.CorrectCounts)} should vary across prompts");

        // Deterministic for a seed.
        Assert.Equal(result.CorrectCounts, RlDifficultyFilter.Run(model, prompts, Decode, FirstEven, options).CorrectCounts);
    }

    [Fact]
    public void Grounding_samples_are_correct_at_iou_one_half()
    {
        var solution = DeepPerception.Kvg.KvgPrompts.Solution("Blue Jay", 100, 100, 300, 300);
        Assert.True(RlDifficultyFilter.IsCorrectGrounding("<think>x</think><answer>(100,100),(300,300)</answer>", solution));
        Assert.False(RlDifficultyFilter.IsCorrectGrounding("<think>x</think><answer>(300,300),(500,500)</answer>", solution));
        Assert.False(RlDifficultyFilter.IsCorrectGrounding("(100,100),(300,300)", solution));
    }
}
