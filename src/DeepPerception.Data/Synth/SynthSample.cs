namespace DeepPerception.Data.Synth;

/// <summary>The four composition layouts of the paper's data pipeline.</summary>
public enum SynthLayout
{
    /// <summary>Entities side by side in equal-width cells.</summary>
    HorizontalConcat,

    /// <summary>Entities stacked in equal-height cells.</summary>
    VerticalConcat,

    /// <summary>Entities in a rows × columns grid.</summary>
    Grid,

    /// <summary>Entities at random, non-overlapping places and sizes.</summary>
    RandomPlacement,
}

/// <summary>Attributes of a generic shape in the attribute-grounding set.</summary>
public sealed record ShapeAttributes(string Kind, SynthColor Color, int Stripes, bool Spotted)
{
    /// <summary>Noun phrase that names every attribute: "the red ellipse with 3 stripes and white spots".</summary>
    public string FullDescription => SynthText.ShapeDescription(this, includeStripes: true, includeSpots: true);
}

/// <summary>One drawn object of a sample: what it is and where it is.</summary>
/// <param name="Label">Entity name, or the shape description in the attribute-grounding set.</param>
/// <param name="Box">Tight pixel box of the drawn pixels.</param>
/// <param name="Row">Layout row (0-based; −1 for random placement).</param>
/// <param name="Column">Layout column (0-based; −1 for random placement).</param>
/// <param name="Entity">The entity, for knowledge-grounding samples.</param>
/// <param name="Shape">The shape attributes, for attribute-grounding samples.</param>
public sealed record SynthObject(string Label, PixelBox Box, int Row, int Column, SynthEntity? Entity, ShapeAttributes? Shape);

/// <summary>One grounding case: a composited image, the objects in it and the target to find.</summary>
public sealed class SynthSample
{
    internal SynthSample(string id, string domain, SynthLayout layout, int rows, int columns, SynthImage image, SynthColor background, IReadOnlyList<SynthObject> objects, int targetIndex)
    {
        Id = id;
        Domain = domain;
        Layout = layout;
        Rows = rows;
        Columns = columns;
        Image = image;
        Background = background;
        Objects = objects;
        TargetIndex = targetIndex;
    }

    /// <summary>Stable identifier, also the image file stem.</summary>
    public string Id { get; }

    /// <summary>Category name (one of the ten domains, or <c>shapes</c>).</summary>
    public string Domain { get; }

    /// <summary>The layout actually used.</summary>
    public SynthLayout Layout { get; }

    /// <summary>Layout rows (1 for horizontal concat, 0 for random placement).</summary>
    public int Rows { get; }

    /// <summary>Layout columns (1 for vertical concat, 0 for random placement).</summary>
    public int Columns { get; }

    /// <summary>The composited image.</summary>
    public SynthImage Image { get; }

    /// <summary>The uniform background colour (every other pixel belongs to an object).</summary>
    public SynthColor Background { get; }

    /// <summary>All objects in the image (2–6 distinct entities of one domain).</summary>
    public IReadOnlyList<SynthObject> Objects { get; }

    /// <summary>Index of the target in <see cref="Objects"/>.</summary>
    public int TargetIndex { get; }

    /// <summary>The object to find.</summary>
    public SynthObject Target => Objects[TargetIndex];

    /// <summary>The target's pixel box.</summary>
    public PixelBox TargetBox => Target.Box;

    /// <summary>The target's box on the 0–1000 grid.</summary>
    public GridBox TargetGridBox => Target.Box.ToGrid(Image.Width, Image.Height);

    /// <summary><c>Find and give the bounding box of &lt;|object_ref_start|&gt;NAME&lt;|object_ref_end|&gt;</c>.</summary>
    public string Query => SynthText.Query(Target.Label);

    /// <summary>The answer box text <c>(x1,y1),(x2,y2)</c> on the 0–1000 grid.</summary>
    public string Answer => TargetGridBox.ToBoxText();
}
