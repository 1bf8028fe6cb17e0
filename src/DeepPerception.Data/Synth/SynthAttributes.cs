namespace DeepPerception.Data.Synth;

/// <summary>The five fine-grained attributes that tell entities of one domain apart.</summary>
public enum SynthAttributeKind
{
    /// <summary>Colour of the main body part (stripes and spots are painted on it).</summary>
    BodyColor,

    /// <summary>Colour of the secondary parts (and of the marker).</summary>
    AccentColor,

    /// <summary>Number of thick black stripes across the body (0–3).</summary>
    Stripes,

    /// <summary>White spots on the body, or none.</summary>
    Pattern,

    /// <summary>Where the ringed marker sits on the entity.</summary>
    MarkerPosition,
}

/// <summary>Where an entity's marker part sits.</summary>
public enum MarkerPosition
{
    /// <summary>On the left of the entity.</summary>
    Left,

    /// <summary>On the right of the entity.</summary>
    Right,

    /// <summary>At the top of the entity.</summary>
    Top,
}

/// <summary>One entity's attribute vector.</summary>
public sealed record SynthAttributes(SynthColor BodyColor, SynthColor AccentColor, int Stripes, bool Spotted, MarkerPosition Marker)
{
    /// <summary>All attribute kinds, in a fixed order.</summary>
    public static IReadOnlyList<SynthAttributeKind> Kinds { get; } = Enum.GetValues<SynthAttributeKind>();

    /// <summary>Largest stripe count.</summary>
    public const int MaxStripes = 3;

    /// <summary>The value of one attribute as a short machine-readable string ("red", "2", "spotted", "left").</summary>
    public string Value(SynthAttributeKind kind) => kind switch
    {
        SynthAttributeKind.BodyColor => BodyColor.Name,
        SynthAttributeKind.AccentColor => AccentColor.Name,
        SynthAttributeKind.Stripes => Stripes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        SynthAttributeKind.Pattern => Spotted ? "spotted" : "plain",
        SynthAttributeKind.MarkerPosition => Marker.ToString().ToLowerInvariant(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown attribute kind."),
    };

    /// <summary>The attribute kinds whose values differ between two entities.</summary>
    public IReadOnlyList<SynthAttributeKind> DifferingFrom(SynthAttributes other) =>
        Kinds.Where(k => Value(k) != other.Value(k)).ToArray();

    /// <summary>Machine-readable attribute map (snake_case keys), as written to <c>knowledge.json</c>.</summary>
    public IReadOnlyDictionary<string, string> ToDictionary() => new SortedDictionary<string, string>(StringComparer.Ordinal)
    {
        ["body_color"] = Value(SynthAttributeKind.BodyColor),
        ["accent_color"] = Value(SynthAttributeKind.AccentColor),
        ["stripes"] = Value(SynthAttributeKind.Stripes),
        ["pattern"] = Value(SynthAttributeKind.Pattern),
        ["marker_position"] = Value(SynthAttributeKind.MarkerPosition),
    };

    /// <summary>A copy with one attribute replaced by a value drawn so that it differs from the current one.</summary>
    internal SynthAttributes Mutate(SynthAttributeKind kind, SynthRandom rng)
    {
        switch (kind)
        {
            case SynthAttributeKind.BodyColor:
                {
                    var options = SynthColor.Palette.Where(c => c != BodyColor && c != AccentColor).ToArray();
                    return this with { BodyColor = rng.Pick(options) };
                }

            case SynthAttributeKind.AccentColor:
                {
                    var options = SynthColor.Palette.Where(c => c != BodyColor && c != AccentColor).ToArray();
                    return this with { AccentColor = rng.Pick(options) };
                }

            case SynthAttributeKind.Stripes:
                return this with { Stripes = (Stripes + 1 + rng.Next(MaxStripes)) % (MaxStripes + 1) };
            case SynthAttributeKind.Pattern:
                return this with { Spotted = !Spotted };
            case SynthAttributeKind.MarkerPosition:
                return this with { Marker = (MarkerPosition)(((int)Marker + 1 + rng.Next(2)) % 3) };
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown attribute kind.");
        }
    }

    /// <summary>A random attribute vector (body and accent colours always differ).</summary>
    internal static SynthAttributes Random(SynthRandom rng)
    {
        var body = rng.Pick(SynthColor.Palette);
        var accent = rng.Pick(SynthColor.Palette.Where(c => c != body).ToArray());
        return new SynthAttributes(body, accent, rng.Next(MaxStripes + 1), rng.Next(2) == 1, (MarkerPosition)rng.Next(3));
    }
}
