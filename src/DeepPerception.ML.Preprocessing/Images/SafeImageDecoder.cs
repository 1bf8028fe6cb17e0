using DeepPerception.ML.Preprocessing.Images.Jpeg;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Memory;
using SixLabors.ImageSharp.PixelFormats;

namespace DeepPerception.ML.Preprocessing.Images;

/// <summary>Header facts about an image, read without decoding pixels.</summary>
/// <param name="Format">Container format, from the content.</param>
/// <param name="Width">
/// Width in pixels of the image <see cref="SafeImageDecoder.Decode(byte[])"/> returns: the displayed width (EXIF
/// orientation applied, so the stored height for orientations 5 to 8) unless the decoder was created with
/// <see cref="SafeImageDecoder.ApplyExifOrientation"/> off.
/// </param>
/// <param name="Height">Height in pixels, in the same frame as <paramref name="Width"/>.</param>
/// <param name="FrameCount">Number of frames (1 for still images).</param>
/// <param name="Orientation">The EXIF orientation the data declares (<see cref="ExifOrientation.Normal"/> when none).</param>
public readonly record struct ImageHeaderInfo(
    ImageContainerFormat Format,
    int Width,
    int Height,
    int FrameCount,
    ExifOrientation Orientation = ExifOrientation.Normal);

/// <summary>
/// Decodes untrusted JPEG, PNG, GIF and WebP data into <see cref="RgbImage"/> under resource limits. The format is
/// sniffed from the content (never from a file name); the container is walked to reject truncated or malformed
/// files; the header is identified and checked against <see cref="ImageDecodeLimits"/> before any pixel buffer is
/// allocated. JPEG is decoded by <see cref="Jpeg.ManagedJpegDecoder"/>, bit-identical to libjpeg-turbo (what Pillow
/// and Hugging Face use); PNG, GIF and WebP use a private imaging configuration with only those formats, a
/// per-buffer allocation limit and first-frame-only GIF decoding. The EXIF orientation (JPEG APP1, PNG <c>eXIf</c>,
/// WebP <c>EXIF</c>, read by <see cref="ExifOrientationReader"/>) is applied by default, like Hugging Face's
/// <c>load_image</c> (<c>PIL.ImageOps.exif_transpose</c>) and like browsers: decoded pixels, <see cref="Inspect"/>
/// sizes and therefore boxes are in the frame of the image as displayed. Every failure surfaces as
/// <see cref="ImageDecodeException"/>. Instances are immutable and thread-safe.
/// </summary>
public sealed class SafeImageDecoder
{
    private readonly Configuration _configuration;

    /// <summary>Creates a decoder with <paramref name="limits"/> (defaults: <see cref="ImageDecodeLimits.Default"/>).</summary>
    /// <param name="limits">The resource limits; <see cref="ImageDecodeLimits.Default"/> when null.</param>
    /// <param name="applyExifOrientation">
    /// Whether decoded images and <see cref="Inspect"/> sizes have the EXIF orientation applied (the default); false
    /// gives the stored pixel grid.
    /// </param>
    public SafeImageDecoder(ImageDecodeLimits? limits = null, bool applyExifOrientation = true)
    {
        Limits = limits ?? ImageDecodeLimits.Default;
        ApplyExifOrientation = applyExifOrientation;
        Limits.Validate();
        _configuration = CreateConfiguration(Limits);
    }

    /// <summary>A shared decoder with the default limits.</summary>
    public static SafeImageDecoder Default { get; } = new();

    /// <summary>The limits this decoder enforces.</summary>
    public ImageDecodeLimits Limits { get; }

    /// <summary>
    /// Whether <see cref="Decode(byte[])"/> returns the image as displayed (EXIF orientation applied, the default) and
    /// <see cref="Inspect"/> reports that frame's size; when false both use the stored pixel grid.
    /// </summary>
    public bool ApplyExifOrientation { get; }

    /// <summary>Decodes an image held in memory.</summary>
    /// <exception cref="ImageDecodeException">The data is empty, unknown, too large, truncated, corrupt or unsupported.</exception>
    public RgbImage Decode(byte[] data)
    {
        (ImageHeaderInfo info, int storedWidth, int storedHeight) = InspectStored(data);
        RgbImage stored = info.Format == ImageContainerFormat.Jpeg
            ? DecodeJpeg(data) // reproduces libjpeg-turbo (what Pillow and Hugging Face use) bit for bit
            : DecodeWithImageSharp(data, info.Format, storedWidth, storedHeight);
        return ApplyExifOrientation ? stored.Orient(info.Orientation) : stored;
    }

    private RgbImage DecodeWithImageSharp(byte[] data, ImageContainerFormat format, int width, int height)
    {
        try
        {
            using Image<Rgb24> image = Image.Load<Rgb24>(_configuration, data);
            if (image.Width != width || image.Height != height)
            {
                throw new ImageDecodeException(
                    ImageDecodeFailureReason.Corrupt,
                    $"decoded size {image.Width}x{image.Height} differs from the header size {width}x{height}.");
            }

            return RgbImage.FromRgb24(image);
        }
        catch (Exception ex) when (ex is not ImageDecodeException)
        {
            throw Translate(ex, format);
        }
    }

    /// <summary>Reads <paramref name="stream"/> to its end (at most <see cref="ImageDecodeLimits.MaxFileBytes"/>) and decodes it.</summary>
    /// <exception cref="ImageDecodeException">The data is empty, unknown, too large, truncated, corrupt or unsupported.</exception>
    public RgbImage Decode(Stream stream) => Decode(ReadLimited(stream));

    /// <summary>Decodes the file at <paramref name="path"/>; its extension is ignored (the content decides the format).</summary>
    /// <exception cref="ImageDecodeException">The data is empty, unknown, too large, truncated, corrupt or unsupported.</exception>
    public RgbImage DecodeFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using FileStream stream = File.OpenRead(path);
        return Decode(stream);
    }

    /// <summary>
    /// Sniffs, walks and identifies the image, reads its EXIF orientation and checks the limits, without decoding
    /// pixels. The size is the one <see cref="Decode(byte[])"/> returns: displayed (width and height swapped for
    /// orientations 5 to 8) when <see cref="ApplyExifOrientation"/> is on, stored otherwise.
    /// </summary>
    /// <exception cref="ImageDecodeException">The data fails a check.</exception>
    public ImageHeaderInfo Inspect(byte[] data) => InspectStored(data).Info;

    private (ImageHeaderInfo Info, int StoredWidth, int StoredHeight) InspectStored(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Length == 0)
        {
            throw new ImageDecodeException(ImageDecodeFailureReason.Empty, "the input holds no bytes.");
        }

        if (data.Length > Limits.MaxFileBytes)
        {
            throw new ImageDecodeException(
                ImageDecodeFailureReason.TooLarge,
                $"the input has {data.Length} bytes; the limit is {Limits.MaxFileBytes}.");
        }

        ImageContainerInfo container = ImageContainerInspector.Inspect(data);
        if (container.FrameCount > Limits.MaxFrames)
        {
            throw new ImageDecodeException(
                ImageDecodeFailureReason.TooManyFrames,
                $"the {container.Format} holds {container.FrameCount} frames; the limit is {Limits.MaxFrames}.");
        }

        (int width, int height) = container.Format == ImageContainerFormat.Jpeg
            ? ReadJpegSize(data)
            : IdentifySize(data, container.Format);

        if (width <= 0 || height <= 0)
        {
            throw new ImageDecodeException(
                ImageDecodeFailureReason.Corrupt,
                $"the {container.Format} header declares {width}x{height} pixels.");
        }

        if (width > Limits.MaxSide || height > Limits.MaxSide)
        {
            throw new ImageDecodeException(
                ImageDecodeFailureReason.TooLarge,
                $"the {container.Format} is {width}x{height}; the largest side allowed is {Limits.MaxSide}.");
        }

        long pixels = (long)width * height;
        if (pixels > Limits.MaxPixels)
        {
            throw new ImageDecodeException(
                ImageDecodeFailureReason.TooLarge,
                $"the {container.Format} is {width}x{height} ({pixels} pixels); the limit is {Limits.MaxPixels}.");
        }

        ExifOrientation orientation = ExifOrientationReader.Read(data);
        (int shownWidth, int shownHeight) = ApplyExifOrientation ? orientation.DisplayedSize(width, height) : (width, height);
        return (new ImageHeaderInfo(container.Format, shownWidth, shownHeight, container.FrameCount, orientation), width, height);
    }

    private static (int Width, int Height) ReadJpegSize(byte[] data)
    {
        JpegFrameInfo frame = ManagedJpegDecoder.ReadFrameInfo(data);
        return (frame.Width, frame.Height);
    }

    private (int Width, int Height) IdentifySize(byte[] data, ImageContainerFormat format)
    {
        IImageInfo? header;
        try
        {
            using var stream = new MemoryStream(data, writable: false);
            header = Image.Identify(_configuration, stream, out _);
        }
        catch (Exception ex)
        {
            throw Translate(ex, format);
        }

        if (header is null)
        {
            throw new ImageDecodeException(ImageDecodeFailureReason.Corrupt, $"the {format} header could not be read.");
        }

        return (header.Width, header.Height);
    }

    private RgbImage DecodeJpeg(byte[] data)
    {
        try
        {
            return ManagedJpegDecoder.Decode(data, Limits);
        }
        catch (Exception ex) when (ex is OutOfMemoryException or InsufficientMemoryException)
        {
            throw new ImageDecodeException(
                ImageDecodeFailureReason.TooLarge, $"decoding the JPEG needs too much memory: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is not ImageDecodeException)
        {
            throw new ImageDecodeException(ImageDecodeFailureReason.Corrupt, $"the JPEG data is invalid: {ex.Message}", ex);
        }
    }

    /// <summary>Encodes <paramref name="image"/> as PNG and returns the bytes (for drawings and exports).</summary>
    public static byte[] EncodePng(RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return image.EncodePng();
    }

    private byte[] ReadLimited(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        byte[] chunk = new byte[81920];
        int read;
        while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (buffer.Length + read > Limits.MaxFileBytes)
            {
                throw new ImageDecodeException(
                    ImageDecodeFailureReason.TooLarge,
                    $"the stream holds more than {Limits.MaxFileBytes} bytes.");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static Configuration CreateConfiguration(ImageDecodeLimits limits)
    {
        // A new configuration (never a clone of Configuration.Default, which would share its format manager) with
        // only PNG, WebP and GIF (JPEG goes to ManagedJpegDecoder): no TGA/BMP/TIFF/PBM sniffing of arbitrary bytes.
        var configuration = new Configuration(
            new PngConfigurationModule(),
            new WebpConfigurationModule(),
            new GifConfigurationModule())
        {
            MemoryAllocator = MemoryAllocator.Create(new MemoryAllocatorOptions
            {
                AllocationLimitMegabytes = limits.AllocationLimitMegabytes,
            }),
        };
        configuration.ImageFormatsManager.SetDecoder(GifFormat.Instance, new GifDecoder { MaxFrames = 1 });
        return configuration;
    }

    private static ImageDecodeException Translate(Exception ex, ImageContainerFormat format)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is InvalidMemoryOperationException or OutOfMemoryException or InsufficientMemoryException)
            {
                return new ImageDecodeException(
                    ImageDecodeFailureReason.TooLarge, $"decoding the {format} needs too much memory: {e.Message}", ex);
            }
        }

        return ex switch
        {
            UnknownImageFormatException => new ImageDecodeException(
                ImageDecodeFailureReason.UnknownFormat, $"the decoder does not recognise the data: {ex.Message}", ex),
            NotSupportedException or NotImplementedException => new ImageDecodeException(
                ImageDecodeFailureReason.Unsupported, $"the {format} uses an unsupported feature: {ex.Message}", ex),
            _ => new ImageDecodeException(
                ImageDecodeFailureReason.Corrupt, $"the {format} data is invalid: {ex.Message}", ex),
        };
    }
}
