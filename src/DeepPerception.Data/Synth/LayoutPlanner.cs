namespace DeepPerception.Data.Synth;

/// <summary>Options of the image composer.</summary>
public sealed record SynthOptions
{
    /// <summary>Smallest canvas side in pixels.</summary>
    public int MinCanvas { get; init; } = 224;

    /// <summary>Largest canvas side in pixels.</summary>
    public int MaxCanvas { get; init; } = 448;

    /// <summary>Canvas sides are multiples of this step above <see cref="MinCanvas"/> (28 = Qwen2-VL's merged patch).</summary>
    public int CanvasStep { get; init; } = 28;

    /// <summary>Fewest entities per image.</summary>
    public int MinEntities { get; init; } = 2;

    /// <summary>Most entities per image.</summary>
    public int MaxEntities { get; init; } = 6;

    /// <summary>Smallest entity sprite side in pixels.</summary>
    public int MinEntitySize { get; init; } = 56;

    /// <summary>Layouts to draw from.</summary>
    public IReadOnlyList<SynthLayout> Layouts { get; init; } = Enum.GetValues<SynthLayout>();

    /// <summary>Probability that the distractors are taken from the target's own family first (hard cases).</summary>
    public double SiblingBias { get; init; } = 0.75;

    /// <summary>
    /// A diagnostic, off by default (0): the background (never the entities) gets a colour ramp of this many levels
    /// either side of its colour — red rises from left to right, green from top to bottom — so that the image itself
    /// tells where each region is (<see cref="SynthImage.AddPositionRamp"/>). It tests whether a miniature model fails to
    /// localise because nothing it reads from the image carries an absolute position. At most 64.
    /// </summary>
    public int PositionCue { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> when the options cannot produce images.</summary>
    public void Validate()
    {
        if (MinCanvas < 32 || MaxCanvas < MinCanvas || CanvasStep <= 0)
        {
            throw new ArgumentException($"Invalid canvas range {MinCanvas}..{MaxCanvas} step {CanvasStep}.");
        }

        if (MinEntities < 2 || MaxEntities < MinEntities || MaxEntities > SynthWorld.FamilySize * 5)
        {
            throw new ArgumentException($"Invalid entity count range {MinEntities}..{MaxEntities} (2 or more).");
        }

        if (MinEntitySize < 16 || MinEntitySize + 4 > MinCanvas)
        {
            throw new ArgumentException($"MinEntitySize {MinEntitySize} must be at least 16 and fit the smallest canvas {MinCanvas}.");
        }

        if (Layouts.Count == 0)
        {
            throw new ArgumentException("At least one layout is required.");
        }

        if (SiblingBias is < 0 or > 1 || double.IsNaN(SiblingBias))
        {
            throw new ArgumentException($"SiblingBias {SiblingBias} must lie in [0, 1].");
        }

        if (PositionCue is < 0 or > 64)
        {
            throw new ArgumentException($"PositionCue {PositionCue} must lie in 0..64 colour levels.");
        }
    }
}

/// <summary>Canvas sizes and the smallest object side a layout plan must respect.</summary>
/// <param name="MinCanvas">Smallest canvas side in pixels.</param>
/// <param name="MaxCanvas">Largest canvas side in pixels.</param>
/// <param name="CanvasStep">Canvas sides are <paramref name="MinCanvas"/> plus multiples of this step.</param>
/// <param name="MinEntitySize">Smallest slot side in pixels.</param>
internal readonly record struct CanvasSettings(int MinCanvas, int MaxCanvas, int CanvasStep, int MinEntitySize);

/// <summary>Where one sprite goes: its square's top-left corner and side, and its layout cell.</summary>
internal readonly record struct Slot(int Left, int Top, int Side, int Row, int Column);

/// <summary>A planned composition: canvas size, actual layout and one slot per object.</summary>
internal sealed record LayoutPlan(int Width, int Height, SynthLayout Layout, int Rows, int Columns, Slot[] Slots);

/// <summary>
/// Plans canvas size and non-overlapping square slots for the four layouts; the one layout implementation of KVG-Synth
/// and of the composites of labelled images (<see cref="Synthesis.CompositeBuilder"/>).
/// </summary>
internal static class LayoutPlanner
{
    private const int Margin = 4;

    public static LayoutPlan Plan(SynthRandom rng, SynthOptions options, int count, SynthLayout layout) =>
        Plan(rng, new CanvasSettings(options.MinCanvas, options.MaxCanvas, options.CanvasStep, options.MinEntitySize), count, layout);

    public static LayoutPlan Plan(SynthRandom rng, CanvasSettings options, int count, SynthLayout layout)
    {
        var sizes = new List<int>();
        for (var s = options.MinCanvas; s <= options.MaxCanvas; s += options.CanvasStep)
        {
            sizes.Add(s);
        }

        var need = options.MinEntitySize + Margin;
        switch (layout)
        {
            case SynthLayout.HorizontalConcat:
                {
                    var widths = sizes.Where(w => w / count >= need).ToArray();
                    if (widths.Length > 0)
                    {
                        var w = rng.Pick(widths);
                        var h = rng.Pick(sizes);
                        return Cells(rng, options, w, h, 1, count, count, layout);
                    }

                    break;
                }

            case SynthLayout.VerticalConcat:
                {
                    var heights = sizes.Where(h => h / count >= need).ToArray();
                    if (heights.Length > 0)
                    {
                        var w = rng.Pick(sizes);
                        var h = rng.Pick(heights);
                        return Cells(rng, options, w, h, count, 1, count, layout);
                    }

                    break;
                }

            case SynthLayout.RandomPlacement:
                {
                    var w = rng.Pick(sizes);
                    var h = rng.Pick(sizes);
                    var placed = TryRandom(rng, options, w, h, count);
                    if (placed is not null)
                    {
                        return new LayoutPlan(w, h, layout, 0, 0, placed);
                    }

                    break;
                }
        }

        var cols = (int)Math.Ceiling(Math.Sqrt(count));
        var rows = (count + cols - 1) / cols;
        if (rng.Next(2) == 1 && rows != cols)
        {
            (rows, cols) = (cols, rows);
        }

        var gw = sizes.Where(w => w / cols >= need).ToArray();
        var gh = sizes.Where(h => h / rows >= need).ToArray();
        if (gw.Length == 0 || gh.Length == 0)
        {
            throw new ArgumentException($"A {options.MaxCanvas}-pixel canvas cannot hold {count} entities of {options.MinEntitySize} pixels.");
        }

        return Cells(rng, options, rng.Pick(gw), rng.Pick(gh), rows, cols, count, SynthLayout.Grid);
    }

    private static LayoutPlan Cells(SynthRandom rng, CanvasSettings options, int width, int height, int rows, int cols, int count, SynthLayout layout)
    {
        var slots = new Slot[count];
        for (var i = 0; i < count; i++)
        {
            int r = i / cols, c = i % cols;
            int left = c * width / cols, right = (c + 1) * width / cols;
            int top = r * height / rows, bottom = (r + 1) * height / rows;
            var cell = Math.Min(right - left, bottom - top);
            var side = (int)Math.Floor(cell * rng.NextDouble(0.78, 0.96));
            side = Math.Clamp(side, options.MinEntitySize, cell - 2);
            var x = left + rng.Next(right - left - side + 1);
            var y = top + rng.Next(bottom - top - side + 1);
            slots[i] = new Slot(x, y, side, r, c);
        }

        return new LayoutPlan(width, height, layout, rows, cols, slots);
    }

    private static Slot[]? TryRandom(SynthRandom rng, CanvasSettings options, int width, int height, int count)
    {
        var min = options.MinEntitySize;
        var max = Math.Max(min, (int)(Math.Min(width, height) * 0.5));
        var slots = new List<Slot>(count);
        for (var i = 0; i < count; i++)
        {
            Slot? found = null;
            for (var attempt = 0; attempt < 400 && found is null; attempt++)
            {
                var side = attempt < 200 ? rng.Next(min, max + 1) : min;
                if (side > width || side > height)
                {
                    continue;
                }

                var candidate = new Slot(rng.Next(width - side + 1), rng.Next(height - side + 1), side, -1, -1);
                if (slots.All(s => !Near(s, candidate)))
                {
                    found = candidate;
                }
            }

            if (found is null)
            {
                return null;
            }

            slots.Add(found.Value);
        }

        return slots.ToArray();
    }

    private static bool Near(Slot a, Slot b) =>
        a.Left < b.Left + b.Side + 2 && b.Left < a.Left + a.Side + 2 && a.Top < b.Top + b.Side + 2 && b.Top < a.Top + a.Side + 2;
}
