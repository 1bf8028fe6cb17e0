using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Memory;
using SixLabors.ImageSharp.Metadata;
using SixLabors.ImageSharp.PixelFormats;

namespace DeepPerception.Data.Validation;

/// <summary>The outcome of decoding one untrusted image file.</summary>
/// <param name="Success">Whether the image decoded.</param>
/// <param name="Width">Decoded width (0 on failure).</param>
/// <param name="Height">Decoded height (0 on failure).</param>
/// <param name="Error">Why decoding failed, or null.</param>
/// <param name="Frames">Frames decoded (always 1 on success: animated GIFs are cut to their first frame).</param>
public sealed record ImageDecodeResult(bool Success, int Width, int Height, string? Error, int Frames = 0);

/// <summary>
/// Decodes untrusted images with a private ImageSharp <see cref="Configuration"/> that knows only PNG, JPEG, GIF and
/// WebP, caps single allocations, reads at most one GIF frame and rejects oversized dimensions before decoding.
/// </summary>
public sealed class HardenedImageDecoder
{
    private readonly Configuration _configuration;

    /// <summary>Creates a decoder.</summary>
    /// <param name="maxSide">Largest accepted width or height.</param>
    /// <param name="allocationLimitMegabytes">Largest single buffer ImageSharp may allocate.</param>
    public HardenedImageDecoder(int maxSide = 8192, int allocationLimitMegabytes = 64)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSide);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(allocationLimitMegabytes);
        MaxSide = maxSide;
        _configuration = new Configuration(
            new PngConfigurationModule(),
            new JpegConfigurationModule(),
            new GifConfigurationModule(),
            new WebpConfigurationModule())
        {
            MemoryAllocator = MemoryAllocator.Create(new MemoryAllocatorOptions { AllocationLimitMegabytes = allocationLimitMegabytes }),
        };
        _configuration.ImageFormatsManager.SetDecoder(GifFormat.Instance, new GifDecoder { DecodingMode = FrameDecodingMode.First });
    }

    /// <summary>Largest accepted width or height.</summary>
    public int MaxSide { get; }

    /// <summary>Decodes a file; never throws for bad content (the reason is in the result).</summary>
    public ImageDecodeResult Decode(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            var info = Image.Identify(_configuration, stream);
            if (info is null)
            {
                return new ImageDecodeResult(false, 0, 0, "unknown or unsupported image format");
            }

            if (info.Width <= 0 || info.Height <= 0 || info.Width > MaxSide || info.Height > MaxSide)
            {
                return new ImageDecodeResult(false, 0, 0, $"image dimensions {info.Width}x{info.Height} outside 1..{MaxSide}");
            }

            stream.Position = 0;
            using var image = Image.Load<Rgb24>(_configuration, stream);
            return new ImageDecodeResult(true, image.Width, image.Height, null, image.Frames.Count);
        }
        catch (Exception ex) when (ex is ImageFormatException or UnknownImageFormatException or InvalidImageContentException
                                       or InvalidMemoryOperationException or ArgumentException or InvalidOperationException
                                       or NotSupportedException or IOException or IndexOutOfRangeException or OverflowException
                                       or UnauthorizedAccessException)
        {
            return new ImageDecodeResult(false, 0, 0, $"{ex.GetType().Name}: {ex.Message}");
        }
    }
}
