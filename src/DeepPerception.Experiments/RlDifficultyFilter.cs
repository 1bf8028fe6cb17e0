namespace DeepPerception.Experiments;

/// <summary>
/// The RL data filter of the paper: a prompt is kept for GRPO only when the CoT-SFT model answers it correctly in some
/// but not all of its G samples (1 … G − 1 correct), so that every kept group has a non-zero reward spread.
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
}
