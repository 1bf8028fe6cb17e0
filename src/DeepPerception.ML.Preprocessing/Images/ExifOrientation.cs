namespace DeepPerception.ML.Preprocessing.Images;

/// <summary>
/// The EXIF Orientation tag (0x0112): how the stored pixel grid must be transformed to show the image upright. Each
/// member names the transform that <see cref="RgbImage.Orient"/> applies, the one <c>PIL.ImageOps.exif_transpose</c>
/// applies for the same value.
/// </summary>
public enum ExifOrientation
{
    /// <summary>1: no tag, an invalid value or unreadable EXIF; the stored grid is the displayed image.</summary>
    Normal = 1,

    /// <summary>2: mirror left to right (PIL <c>FLIP_LEFT_RIGHT</c>).</summary>
    MirrorHorizontal = 2,

    /// <summary>3: rotate by 180° (PIL <c>ROTATE_180</c>).</summary>
    Rotate180 = 3,

    /// <summary>4: flip top to bottom (PIL <c>FLIP_TOP_BOTTOM</c>).</summary>
    MirrorVertical = 4,

    /// <summary>5: transpose, mirroring across the main diagonal (PIL <c>TRANSPOSE</c>); width and height swap.</summary>
    Transpose = 5,

    /// <summary>6: rotate by 90° clockwise (PIL <c>ROTATE_270</c>, counter-clockwise 270°); width and height swap.</summary>
    Rotate90Clockwise = 6,

    /// <summary>7: transverse, mirroring across the anti-diagonal (PIL <c>TRANSVERSE</c>); width and height swap.</summary>
    Transverse = 7,

    /// <summary>8: rotate by 90° counter-clockwise (PIL <c>ROTATE_90</c>); width and height swap.</summary>
    Rotate90CounterClockwise = 8,
}

/// <summary>Helpers for <see cref="ExifOrientation"/>.</summary>
public static class ExifOrientationExtensions
{
    /// <summary>Whether applying <paramref name="orientation"/> swaps width and height (values 5 to 8).</summary>
    public static bool SwapsAxes(this ExifOrientation orientation) => orientation is
        ExifOrientation.Transpose or ExifOrientation.Rotate90Clockwise or ExifOrientation.Transverse or
        ExifOrientation.Rotate90CounterClockwise;

    /// <summary>The displayed size of a stored <paramref name="width"/> × <paramref name="height"/> grid.</summary>
    public static (int Width, int Height) DisplayedSize(this ExifOrientation orientation, int width, int height) =>
        orientation.SwapsAxes() ? (height, width) : (width, height);
}
