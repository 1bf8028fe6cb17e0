namespace DeepPerception.Data.Synth;

/// <summary>
/// A small, fully specified pseudo-random generator (SplitMix64) so that every synthetic image and record depends only
/// on the seed, never on the runtime's <see cref="Random"/> implementation.
/// </summary>
public sealed class SynthRandom
{
    private ulong _state;

    /// <summary>Creates a generator from a 64-bit seed.</summary>
    public SynthRandom(ulong seed) => _state = seed;

    /// <summary>Derives a well-mixed seed from several parts (for example world seed, split tag and sample index).</summary>
    public static ulong Mix(params long[] parts)
    {
        ulong h = 0x243F6A8885A308D3UL;
        foreach (var p in parts)
        {
            h ^= unchecked((ulong)p);
            h = Scramble(h + 0x9E3779B97F4A7C15UL);
        }

        return h;
    }

    /// <summary>Next raw 64-bit value.</summary>
    public ulong NextUInt64()
    {
        _state = unchecked(_state + 0x9E3779B97F4A7C15UL);
        return Scramble(_state);
    }

    /// <summary>Uniform integer in [0, maxExclusive).</summary>
    public int Next(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        return (int)(NextUInt64() % (ulong)maxExclusive);
    }

    /// <summary>Uniform integer in [minInclusive, maxExclusive).</summary>
    public int Next(int minInclusive, int maxExclusive)
    {
        if (maxExclusive <= minInclusive)
        {
            throw new ArgumentOutOfRangeException(nameof(maxExclusive), $"Empty range [{minInclusive}, {maxExclusive}).");
        }

        return minInclusive + Next(maxExclusive - minInclusive);
    }

    /// <summary>Uniform double in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform double in [min, max).</summary>
    public double NextDouble(double min, double max) => min + (NextDouble() * (max - min));

    /// <summary>One element chosen uniformly.</summary>
    public T Pick<T>(IReadOnlyList<T> items)
    {
        if (items.Count == 0)
        {
            throw new ArgumentException("Cannot pick from an empty list.", nameof(items));
        }

        return items[Next(items.Count)];
    }

    /// <summary>In-place Fisher–Yates shuffle.</summary>
    public void Shuffle<T>(IList<T> items)
    {
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private static ulong Scramble(ulong z)
    {
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }
}
