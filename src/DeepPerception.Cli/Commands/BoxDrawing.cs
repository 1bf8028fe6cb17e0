using DeepPerception.Kvg;
using DeepPerception.ML.Preprocessing.Images;

namespace DeepPerception.Cli.Commands;

/// <summary>Draws box outlines directly on <see cref="RgbImage"/> pixels.</summary>
public static class BoxDrawing
{
    /// <summary>A line width that stays visible on large images: 1/200 of the shorter side, at least 2 pixels.</summary>
    public static int DefaultThickness(RgbImage image) => Math.Max(2, Math.Min(image.Width, image.Height) / 200);

    /// <summary>
    /// Outlines <paramref name="box"/> (pixel coordinates, exclusive right/bottom edges) with lines of
    /// <paramref name="thickness"/> pixels drawn inwards, clipped to the image.
    /// </summary>
    public static void DrawRectangle(RgbImage image, BoundingBox box, int thickness, (byte R, byte G, byte B) color)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(thickness, 1);
        if (!box.IsFinite)
        {
            throw new ArgumentException("The box has a non-finite coordinate.", nameof(box));
        }

        var x1 = Clamp((int)Math.Floor(Math.Min(box.X1, box.X2)), image.Width - 1);
        var y1 = Clamp((int)Math.Floor(Math.Min(box.Y1, box.Y2)), image.Height - 1);
        var x2 = Clamp((int)Math.Ceiling(Math.Max(box.X1, box.X2)) - 1, image.Width - 1);
        var y2 = Clamp((int)Math.Ceiling(Math.Max(box.Y1, box.Y2)) - 1, image.Height - 1);
        x2 = Math.Max(x1, x2);
        y2 = Math.Max(y1, y2);
        for (var t = 0; t < thickness; t++)
        {
            for (var x = x1; x <= x2; x++)
            {
                Set(image, x, Math.Min(y1 + t, y2), color);
                Set(image, x, Math.Max(y2 - t, y1), color);
            }

            for (var y = y1; y <= y2; y++)
            {
                Set(image, Math.Min(x1 + t, x2), y, color);
                Set(image, Math.Max(x2 - t, x1), y, color);
            }
        }
    }

    private static int Clamp(int v, int max) => Math.Clamp(v, 0, max);

    private static void Set(RgbImage image, int x, int y, (byte R, byte G, byte B) color)
    {
        var i = (y * image.Width + x) * 3;
        image.Pixels[i] = color.R;
        image.Pixels[i + 1] = color.G;
        image.Pixels[i + 2] = color.B;
    }
}
