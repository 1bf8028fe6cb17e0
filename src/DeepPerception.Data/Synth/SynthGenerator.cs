using System.Globalization;

namespace DeepPerception.Data.Synth;

/// <summary>
/// Composites 2–6 distinct same-domain entities into one image with one of the four layouts and picks the target.
/// Each sample depends only on the world, the options and the sample seed.
/// </summary>
public sealed class SynthGenerator
{
    /// <summary>Creates a generator for a world.</summary>
    public SynthGenerator(SynthWorld world, SynthOptions? options = null)
    {
        World = world ?? throw new ArgumentNullException(nameof(world));
        Options = options ?? new SynthOptions();
        Options.Validate();
    }

    /// <summary>The world the entities come from.</summary>
    public SynthWorld World { get; }

    /// <summary>Composition options.</summary>
    public SynthOptions Options { get; }

    /// <summary>Generates the sample for (domain, stream, index); the same arguments always give the same sample.</summary>
    /// <param name="domain">Domain of all entities in the image.</param>
    /// <param name="stream">A stream tag (for example a split) that separates sample families.</param>
    /// <param name="index">Sample index within the stream.</param>
    public SynthSample Generate(SynthDomain domain, int stream, int index)
    {
        ArgumentNullException.ThrowIfNull(domain);
        var domainIndex = SynthDomains.All.ToList().IndexOf(domain);
        if (domainIndex < 0)
        {
            throw new ArgumentException($"Domain '{domain.Name}' is not one of the ten synthetic domains.", nameof(domain));
        }

        var seed = SynthRandom.Mix(World.Seed, stream, index, domainIndex);
        var id = string.Create(CultureInfo.InvariantCulture, $"{domain.Name}-{stream}-{index:D6}");
        return Generate(domain, seed, id);
    }

    /// <summary>Generates one sample from an explicit seed.</summary>
    public SynthSample Generate(SynthDomain domain, ulong seed, string id)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        var rng = new SynthRandom(seed);
        var pool = World.EntitiesOf(domain);
        var count = rng.Next(Options.MinEntities, Math.Min(Options.MaxEntities, pool.Count) + 1);
        var target = rng.Pick(pool);
        var chosen = ChooseDistractors(rng, target, pool, count - 1);
        chosen.Add(target);
        rng.Shuffle(chosen);

        var plan = LayoutPlanner.Plan(rng, Options, count, rng.Pick(Options.Layouts));
        var background = rng.Pick(SynthColor.Backgrounds);
        var image = new SynthImage(plan.Width, plan.Height, background);
        image.AddPositionRamp(Options.PositionCue);
        var objects = new SynthObject[count];
        for (var i = 0; i < count; i++)
        {
            var slot = plan.Slots[i];
            var sprite = EntityRenderer.Render(domain, chosen[i].Attributes, slot.Side);
            objects[i] = Place(image, sprite, slot, chosen[i].Name, chosen[i], null);
        }

        return new SynthSample(id, domain.Name, plan.Layout, plan.Rows, plan.Columns, image, background, objects, chosen.IndexOf(target));
    }

    internal static SynthObject Place(SynthImage image, Sprite sprite, Slot slot, string label, SynthEntity? entity, ShapeAttributes? shape)
    {
        sprite.PasteInto(image, slot.Left, slot.Top);
        var b = sprite.Bounds();
        var box = new PixelBox(slot.Left + b.X1, slot.Top + b.Y1, slot.Left + b.X2, slot.Top + b.Y2);
        return new SynthObject(label, box, slot.Row, slot.Column, entity, shape);
    }

    private List<SynthEntity> ChooseDistractors(SynthRandom rng, SynthEntity target, IReadOnlyList<SynthEntity> pool, int count)
    {
        var others = pool.Where(e => e != target).ToList();
        rng.Shuffle(others);
        if (rng.NextDouble() < Options.SiblingBias)
        {
            var siblings = others.Where(e => e.Family == target.Family).ToList();
            others = siblings.Concat(others.Where(e => e.Family != target.Family)).ToList();
        }

        return others.Take(count).ToList();
    }
}
