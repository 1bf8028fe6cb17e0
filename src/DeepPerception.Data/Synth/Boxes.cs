using DeepPerception.Kvg;

namespace DeepPerception.Data.Synth;

/// <summary>
/// An axis-aligned box in pixel edge coordinates: (X1, Y1) is the top-left corner and (X2, Y2) the bottom-right corner,
/// so the box covers pixel columns X1 … X2 − 1 and rows Y1 … Y2 − 1.
/// </summary>
public readonly record struct PixelBox(int X1, int Y1, int X2, int Y2)
{
    /// <summary>Box width in pixels.</summary>
    public int Width => X2 - X1;

    /// <summary>Box height in pixels.</summary>
    public int Height => Y2 - Y1;

    /// <summary>Whether the pixel (x, y) lies inside the box.</summary>
    public bool Contains(int x, int y) => x >= X1 && x < X2 && y >= Y1 && y < Y2;

    /// <summary>Whether two boxes share at least one pixel.</summary>
    public bool Overlaps(PixelBox other) => X1 < other.X2 && other.X1 < X2 && Y1 < other.Y2 && other.Y1 < Y2;

    /// <summary>Converts to Qwen2-VL's 0–1000 grid for an image of the given size.</summary>
    public GridBox ToGrid(int imageWidth, int imageHeight) => new(
        GridBox.ToGridValue(X1, imageWidth),
        GridBox.ToGridValue(Y1, imageHeight),
        GridBox.ToGridValue(X2, imageWidth),
        GridBox.ToGridValue(Y2, imageHeight));
}

/// <summary>A box on Qwen2-VL's 0–1000 integer grid (x1,y1 top-left, x2,y2 bottom-right).</summary>
public readonly record struct GridBox(int X1, int Y1, int X2, int Y2)
{
    /// <summary>The grid value of a pixel edge, by the one Qwen2-VL convention (<see cref="Qwen2VlBoxConvention.GridValue"/>).</summary>
    public static int ToGridValue(int pixel, int size) => Qwen2VlBoxConvention.GridValue(pixel, size);

    /// <summary>The Qwen2-VL box text <c>(x1,y1),(x2,y2)</c> without spaces.</summary>
    public string ToBoxText() => KvgPrompts.BoxText(X1, Y1, X2, Y2);

    /// <summary>The box as a Core <see cref="BoundingBox"/> (same grid units).</summary>
    public BoundingBox ToBoundingBox() => new(X1, Y1, X2, Y2);

    /// <summary>Intersection over union with torchvision semantics (<see cref="BoxMath.Iou"/>); NaN (0/0) gives 0.</summary>
    public double IoU(GridBox other)
    {
        var iou = BoxMath.Iou(ToBoundingBox(), other.ToBoundingBox());
        return double.IsNaN(iou) ? 0.0 : iou;
    }

    /// <inheritdoc />
    public override string ToString() => ToBoxText();
}
