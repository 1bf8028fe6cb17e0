using DeepPerception.Kvg;

namespace DeepPerception.Core.Tests.Kvg;

/// <summary>Paired comparison of two systems: hand-computed McNemar values, bootstrap intervals, pairing errors.</summary>
public sealed class KvgPairedComparisonTests
{
    private static List<KvgOutcome> Outcomes(string category, params bool[] correct) =>
        correct.Select((c, i) => new KvgOutcome($"{category}/{i}", category, c)).ToList();

    [Theory]
    [InlineData(0, 0, 1.0)]
    [InlineData(5, 5, 1.0)]
    [InlineData(0, 10, 2.0 / 1024)] // 2 × 0.5^10
    [InlineData(10, 0, 2.0 / 1024)]
    [InlineData(3, 9, 2.0 * 299 / 4096)] // 2 × (1 + 12 + 66 + 220) / 2^12
    [InlineData(1, 1, 1.0)]
    public void McNemar_exact_matches_the_binomial_tail(int onlyA, int onlyB, double expected) =>
        Assert.Equal(expected, KvgPairedComparison.McNemarExact(onlyA, onlyB), 12);

    [Fact]
    public void McNemar_stays_finite_for_large_counts()
    {
        Assert.Equal(1.0, KvgPairedComparison.McNemarExact(1000, 1000), 9);
        var p = KvgPairedComparison.McNemarExact(400, 600);
        Assert.InRange(p, 1e-12, 1e-8); // z ≈ 6.3
        Assert.Equal(0.0, KvgPairedComparison.McNemarExact(0, 2000));
    }

    [Fact]
    public void Identical_systems_differ_by_zero_with_an_interval_of_zero_width()
    {
        var a = Outcomes("aircraft", true, false, true, false, false, true);
        var c = KvgPairedComparison.Compare("a", a, "b", a);
        Assert.Equal(0, c.Overall.Difference);
        Assert.Equal(0, c.Overall.CiLow);
        Assert.Equal(0, c.Overall.CiHigh);
        Assert.Equal(1.0, c.Overall.McNemarP);
        Assert.False(c.Overall.Significant);
        Assert.Null(c.Seen);
    }

    [Fact]
    public void A_clearly_better_system_gets_an_interval_above_zero_and_a_small_p()
    {
        // 100 questions: A right on 20, B right on the same 20 plus 30 more.
        var a = Outcomes("bird", Enumerable.Range(0, 100).Select(i => i < 20).ToArray());
        var b = Outcomes("bird", Enumerable.Range(0, 100).Select(i => i < 50).ToArray());
        var c = KvgPairedComparison.Compare("a", a, "b", b);
        Assert.Equal(20, c.Overall.AccuracyA, 9);
        Assert.Equal(50, c.Overall.AccuracyB, 9);
        Assert.Equal(30, c.Overall.Difference, 9);
        Assert.Equal((0, 30), (c.Overall.OnlyA, c.Overall.OnlyB));
        Assert.True(c.Overall.CiLow > 15 && c.Overall.CiHigh < 45, $"[{c.Overall.CiLow}, {c.Overall.CiHigh}]");
        Assert.True(c.Overall.Significant);
        Assert.True(c.Overall.McNemarP < 1e-8);

        // The reverse comparison mirrors it.
        var reverse = KvgPairedComparison.Compare("b", b, "a", a);
        Assert.Equal(-30, reverse.Overall.Difference, 9);
        Assert.True(reverse.Overall.CiHigh < 0);
    }

    [Fact]
    public void Small_differences_on_small_sets_are_not_significant_and_the_seed_makes_it_repeatable()
    {
        var a = Outcomes("car", Enumerable.Range(0, 40).Select(i => i % 5 == 0).ToArray());
        var b = Outcomes("car", Enumerable.Range(0, 40).Select(i => i % 5 == 0 || i == 1).ToArray());
        var c1 = KvgPairedComparison.Compare("a", a, "b", b, seed: 3);
        var c2 = KvgPairedComparison.Compare("a", a, "b", b, seed: 3);
        Assert.Equal(2.5, c1.Overall.Difference, 9);
        Assert.False(c1.Overall.Significant);
        Assert.Equal(1.0, c1.Overall.McNemarP);
        Assert.Equal(c1, c2);
    }

    [Fact]
    public void The_split_gives_seen_and_unseen_subsets()
    {
        var a = Outcomes("aircraft", false, false, false, false).Concat(Outcomes("dog", true, true, false, false)).ToList();
        var b = Outcomes("aircraft", true, true, false, false).Concat(Outcomes("dog", true, true, false, false)).ToList();
        var c = KvgPairedComparison.Compare("a", a, "b", b, KvgCategorySplit.Default);
        Assert.Equal(25, c.Overall.Difference, 9);
        Assert.Equal(4, c.Seen!.Items);
        Assert.Equal(50, c.Seen.Difference, 9);
        Assert.Equal(0, c.Unseen!.Difference, 9);
    }

    [Fact]
    public void Unpaired_or_repeated_questions_are_refused_by_name()
    {
        var a = Outcomes("bird", true, false);
        var missing = Assert.Throws<ArgumentException>(() => KvgPairedComparison.Compare("a", a, "b", Outcomes("bird", true)));
        Assert.Contains("bird/1", missing.Message);
        var extra = Assert.Throws<ArgumentException>(() => KvgPairedComparison.Compare("a", Outcomes("bird", true), "b", a));
        Assert.Contains("bird/1", extra.Message);
        var twice = Assert.Throws<ArgumentException>(() => KvgPairedComparison.Compare("a", [.. a, a[0]], "b", a));
        Assert.Contains("twice", twice.Message);
        var moved = Assert.Throws<ArgumentException>(() =>
            KvgPairedComparison.Compare("a", a, "b", [a[0], a[1] with { Category = "dog" }]));
        Assert.Contains("'bird' in 'a' but 'dog' in 'b'", moved.Message);
        Assert.Throws<ArgumentException>(() => KvgPairedComparison.Compare("a", [], "b", []));
        Assert.Throws<ArgumentOutOfRangeException>(() => KvgPairedComparison.Compare("a", a, "b", a, resamples: 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => KvgPairedComparison.Compare("a", a, "b", a, confidence: 1));
    }
}
