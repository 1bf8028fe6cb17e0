using DeepPerception.Experiments;

namespace DeepPerception.Experiments.Tests;

/// <summary>The RL difficulty filter keeps only prompts with 1 … G − 1 correct samples.</summary>
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
}
