namespace DeepPerception.Data.Synth;

/// <summary>
/// One of the ten KVG-Bench-style domains, with its own drawn shape family and the nouns used in knowledge text and
/// rationales.
/// </summary>
public sealed class SynthDomain
{
    internal SynthDomain(string name, bool isSeen, string noun, string pluralNoun, string bodyPart, string accentParts, string markerPart, DomainTemplate template)
    {
        Name = name;
        IsSeen = isSeen;
        Noun = noun;
        PluralNoun = pluralNoun;
        BodyPart = bodyPart;
        AccentParts = accentParts;
        MarkerPart = markerPart;
        Template = template;
    }

    /// <summary>The KVG-Bench category name (e.g. <c>aircraft</c>).</summary>
    public string Name { get; }

    /// <summary>True for the five training ("seen") domains.</summary>
    public bool IsSeen { get; }

    /// <summary>Singular noun for one entity ("aircraft", "bird").</summary>
    public string Noun { get; }

    /// <summary>Plural noun ("aircraft", "birds").</summary>
    public string PluralNoun { get; }

    /// <summary>Name of the body part that carries the body colour, stripes and spots ("fuselage").</summary>
    public string BodyPart { get; }

    /// <summary>Name of the accent-coloured parts ("wings").</summary>
    public string AccentParts { get; }

    /// <summary>Name of the ringed marker part ("roundel").</summary>
    public string MarkerPart { get; }

    internal DomainTemplate Template { get; }

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>The ten domains, in KVG-Bench's category order (seen first).</summary>
public static class SynthDomains
{
    private static readonly SynthColor Dark = new("dark grey", 60, 64, 72);
    private static readonly SynthColor Plate = new("light grey", 200, 202, 208);
    private static readonly SynthColor Leaf = new("leaf green", 52, 120, 52);
    private static readonly SynthColor Beak = new("amber", 205, 150, 60);

    /// <summary>All ten domains.</summary>
    public static IReadOnlyList<SynthDomain> All { get; } = Build();

    /// <summary>The five seen (training) domains: aircraft, car, reptilia, bird, food.</summary>
    public static IReadOnlyList<SynthDomain> Seen { get; } = All.Where(d => d.IsSeen).ToArray();

    /// <summary>The five unseen domains: dog, mollusca, mammal, flower, landmark.</summary>
    public static IReadOnlyList<SynthDomain> Unseen { get; } = All.Where(d => !d.IsSeen).ToArray();

    /// <summary>Looks a domain up by its category name.</summary>
    public static SynthDomain Get(string name) =>
        All.FirstOrDefault(d => d.Name == name) ?? throw new ArgumentException($"Unknown domain '{name}'.", nameof(name));

    private static Part Body(Shape s) => new(PartRole.Body, s, null);

    private static Part Accent(Shape s) => new(PartRole.Accent, s, null);

    private static Part Fixed(Shape s, SynthColor c) => new(PartRole.Fixed, s, c);

    private static Ellipse E(double cx, double cy, double rx, double ry) => new(cx, cy, rx, ry);

    private static Polygon P(params double[] xy) => new(xy);

    private static Rect R(double x1, double y1, double x2, double y2) => new(x1, y1, x2, y2);

    private static SynthDomain[] Build() =>
    [
        new("aircraft", true, "aircraft", "aircraft", "fuselage", "wings", "roundel", new DomainTemplate(
            [
                Accent(P(0.38, 0.5, 0.62, 0.5, 0.52, 0.08, 0.44, 0.08)),
                Accent(P(0.38, 0.5, 0.62, 0.5, 0.52, 0.92, 0.44, 0.92)),
                Body(P(0.03, 0.52, 0.22, 0.52, 0.12, 0.2, 0.03, 0.2)),
                Body(E(0.5, 0.5, 0.46, 0.15)),
                Fixed(E(0.86, 0.45, 0.05, 0.04), Dark),
            ],
            PatternBox: (0.1, 0.35, 0.92, 0.65), HorizontalStripes: false,
            MarkerPoints: [(0.28, 0.5), (0.72, 0.5), (0.09, 0.31)])),
        new("car", true, "car", "cars", "body", "cabin", "badge", new DomainTemplate(
            [
                Accent(P(0.22, 0.42, 0.78, 0.42, 0.66, 0.14, 0.34, 0.14)),
                Body(R(0.06, 0.4, 0.94, 0.74)),
                Fixed(E(0.27, 0.76, 0.11, 0.11), Dark),
                Fixed(E(0.73, 0.76, 0.11, 0.11), Dark),
            ],
            PatternBox: (0.06, 0.4, 0.94, 0.66), HorizontalStripes: false,
            MarkerPoints: [(0.16, 0.53), (0.84, 0.53), (0.5, 0.28)])),
        new("reptilia", true, "reptile", "reptiles", "back", "head and legs", "crest", new DomainTemplate(
            [
                Accent(R(0.28, 0.16, 0.37, 0.84)),
                Accent(R(0.62, 0.16, 0.71, 0.84)),
                Body(P(0.24, 0.4, 0.24, 0.6, 0.0, 0.5)),
                Body(E(0.5, 0.5, 0.3, 0.2)),
                Accent(E(0.86, 0.5, 0.12, 0.11)),
                Fixed(E(0.9, 0.44, 0.025, 0.025), Dark),
                Fixed(E(0.9, 0.56, 0.025, 0.025), Dark),
            ],
            PatternBox: (0.2, 0.3, 0.8, 0.7), HorizontalStripes: false,
            MarkerPoints: [(0.32, 0.5), (0.68, 0.5), (0.5, 0.32)])),
        new("bird", true, "bird", "birds", "body", "wings and tail", "patch", new DomainTemplate(
            [
                Fixed(R(0.42, 0.74, 0.46, 0.94), Dark),
                Fixed(R(0.54, 0.74, 0.58, 0.94), Dark),
                Accent(P(0.22, 0.5, 0.22, 0.68, 0.02, 0.76, 0.02, 0.44)),
                Body(E(0.5, 0.58, 0.3, 0.2)),
                Body(E(0.76, 0.32, 0.14, 0.14)),
                Fixed(P(0.87, 0.27, 0.99, 0.34, 0.87, 0.39), Beak),
                Accent(E(0.44, 0.58, 0.19, 0.09)),
                Fixed(E(0.8, 0.29, 0.025, 0.025), Dark),
            ],
            PatternBox: (0.2, 0.38, 0.8, 0.78), HorizontalStripes: false,
            MarkerPoints: [(0.26, 0.52), (0.7, 0.66), (0.66, 0.3)])),
        new("food", true, "dish", "dishes", "crust", "filling", "garnish", new DomainTemplate(
            [
                Fixed(E(0.5, 0.5, 0.48, 0.44), Plate),
                Body(E(0.5, 0.52, 0.38, 0.28)),
                Accent(E(0.5, 0.52, 0.17, 0.1)),
            ],
            PatternBox: (0.12, 0.24, 0.88, 0.8), HorizontalStripes: false,
            MarkerPoints: [(0.22, 0.52), (0.78, 0.52), (0.5, 0.16)])),
        new("dog", false, "dog", "dogs", "coat", "ears, legs and tail", "tag", new DomainTemplate(
            [
                Accent(R(0.24, 0.56, 0.31, 0.9)),
                Accent(R(0.36, 0.58, 0.43, 0.9)),
                Accent(R(0.54, 0.58, 0.61, 0.9)),
                Accent(R(0.65, 0.56, 0.72, 0.9)),
                Accent(P(0.2, 0.48, 0.24, 0.54, 0.06, 0.26, 0.1, 0.24)),
                Body(E(0.48, 0.52, 0.3, 0.16)),
                Body(E(0.8, 0.36, 0.13, 0.12)),
                Accent(P(0.72, 0.28, 0.8, 0.25, 0.7, 0.5)),
                Fixed(E(0.93, 0.38, 0.03, 0.03), Dark),
            ],
            PatternBox: (0.18, 0.36, 0.78, 0.68), HorizontalStripes: false,
            MarkerPoints: [(0.3, 0.48), (0.62, 0.48), (0.83, 0.22)])),
        new("mollusca", false, "mollusc", "molluscs", "shell", "foot and feelers", "whorl", new DomainTemplate(
            [
                Accent(E(0.5, 0.82, 0.46, 0.08)),
                Accent(P(0.8, 0.74, 0.83, 0.74, 0.8, 0.5, 0.77, 0.5)),
                Accent(P(0.88, 0.74, 0.91, 0.74, 0.95, 0.5, 0.92, 0.5)),
                Accent(E(0.86, 0.76, 0.08, 0.08)),
                Body(E(0.46, 0.5, 0.3, 0.3)),
            ],
            PatternBox: (0.16, 0.2, 0.76, 0.8), HorizontalStripes: false,
            MarkerPoints: [(0.28, 0.52), (0.64, 0.52), (0.46, 0.28)])),
        new("mammal", false, "mammal", "mammals", "hide", "horns and legs", "mark", new DomainTemplate(
            [
                Accent(R(0.2, 0.6, 0.29, 0.92)),
                Accent(R(0.35, 0.62, 0.44, 0.92)),
                Accent(R(0.5, 0.62, 0.59, 0.92)),
                Accent(R(0.63, 0.6, 0.72, 0.92)),
                Body(E(0.45, 0.5, 0.33, 0.21)),
                Accent(P(0.74, 0.32, 0.79, 0.3, 0.72, 0.08)),
                Accent(P(0.86, 0.3, 0.91, 0.32, 0.94, 0.08)),
                Body(E(0.83, 0.42, 0.13, 0.13)),
                Fixed(E(0.88, 0.4, 0.025, 0.025), Dark),
            ],
            PatternBox: (0.12, 0.29, 0.78, 0.71), HorizontalStripes: false,
            MarkerPoints: [(0.24, 0.46), (0.64, 0.46), (0.45, 0.33)])),
        new("flower", false, "flower", "flowers", "petals", "centre", "dot", new DomainTemplate(
            [
                Fixed(R(0.47, 0.5, 0.53, 0.98), Leaf),
                Fixed(P(0.52, 0.8, 0.78, 0.64, 0.84, 0.7, 0.52, 0.88), Leaf),
                Body(E(0.28, 0.36, 0.13, 0.13)),
                Body(E(0.72, 0.36, 0.13, 0.13)),
                Body(E(0.39, 0.17, 0.13, 0.13)),
                Body(E(0.61, 0.17, 0.13, 0.13)),
                Body(E(0.39, 0.55, 0.13, 0.13)),
                Body(E(0.61, 0.55, 0.13, 0.13)),
                Accent(E(0.5, 0.36, 0.12, 0.12)),
            ],
            PatternBox: (0.15, 0.04, 0.85, 0.68), HorizontalStripes: false,
            MarkerPoints: [(0.2, 0.36), (0.8, 0.36), (0.5, 0.08)])),
        new("landmark", false, "landmark", "landmarks", "tower", "roof and base", "emblem", new DomainTemplate(
            [
                Accent(R(0.16, 0.84, 0.84, 0.97)),
                Body(P(0.3, 0.85, 0.7, 0.85, 0.6, 0.28, 0.4, 0.28)),
                Accent(P(0.34, 0.3, 0.66, 0.3, 0.5, 0.03)),
                Fixed(R(0.45, 0.7, 0.55, 0.85), Dark),
            ],
            PatternBox: (0.36, 0.3, 0.64, 0.68), HorizontalStripes: true,
            MarkerPoints: [(0.38, 0.62), (0.62, 0.62), (0.5, 0.4)])),
    ];
}
