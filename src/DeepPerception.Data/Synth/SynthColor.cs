namespace DeepPerception.Data.Synth;

/// <summary>A named RGB colour used by the synthetic world.</summary>
public readonly record struct SynthColor(string Name, byte R, byte G, byte B)
{
    /// <summary>The eight saturated colours entity parts are painted in (large, easily told apart at 56×56).</summary>
    public static IReadOnlyList<SynthColor> Palette { get; } =
    [
        new("red", 214, 39, 40),
        new("orange", 255, 127, 14),
        new("yellow", 240, 210, 30),
        new("green", 44, 160, 44),
        new("teal", 23, 190, 207),
        new("blue", 31, 90, 200),
        new("purple", 148, 73, 189),
        new("pink", 240, 120, 190),
    ];

    /// <summary>Pale canvas backgrounds; none of them is used by any drawn part.</summary>
    public static IReadOnlyList<SynthColor> Backgrounds { get; } =
    [
        new("ivory", 238, 236, 228),
        new("mist", 226, 234, 240),
        new("sand", 240, 230, 222),
        new("mint", 230, 240, 228),
        new("lilac", 236, 232, 242),
    ];

    /// <summary>Colour of stripes and marker rings.</summary>
    public static SynthColor Stripe { get; } = new("black", 28, 28, 28);

    /// <summary>Colour of spots.</summary>
    public static SynthColor Spot { get; } = new("white", 250, 250, 250);

    /// <summary>Looks a palette colour up by name.</summary>
    public static SynthColor FromName(string name) =>
        Palette.FirstOrDefault(c => c.Name == name) is { Name: not null } c
            ? c
            : throw new ArgumentException($"Unknown palette colour '{name}'.", nameof(name));

    /// <inheritdoc />
    public override string ToString() => Name;
}
