using System.Globalization;

namespace DeepPerception.Kvg;

/// <summary>Image sizes a box convention needs: the original image and the size the processor resized it to.</summary>
/// <param name="Width">Original image width in pixels.</param>
/// <param name="Height">Original image height in pixels.</param>
/// <param name="ResizedWidth">Width after the processor's resize (Qwen2-VL <c>smart_resize</c>); 0 when unknown.</param>
/// <param name="ResizedHeight">Height after the processor's resize; 0 when unknown.</param>
public readonly record struct ImageGeometry(int Width, int Height, int ResizedWidth = 0, int ResizedHeight = 0);

/// <summary>A box in a model's own coordinate space (integers, as written in its answers).</summary>
/// <param name="X1">Left.</param>
/// <param name="Y1">Top.</param>
/// <param name="X2">Right.</param>
/// <param name="Y2">Bottom.</param>
public readonly record struct ModelBox(int X1, int Y1, int X2, int Y2)
{
    /// <summary>The answer text <c>(x1,y1),(x2,y2)</c>.</summary>
    public string ToAnswerText() => KvgPrompts.BoxText(X1, Y1, X2, Y2);

    /// <summary>The box as doubles.</summary>
    public BoundingBox ToBoundingBox() => new(X1, Y1, X2, Y2);
}

/// <summary>
/// How a base-model family writes boxes, converting to and from pixel boxes of the <em>original</em> image.
/// Conversions reject non-finite input, normalise inverted boxes and clamp to the image / coordinate range.
/// </summary>
public interface IBoxConvention
{
    /// <summary>The family name, e.g. <c>qwen2-vl</c>.</summary>
    string Family { get; }

    /// <summary>Pixel box of the original image → the model's integer coordinates.</summary>
    /// <exception cref="BoxConventionException">A coordinate is NaN or infinite, or the geometry is unusable.</exception>
    ModelBox FromPixels(BoundingBox pixelBox, ImageGeometry geometry);

    /// <summary>A box in the model's coordinates (possibly fractional, e.g. parsed output) → pixel box of the original image.</summary>
    /// <exception cref="BoxConventionException">A coordinate is NaN or infinite, or the geometry is unusable.</exception>
    BoundingBox ToPixels(BoundingBox modelBox, ImageGeometry geometry);

    /// <summary>The largest pixel error of a pixel → model → pixel round trip, per axis (x, y).</summary>
    (double X, double Y) QuantisationBound(ImageGeometry geometry);

    /// <summary>The answer text <c>(x1,y1),(x2,y2)</c> for a pixel box of the original image.</summary>
    string FormatAnswer(BoundingBox pixelBox, ImageGeometry geometry) => FromPixels(pixelBox, geometry).ToAnswerText();
}

/// <summary>
/// Qwen2-VL: integers on a 0–1000 grid relative to the image (independent of any resize).
/// To the grid: <c>floor(x / W · 1000)</c>, i.e. Python <c>int()</c> of the scaled value, clamped to [0, 1000];
/// from the grid: <c>v / 1000 · W</c>, clamped to [0, W].
/// </summary>
/// <remarks>
/// Qwen-VL describes its boxes as "normalized to [0, 1000)"; the grounding data converters used with Qwen2-VL
/// (e.g. <c>int(x * 1000 / W)</c>) truncate, so truncation is used here. A right/bottom edge at exactly W maps
/// to 1000, which the KVG data also contains. The round trip loses less than W/1000 pixels per coordinate.
/// </remarks>
public sealed class Qwen2VlBoxConvention : IBoxConvention
{
    /// <summary>The grid size.</summary>
    public const int GridSize = 1000;

    /// <inheritdoc />
    public string Family => "qwen2-vl";

    /// <inheritdoc />
    public ModelBox FromPixels(BoundingBox pixelBox, ImageGeometry geometry)
    {
        BoxConventionChecks.RequireOriginal(geometry, Family);
        var b = BoxConventionChecks.Prepare(pixelBox, geometry.Width, geometry.Height, "pixel");
        return new ModelBox(
            ToGrid(b.X1, geometry.Width),
            ToGrid(b.Y1, geometry.Height),
            ToGrid(b.X2, geometry.Width),
            ToGrid(b.Y2, geometry.Height));
    }

    /// <inheritdoc />
    public BoundingBox ToPixels(BoundingBox modelBox, ImageGeometry geometry)
    {
        BoxConventionChecks.RequireOriginal(geometry, Family);
        var b = BoxConventionChecks.Prepare(modelBox, GridSize, GridSize, "grid");
        return new BoundingBox(
            b.X1 / GridSize * geometry.Width,
            b.Y1 / GridSize * geometry.Height,
            b.X2 / GridSize * geometry.Width,
            b.Y2 / GridSize * geometry.Height);
    }

    /// <inheritdoc />
    public (double X, double Y) QuantisationBound(ImageGeometry geometry) =>
        ((double)geometry.Width / GridSize, (double)geometry.Height / GridSize);

    private static int ToGrid(double v, int size) => GridValue(v, size);

    /// <summary>
    /// One coordinate on the grid: floor(v · 1000 / size) clamped to [0, 1000] (Qwen2-VL's [0, 1000) normalisation). The
    /// product is formed first so integer pixels give the exact floor.
    /// </summary>
    public static int GridValue(double v, int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        return Math.Clamp((int)Math.Floor(v * GridSize / size), 0, GridSize);
    }
}

/// <summary>
/// Qwen2.5-VL: absolute pixel coordinates of the image <em>as resized by the processor</em>. From pixels:
/// <c>round(x · W' / W)</c> (half to even, like Python <c>round</c>), clamped to [0, W']; to pixels:
/// <c>v · W / W'</c>, clamped to [0, W]. W', H' come from <c>smart_resize</c>.
/// </summary>
public sealed class Qwen25VlBoxConvention : IBoxConvention
{
    /// <inheritdoc />
    public string Family => "qwen2.5-vl";

    /// <inheritdoc />
    public ModelBox FromPixels(BoundingBox pixelBox, ImageGeometry geometry)
    {
        BoxConventionChecks.RequireResized(geometry, Family);
        var b = BoxConventionChecks.Prepare(pixelBox, geometry.Width, geometry.Height, "pixel");
        return new ModelBox(
            Scale(b.X1, geometry.Width, geometry.ResizedWidth),
            Scale(b.Y1, geometry.Height, geometry.ResizedHeight),
            Scale(b.X2, geometry.Width, geometry.ResizedWidth),
            Scale(b.Y2, geometry.Height, geometry.ResizedHeight));
    }

    /// <inheritdoc />
    public BoundingBox ToPixels(BoundingBox modelBox, ImageGeometry geometry)
    {
        BoxConventionChecks.RequireResized(geometry, Family);
        var b = BoxConventionChecks.Prepare(modelBox, geometry.ResizedWidth, geometry.ResizedHeight, "resized-pixel");
        return new BoundingBox(
            b.X1 * geometry.Width / geometry.ResizedWidth,
            b.Y1 * geometry.Height / geometry.ResizedHeight,
            b.X2 * geometry.Width / geometry.ResizedWidth,
            b.Y2 * geometry.Height / geometry.ResizedHeight);
    }

    /// <inheritdoc />
    public (double X, double Y) QuantisationBound(ImageGeometry geometry) =>
        (0.5 * geometry.Width / geometry.ResizedWidth, 0.5 * geometry.Height / geometry.ResizedHeight);

    private static int Scale(double v, int size, int resized) =>
        Math.Clamp((int)Math.Round(v * resized / size, MidpointRounding.ToEven), 0, resized);
}

/// <summary>The box conventions by base-model family.</summary>
public static class BoxConventions
{
    private static readonly Dictionary<string, IBoxConvention> Registry = new(StringComparer.OrdinalIgnoreCase)
    {
        ["qwen2-vl"] = new Qwen2VlBoxConvention(),
        ["qwen2.5-vl"] = new Qwen25VlBoxConvention(),
    };

    /// <summary>The registered family names.</summary>
    public static IReadOnlyCollection<string> Families => Registry.Keys;

    /// <summary>The convention of a base-model family (<c>qwen2-vl</c> or <c>qwen2.5-vl</c>, case-insensitive).</summary>
    /// <exception cref="BoxConventionException">Unknown family.</exception>
    public static IBoxConvention For(string baseModelFamily)
    {
        ArgumentNullException.ThrowIfNull(baseModelFamily);
        return Registry.TryGetValue(baseModelFamily, out var convention)
            ? convention
            : throw new BoxConventionException(
                $"No box convention for base-model family '{baseModelFamily}' (known: {string.Join(", ", Registry.Keys)}).");
    }
}

/// <summary>A box or geometry a box convention cannot convert.</summary>
public sealed class BoxConventionException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    public BoxConventionException(string message)
        : base(message)
    {
    }
}

internal static class BoxConventionChecks
{
    public static void RequireOriginal(ImageGeometry g, string family)
    {
        if (g.Width <= 0 || g.Height <= 0)
        {
            throw new BoxConventionException(
                string.Create(CultureInfo.InvariantCulture, $"{family}: image size must be positive, got {g.Width}x{g.Height}."));
        }
    }

    public static void RequireResized(ImageGeometry g, string family)
    {
        RequireOriginal(g, family);
        if (g.ResizedWidth <= 0 || g.ResizedHeight <= 0)
        {
            throw new BoxConventionException(
                string.Create(CultureInfo.InvariantCulture, $"{family}: the resized image size is required (smart_resize output), got {g.ResizedWidth}x{g.ResizedHeight}."));
        }
    }

    /// <summary>Rejects non-finite coordinates, swaps inverted corners, clamps to [0, maxX] × [0, maxY].</summary>
    public static BoundingBox Prepare(BoundingBox box, double maxX, double maxY, string space)
    {
        if (!box.IsFinite)
        {
            throw new BoxConventionException(
                string.Create(CultureInfo.InvariantCulture, $"The {space} box ({box.X1}, {box.Y1}, {box.X2}, {box.Y2}) has a NaN or infinite coordinate."));
        }

        var n = box.Normalized();
        return new BoundingBox(
            Math.Clamp(n.X1, 0, maxX),
            Math.Clamp(n.Y1, 0, maxY),
            Math.Clamp(n.X2, 0, maxX),
            Math.Clamp(n.Y2, 0, maxY));
    }
}
