namespace DeepPerception.Data.Synth;

/// <summary>A primitive in unit coordinates (0–1 on both axes of an entity's square sprite).</summary>
internal abstract record Shape
{
    /// <summary>Calls <paramref name="visit"/> for every pixel of a size × size sprite whose centre lies in the shape.</summary>
    public abstract void Rasterize(int size, Action<int, int> visit);
}

/// <summary>An axis-aligned ellipse.</summary>
internal sealed record Ellipse(double Cx, double Cy, double Rx, double Ry) : Shape
{
    public override void Rasterize(int size, Action<int, int> visit)
    {
        var y0 = Math.Max(0, (int)Math.Floor((Cy - Ry) * size));
        var y1 = Math.Min(size - 1, (int)Math.Ceiling((Cy + Ry) * size));
        var x0 = Math.Max(0, (int)Math.Floor((Cx - Rx) * size));
        var x1 = Math.Min(size - 1, (int)Math.Ceiling((Cx + Rx) * size));
        for (var y = y0; y <= y1; y++)
        {
            var dy = (((y + 0.5) / size) - Cy) / Ry;
            for (var x = x0; x <= x1; x++)
            {
                var dx = (((x + 0.5) / size) - Cx) / Rx;
                if ((dx * dx) + (dy * dy) <= 1.0)
                {
                    visit(x, y);
                }
            }
        }
    }
}

/// <summary>An axis-aligned rectangle.</summary>
internal sealed record Rect(double X1, double Y1, double X2, double Y2) : Shape
{
    public override void Rasterize(int size, Action<int, int> visit)
    {
        for (var y = 0; y < size; y++)
        {
            var py = (y + 0.5) / size;
            if (py < Y1 || py >= Y2)
            {
                continue;
            }

            for (var x = 0; x < size; x++)
            {
                var px = (x + 0.5) / size;
                if (px >= X1 && px < X2)
                {
                    visit(x, y);
                }
            }
        }
    }
}

/// <summary>A polygon (x0, y0, x1, y1, …) filled with the even-odd rule by scanlines through pixel centres.</summary>
internal sealed record Polygon(double[] Points) : Shape
{
    public override void Rasterize(int size, Action<int, int> visit)
    {
        var n = Points.Length / 2;
        var crossings = new List<double>(n);
        for (var y = 0; y < size; y++)
        {
            var py = (y + 0.5) / size;
            crossings.Clear();
            for (var i = 0; i < n; i++)
            {
                var j = (i + 1) % n;
                double xi = Points[2 * i], yi = Points[(2 * i) + 1], xj = Points[2 * j], yj = Points[(2 * j) + 1];
                if ((yi <= py && py < yj) || (yj <= py && py < yi))
                {
                    crossings.Add(xi + ((py - yi) * (xj - xi) / (yj - yi)));
                }
            }

            crossings.Sort();
            for (var k = 0; k + 1 < crossings.Count; k += 2)
            {
                var start = Math.Max(0, (int)Math.Ceiling((crossings[k] * size) - 0.5));
                for (var x = start; x < size; x++)
                {
                    var px = (x + 0.5) / size;
                    if (px >= crossings[k + 1])
                    {
                        break;
                    }

                    visit(x, y);
                }
            }
        }
    }
}

/// <summary>How a template part is coloured.</summary>
internal enum PartRole
{
    Body,
    Accent,
    Fixed,
}

/// <summary>One drawn part of a domain's shape family.</summary>
internal sealed record Part(PartRole Role, Shape Shape, SynthColor? FixedColor);

/// <summary>A domain's drawing: parts in painting order, where stripes and spots go, and the three marker positions.</summary>
internal sealed record DomainTemplate(
    Part[] Parts,
    (double X1, double Y1, double X2, double Y2) PatternBox,
    bool HorizontalStripes,
    (double X, double Y)[] MarkerPoints);

/// <summary>An entity drawn on a square transparent sprite.</summary>
internal sealed class Sprite
{
    public Sprite(int size)
    {
        Size = size;
        Rgb = new byte[size * size * 3];
        Owner = new byte[size * size];
    }

    /// <summary>Side length in pixels.</summary>
    public int Size { get; }

    /// <summary>HWC RGB colours (valid where <see cref="Owner"/> is non-zero).</summary>
    public byte[] Rgb { get; }

    /// <summary>0 = transparent, 1 = body, 2 = accent, 3 = fixed part, 4 = marker.</summary>
    public byte[] Owner { get; }

    /// <summary>Tight bounds of the drawn pixels, in sprite pixel edge coordinates.</summary>
    public PixelBox Bounds()
    {
        int x1 = Size, y1 = Size, x2 = -1, y2 = -1;
        for (var y = 0; y < Size; y++)
        {
            for (var x = 0; x < Size; x++)
            {
                if (Owner[(y * Size) + x] == 0)
                {
                    continue;
                }

                x1 = Math.Min(x1, x);
                y1 = Math.Min(y1, y);
                x2 = Math.Max(x2, x);
                y2 = Math.Max(y2, y);
            }
        }

        return x2 < 0 ? new PixelBox(0, 0, 0, 0) : new PixelBox(x1, y1, x2 + 1, y2 + 1);
    }

    public void Paint(int x, int y, SynthColor c, byte owner)
    {
        var i = (y * Size) + x;
        Owner[i] = owner;
        Rgb[3 * i] = c.R;
        Rgb[(3 * i) + 1] = c.G;
        Rgb[(3 * i) + 2] = c.B;
    }

    /// <summary>Copies the drawn pixels onto an image with the sprite's top-left corner at (left, top).</summary>
    public void PasteInto(SynthImage image, int left, int top)
    {
        for (var y = 0; y < Size; y++)
        {
            for (var x = 0; x < Size; x++)
            {
                var i = (y * Size) + x;
                if (Owner[i] != 0)
                {
                    image.SetPixel(left + x, top + y, Rgb[3 * i], Rgb[(3 * i) + 1], Rgb[(3 * i) + 2]);
                }
            }
        }
    }
}

/// <summary>Draws entities of any domain from their attribute vectors.</summary>
internal static class EntityRenderer
{
    private const byte BodyOwner = 1;
    private const byte AccentOwner = 2;
    private const byte FixedOwner = 3;
    private const byte MarkerOwner = 4;

    public static Sprite Render(SynthDomain domain, SynthAttributes attributes, int size)
    {
        if (size < 16)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "Entity sprites must be at least 16 pixels wide.");
        }

        var template = domain.Template;
        var sprite = new Sprite(size);
        foreach (var part in template.Parts)
        {
            var (colour, owner) = part.Role switch
            {
                PartRole.Body => (attributes.BodyColor, BodyOwner),
                PartRole.Accent => (attributes.AccentColor, AccentOwner),
                _ => (part.FixedColor ?? SynthColor.Stripe, FixedOwner),
            };
            part.Shape.Rasterize(size, (x, y) => sprite.Paint(x, y, colour, owner));
        }

        var (bx1, by1, bx2, by2) = template.PatternBox;
        PaintStripes(sprite, attributes.Stripes, template.HorizontalStripes, bx1, by1, bx2, by2);
        if (attributes.Spotted)
        {
            PaintSpots(sprite, template.HorizontalStripes, bx1, by1, bx2, by2);
        }

        var (mx, my) = template.MarkerPoints[(int)attributes.Marker];
        var inner = 0.065;
        var ring = Math.Max(1.2 / size, 0.025);
        new Ellipse(mx, my, inner + ring, inner + ring).Rasterize(size, (x, y) => sprite.Paint(x, y, SynthColor.Stripe, MarkerOwner));
        new Ellipse(mx, my, inner, inner).Rasterize(size, (x, y) => sprite.Paint(x, y, attributes.AccentColor, MarkerOwner));
        return sprite;
    }

    /// <summary>Draws one plain shape with stripes and spots (the attribute-grounding set).</summary>
    public static Sprite RenderSingle(Shape shape, SynthColor color, int stripes, bool spotted, int size)
    {
        var sprite = new Sprite(size);
        shape.Rasterize(size, (x, y) => sprite.Paint(x, y, color, BodyOwner));
        var b = sprite.Bounds();
        double x1 = (double)b.X1 / size, y1 = (double)b.Y1 / size, x2 = (double)b.X2 / size, y2 = (double)b.Y2 / size;
        PaintStripes(sprite, stripes, false, x1, y1, x2, y2);
        if (spotted)
        {
            PaintSpots(sprite, false, x1, y1 + ((y2 - y1) * 0.15), x2, y2 - ((y2 - y1) * 0.15));
        }

        return sprite;
    }

    private static void PaintStripes(Sprite sprite, int count, bool horizontal, double x1, double y1, double x2, double y2)
    {
        if (count == 0)
        {
            return;
        }

        var size = sprite.Size;
        var (lo, hi) = horizontal ? (y1, y2) : (x1, x2);
        var half = Math.Max(1.6 / size, (hi - lo) * 0.05);
        for (var s = 0; s < count; s++)
        {
            var centre = lo + ((hi - lo) * (s + 1) / (count + 1));
            for (var y = 0; y < size; y++)
            {
                for (var x = 0; x < size; x++)
                {
                    var p = ((horizontal ? y : x) + 0.5) / size;
                    if (Math.Abs(p - centre) <= half && sprite.Owner[(y * size) + x] == BodyOwner)
                    {
                        sprite.Paint(x, y, SynthColor.Stripe, BodyOwner);
                    }
                }
            }
        }
    }

    private static void PaintSpots(Sprite sprite, bool horizontalStripes, double x1, double y1, double x2, double y2)
    {
        var size = sprite.Size;
        var (cols, rows) = horizontalStripes ? (2, 4) : (4, 2);
        var r = Math.Max(1.8 / size, 0.045);
        for (var j = 0; j < rows; j++)
        {
            for (var i = 0; i < cols; i++)
            {
                var cx = x1 + ((x2 - x1) * (i + 0.5) / cols);
                var cy = y1 + ((y2 - y1) * (j + 0.5) / rows);
                new Ellipse(cx, cy, r, r).Rasterize(size, (x, y) =>
                {
                    if (sprite.Owner[(y * size) + x] == BodyOwner)
                    {
                        sprite.Paint(x, y, SynthColor.Spot, BodyOwner);
                    }
                });
            }
        }
    }
}
