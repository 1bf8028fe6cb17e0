using System.Collections;

namespace DeepPerception.Data.Synth;

/// <summary>A read-only list whose samples are generated on access (deterministically, from the index).</summary>
public sealed class SynthSampleList : IReadOnlyList<SynthSample>
{
    private readonly Func<int, SynthSample> _factory;

    internal SynthSampleList(int count, Func<int, SynthSample> factory)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Count = count;
        _factory = factory;
    }

    /// <inheritdoc />
    public int Count { get; }

    /// <summary>Generates sample <paramref name="index"/> (the same index always gives the same sample).</summary>
    public SynthSample this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
            return _factory(index);
        }
    }

    /// <inheritdoc />
    public IEnumerator<SynthSample> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return _factory(i);
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>The train and test splits of KVG-Synth.</summary>
/// <param name="Train">Samples from the five seen domains only, domains in rotation.</param>
/// <param name="Test">Samples from all ten domains, domains in rotation.</param>
public sealed record SynthSplit(SynthSampleList Train, SynthSampleList Test);

/// <summary>Builds the KVG-Synth splits: train on the seen domains, test on all ten (like KVG-Bench).</summary>
public static class SynthSplits
{
    /// <summary>Stream tag of the training split.</summary>
    public const int TrainStream = 1;

    /// <summary>Stream tag of the test split.</summary>
    public const int TestStream = 2;

    /// <summary>Builds the splits; samples are generated lazily from (world seed, split seed, split, index).</summary>
    public static SynthSplit Build(SynthWorld world, int trainCount, int testCount, int seed, SynthOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(world);
        ArgumentOutOfRangeException.ThrowIfNegative(trainCount);
        ArgumentOutOfRangeException.ThrowIfNegative(testCount);
        var generator = new SynthGenerator(world, options);
        var seen = SynthDomains.Seen;
        var all = SynthDomains.All;
        var trainStream = unchecked((seed * 16) + TrainStream);
        var testStream = unchecked((seed * 16) + TestStream);
        return new SynthSplit(
            new SynthSampleList(trainCount, i => generator.Generate(seen[i % seen.Count], trainStream, i)),
            new SynthSampleList(testCount, i => generator.Generate(all[i % all.Count], testStream, i)));
    }
}
