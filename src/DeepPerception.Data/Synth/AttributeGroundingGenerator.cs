using System.Globalization;

namespace DeepPerception.Data.Synth;

/// <summary>
/// The generic attribute-grounding set for base pre-training: 2–6 random shapes (ellipse, rectangle, triangle,
/// diamond) with a colour, 0–3 stripes and spots or none; the query names the target by the fewest attributes that
/// make it unique ("the red ellipse with 3 stripes"). No entity names are involved.
/// </summary>
public sealed class AttributeGroundingGenerator
{
    /// <summary>The category written for these samples.</summary>
    public const string Category = "shapes";

    /// <summary>The shape kinds.</summary>
    public static IReadOnlyList<string> ShapeKinds { get; } = ["ellipse", "rectangle", "triangle", "diamond"];

    private readonly int _seed;

    /// <summary>Creates a generator.</summary>
    public AttributeGroundingGenerator(int seed, SynthOptions? options = null)
    {
        _seed = seed;
        Options = options ?? new SynthOptions();
        Options.Validate();
    }

    /// <summary>Composition options.</summary>
    public SynthOptions Options { get; }

    /// <summary>The question of a dense-grounding example (<see cref="DenseTarget"/>).</summary>
    public const string DenseQuery = "Locate every shape in the image.";

    /// <summary>Every shape of a sample with its full description and box, in reading order (<see cref="SynthTargets.Dense"/>).</summary>
    public static string DenseTarget(SynthSample sample) => SynthTargets.Dense(sample, o => o.Shape?.FullDescription ?? o.Label);

    /// <summary>Generates the sample with the given index (deterministic).</summary>
    public SynthSample Generate(int index)
    {
        var rng = new SynthRandom(SynthRandom.Mix(_seed, 0x5A11, index));
        var count = rng.Next(Options.MinEntities, Options.MaxEntities + 1);
        var shapes = new List<ShapeAttributes>();
        while (shapes.Count < count)
        {
            var s = new ShapeAttributes(rng.Pick(ShapeKinds), rng.Pick(SynthColor.Palette), rng.Next(SynthAttributes.MaxStripes + 1), rng.Next(2) == 1);
            if (!shapes.Contains(s))
            {
                shapes.Add(s);
            }
        }

        var plan = LayoutPlanner.Plan(rng, Options, count, rng.Pick(Options.Layouts));
        var background = rng.Pick(SynthColor.Backgrounds);
        var image = new SynthImage(plan.Width, plan.Height, background);
        image.AddPositionRamp(Options.PositionCue);
        var targetIndex = rng.Next(count);
        var objects = new SynthObject[count];
        for (var i = 0; i < count; i++)
        {
            var sprite = Render(shapes[i], plan.Slots[i].Side);
            var label = i == targetIndex ? Describe(shapes[i], shapes) : shapes[i].FullDescription;
            objects[i] = SynthGenerator.Place(image, sprite, plan.Slots[i], label, null, shapes[i]);
        }

        var id = string.Create(CultureInfo.InvariantCulture, $"{Category}-{index:D6}");
        return new SynthSample(id, Category, plan.Layout, plan.Rows, plan.Columns, image, background, objects, targetIndex);
    }

    /// <summary>Generates samples 0 … count − 1 lazily.</summary>
    public IEnumerable<SynthSample> Generate(int start, int count)
    {
        for (var i = 0; i < count; i++)
        {
            yield return Generate(start + i);
        }
    }

    /// <summary>Knowledge entries for the target labels of some samples (so the platform format stays valid).</summary>
    public static IReadOnlyDictionary<string, SynthKnowledgeEntry> Knowledge(IEnumerable<SynthSample> samples)
    {
        var result = new SortedDictionary<string, SynthKnowledgeEntry>(StringComparer.Ordinal);
        foreach (var s in samples)
        {
            var shape = s.Target.Shape ?? throw new ArgumentException($"Sample {s.Id} is not an attribute-grounding sample.", nameof(samples));
            var attributes = new SortedDictionary<string, string>(StringComparer.Ordinal)
            {
                ["shape"] = shape.Kind,
                ["color"] = shape.Color.Name,
                ["stripes"] = shape.Stripes.ToString(CultureInfo.InvariantCulture),
                ["pattern"] = shape.Spotted ? "spotted" : "plain",
            };
            result[s.Target.Label] = new SynthKnowledgeEntry(Category, attributes, $"Here, {s.Target.Label} means {shape.FullDescription}.");
        }

        return result;
    }

    /// <summary>The shortest description (colour and kind, then stripes and/or spots as needed) that is unique among the shapes.</summary>
    internal static string Describe(ShapeAttributes target, IReadOnlyList<ShapeAttributes> all)
    {
        var others = all.Where(s => s != target).ToArray();
        bool Unique(bool stripes, bool spots) => others.All(o =>
            o.Kind != target.Kind || o.Color != target.Color || (stripes && o.Stripes != target.Stripes) || (spots && o.Spotted != target.Spotted));
        foreach (var (stripes, spots) in new[] { (false, false), (true, false), (false, true), (true, true) })
        {
            if (Unique(stripes, spots))
            {
                return SynthText.ShapeDescription(target, stripes, spots);
            }
        }

        throw new InvalidOperationException("Shapes in one image must differ.");
    }

    internal static Sprite Render(ShapeAttributes s, int size)
    {
        Shape shape = s.Kind switch
        {
            "ellipse" => new Ellipse(0.5, 0.5, 0.46, 0.34),
            "rectangle" => new Rect(0.08, 0.2, 0.92, 0.8),
            "triangle" => new Polygon([0.5, 0.06, 0.94, 0.92, 0.06, 0.92]),
            "diamond" => new Polygon([0.5, 0.04, 0.94, 0.5, 0.5, 0.96, 0.06, 0.5]),
            _ => throw new ArgumentException($"Unknown shape kind '{s.Kind}'.", nameof(s)),
        };
        return EntityRenderer.RenderSingle(shape, s.Color, s.Stripes, s.Spotted, size);
    }
}
