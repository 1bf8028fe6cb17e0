using DeepPerception.ML.Qwen2VL;
using DeepPerception.ML.Training;
using TorchSharp;

namespace DeepPerception.ML.Tests;

/// <summary>GRPO on the golden tiny model with a verifiable reward: the mean reward must rise.</summary>
public sealed class GrpoTrainerTests
{
    private static List<GrpoPrompt> Prompts()
    {
        var sft = SftTrainerTests.ToyData(8, 9);
        return sft.Select((x, i) => new GrpoPrompt(x.InputIds.Take(13).ToArray(), x.PixelValues, x.Grids, "low", $"p{i}")).ToList();
    }

    /// <summary>Reward: share of completion tokens with an id below 100 (about a third at the start).</summary>
    private static readonly IRewardFunction LowIds = new DelegateReward("low_ids", (text, _) =>
    {
        var ids = text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        return ids.Length == 0 ? 0 : ids.Count(i => i < 100) / (double)ids.Length;
    });

    private static string Decode(int[] ids) => string.Join(' ', ids);

    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 1)]
    [InlineData(false, 2)]
    public void Mean_reward_rises(bool lora, int updatesPerRollout)
    {
        torch.set_num_threads(1);
        using var policy = Golden.LoadModel();
        using var reference = lora ? null : Golden.LoadModel();
        var options = new GrpoOptions
        {
            Generations = 4, MaxCompletionLength = 6, LearningRate = lora ? 3e-2 : 5e-3, Beta = 0.04, PromptsPerStep = 2, Epochs = 5,
            UpdatesPerRollout = updatesPerRollout, TopK = 0, Seed = 11,
            Freeze = lora ? new FreezeOptions { Lora = new LoraOptions { Rank = 8, Alpha = 16, Dropout = 0 } } : new FreezeOptions { Vision = false, Merger = false },
        };
        var metrics = new List<TrainingMetrics>();
        var rollouts = new List<RolloutSample>();
        var result = new GrpoTrainer(policy, reference, Decode, [LowIds], options).Train(Prompts(), metrics.Add, rollouts.Add);
        Assert.Equal(20, result.Steps);
        Assert.Equal(20 * 2 * 4, rollouts.Count);
        var first = metrics.Take(4).Average(m => m.Extra["reward"]);
        var last = metrics.TakeLast(4).Average(m => m.Extra["reward"]);
        Assert.True(last > first + 0.2, $"mean reward {first:F3} → {last:F3}");
        Assert.True(metrics.Skip(1).Any(m => m.Extra["kl"] > 0), "the policy must move away from the reference");
        Assert.All(metrics, m => Assert.True(m.Extra["completion_length"] > 0));
        Assert.All(rollouts.GroupBy(r => (r.Step, r.PromptId)), g => Assert.True(Math.Abs(g.Sum(r => r.Advantage)) < 1e-6));
    }

    [Fact]
    public void Full_parameter_grpo_without_a_reference_is_refused()
    {
        using var policy = Golden.LoadModel();
        var e = Assert.Throws<ArgumentException>(() =>
            new GrpoTrainer(policy, null, Decode, [LowIds], new GrpoOptions { PromptsPerStep = 2 }).Train(Prompts()));
        Assert.Contains("reference", e.Message);
    }
}
