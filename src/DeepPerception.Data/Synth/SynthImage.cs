using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace DeepPerception.Data.Synth;

/// <summary>An RGB image as a packed height × width × 3 byte buffer (row-major, no padding).</summary>
public sealed class SynthImage
{
    /// <summary>Creates an image filled with one colour.</summary>
    public SynthImage(int width, int height, SynthColor fill)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        Width = width;
        Height = height;
        Pixels = new byte[checked(width * height * 3)];
        for (var i = 0; i < Pixels.Length; i += 3)
        {
            Pixels[i] = fill.R;
            Pixels[i + 1] = fill.G;
            Pixels[i + 2] = fill.B;
        }
    }

    /// <summary>
    /// Adds a colour ramp of ±<paramref name="amplitude"/> levels: red from −amplitude at the left edge to +amplitude at
    /// the right, green likewise from top to bottom (clipped to 0–255). Call it before pasting sprites so that it only
    /// marks the background. 0 leaves the image as it is.
    /// </summary>
    public void AddPositionRamp(int amplitude)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amplitude);
        if (amplitude == 0)
        {
            return;
        }

        for (var y = 0; y < Height; y++)
        {
            var dg = Height == 1 ? 0 : (int)Math.Round(amplitude * ((2.0 * y / (Height - 1)) - 1));
            for (var x = 0; x < Width; x++)
            {
                var dr = Width == 1 ? 0 : (int)Math.Round(amplitude * ((2.0 * x / (Width - 1)) - 1));
                var i = Offset(x, y);
                Pixels[i] = (byte)Math.Clamp(Pixels[i] + dr, 0, 255);
                Pixels[i + 1] = (byte)Math.Clamp(Pixels[i + 1] + dg, 0, 255);
            }
        }
    }

    /// <summary>Image width in pixels.</summary>
    public int Width { get; }

    /// <summary>Image height in pixels.</summary>
    public int Height { get; }

    /// <summary>HWC RGB bytes, length Width × Height × 3.</summary>
    public byte[] Pixels { get; }

    /// <summary>Reads one pixel.</summary>
    public (byte R, byte G, byte B) GetPixel(int x, int y)
    {
        var i = Offset(x, y);
        return (Pixels[i], Pixels[i + 1], Pixels[i + 2]);
    }

    /// <summary>Writes one pixel.</summary>
    public void SetPixel(int x, int y, byte r, byte g, byte b)
    {
        var i = Offset(x, y);
        Pixels[i] = r;
        Pixels[i + 1] = g;
        Pixels[i + 2] = b;
    }

    /// <summary>Encodes the image as an 8-bit RGB PNG; the bytes depend only on the pixels.</summary>
    public byte[] EncodePng()
    {
        using var image = Image.LoadPixelData<Rgb24>(Pixels, Width, Height);
        using var stream = new MemoryStream();
        image.SaveAsPng(stream, new PngEncoder
        {
            ColorType = PngColorType.Rgb,
            BitDepth = PngBitDepth.Bit8,
            CompressionLevel = PngCompressionLevel.DefaultCompression,
            FilterMethod = PngFilterMethod.Adaptive,
        });
        return stream.ToArray();
    }

    private int Offset(int x, int y)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height)
        {
            throw new ArgumentOutOfRangeException(nameof(x), $"Pixel ({x},{y}) is outside the {Width}x{Height} image.");
        }

        return ((y * Width) + x) * 3;
    }
}
