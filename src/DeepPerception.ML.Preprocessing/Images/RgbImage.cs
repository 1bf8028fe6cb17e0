using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace DeepPerception.ML.Preprocessing.Images;

/// <summary>
/// An 8-bit RGB image stored row-major as interleaved bytes (height × width × 3, "HWC"). This is the image type the
/// engine passes around after decoding; it holds no reference to any imaging library.
/// </summary>
public sealed class RgbImage
{
    /// <summary>Creates an image over <paramref name="pixels"/> (HWC RGB, length width × height × 3), without copying.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is not positive.</exception>
    /// <exception cref="ArgumentException">The buffer length does not equal width × height × 3.</exception>
    public RgbImage(int width, int height, byte[] pixels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentNullException.ThrowIfNull(pixels);
        long expected = (long)width * height * 3;
        if (pixels.LongLength != expected)
        {
            throw new ArgumentException(
                $"Pixel buffer holds {pixels.LongLength} bytes but a {width}x{height} RGB image needs {expected}.",
                nameof(pixels));
        }

        Width = width;
        Height = height;
        Pixels = pixels;
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Interleaved RGB bytes, row-major: the byte of channel c at (x, y) is at (y × Width + x) × 3 + c.</summary>
    public byte[] Pixels { get; }

    /// <summary>Number of bytes in one row (Width × 3).</summary>
    public int Stride => Width * 3;

    /// <summary>Returns the byte of channel <paramref name="channel"/> (0 = R, 1 = G, 2 = B) at (x, y).</summary>
    public byte this[int x, int y, int channel]
    {
        get
        {
            if ((uint)x >= (uint)Width || (uint)y >= (uint)Height || (uint)channel >= 3)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(x), $"({x}, {y}, channel {channel}) is outside the {Width}x{Height} RGB image.");
            }

            return Pixels[((y * Width) + x) * 3 + channel];
        }
    }

    /// <summary>Creates an image filled with one colour.</summary>
    public static RgbImage Filled(int width, int height, byte r, byte g, byte b)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        var pixels = new byte[checked(width * height * 3)];
        for (int i = 0; i < pixels.Length; i += 3)
        {
            pixels[i] = r;
            pixels[i + 1] = g;
            pixels[i + 2] = b;
        }

        return new RgbImage(width, height, pixels);
    }

    /// <summary>Copies the pixels of an ImageSharp <see cref="Rgb24"/> image.</summary>
    public static RgbImage FromRgb24(Image<Rgb24> image)
    {
        ArgumentNullException.ThrowIfNull(image);
        int width = image.Width;
        int height = image.Height;
        var pixels = new byte[checked(width * height * 3)];
        image.ProcessPixelRows(accessor =>
        {
            for (int y = 0; y < accessor.Height; y++)
            {
                Span<Rgb24> row = accessor.GetRowSpan(y);
                System.Runtime.InteropServices.MemoryMarshal.AsBytes(row).CopyTo(pixels.AsSpan(y * width * 3, width * 3));
            }
        });
        return new RgbImage(width, height, pixels);
    }

    /// <summary>Creates an ImageSharp image holding a copy of these pixels (the caller disposes it).</summary>
    public Image<Rgb24> ToRgb24()
    {
        return Image.LoadPixelData<Rgb24>(Pixels, Width, Height);
    }

    /// <summary>Encodes the image as PNG (lossless) into <paramref name="destination"/>.</summary>
    public void SavePng(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        using Image<Rgb24> image = ToRgb24();
        image.Save(destination, new PngEncoder { ColorType = PngColorType.Rgb, BitDepth = PngBitDepth.Bit8 });
    }

    /// <summary>Encodes the image as PNG (lossless) and returns the file bytes.</summary>
    public byte[] EncodePng()
    {
        using var stream = new MemoryStream();
        SavePng(stream);
        return stream.ToArray();
    }

    /// <summary>Returns a deep copy.</summary>
    public RgbImage Clone() => new(Width, Height, (byte[])Pixels.Clone());

    /// <summary>
    /// Returns the image as displayed under EXIF <paramref name="orientation"/>, exactly like
    /// <c>PIL.ImageOps.exif_transpose</c>: a pure permutation of the pixels (mirror, flip, 180° or 90° rotation,
    /// transpose, transverse); width and height swap for 5 to 8. <see cref="ExifOrientation.Normal"/> returns this
    /// instance; every other value returns a new image and leaves this one unchanged.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="orientation"/> is not a value from 1 to 8.</exception>
    public RgbImage Orient(ExifOrientation orientation)
    {
        if (orientation is < ExifOrientation.Normal or > ExifOrientation.Rotate90CounterClockwise)
        {
            throw new ArgumentOutOfRangeException(
                nameof(orientation), orientation, "An EXIF orientation is a value from 1 to 8.");
        }

        if (orientation == ExifOrientation.Normal)
        {
            return this;
        }

        int w = Width;
        int h = Height;
        (int outWidth, int outHeight) = orientation.DisplayedSize(w, h);
        var output = new byte[Pixels.Length];
        byte[] input = Pixels;
        for (int y = 0; y < outHeight; y++)
        {
            for (int x = 0; x < outWidth; x++)
            {
                // The stored pixel (sx, sy) shown at displayed (x, y).
                (int sx, int sy) = orientation switch
                {
                    ExifOrientation.MirrorHorizontal => (w - 1 - x, y),
                    ExifOrientation.Rotate180 => (w - 1 - x, h - 1 - y),
                    ExifOrientation.MirrorVertical => (x, h - 1 - y),
                    ExifOrientation.Transpose => (y, x),
                    ExifOrientation.Rotate90Clockwise => (y, h - 1 - x),
                    ExifOrientation.Transverse => (w - 1 - y, h - 1 - x),
                    _ => (w - 1 - y, x), // Rotate90CounterClockwise
                };
                int source = ((sy * w) + sx) * 3;
                int target = ((y * outWidth) + x) * 3;
                output[target] = input[source];
                output[target + 1] = input[source + 1];
                output[target + 2] = input[source + 2];
            }
        }

        return new RgbImage(outWidth, outHeight, output);
    }
}
