using DeepPerception.ML.Preprocessing.Images;

namespace DeepPerception.Data.Validation;

/// <summary>The outcome of decoding one untrusted image file.</summary>
/// <param name="Success">Whether the image decoded.</param>
/// <param name="Width">Decoded width (0 on failure).</param>
/// <param name="Height">Decoded height (0 on failure).</param>
/// <param name="Error">Why decoding failed, or null.</param>
/// <param name="Frames">Frames decoded (always 1 on success: animated GIFs are cut to their first frame).</param>
public sealed record ImageDecodeResult(bool Success, int Width, int Height, string? Error, int Frames = 0);

/// <summary>
/// Dataset validation's view of the engine's hardened decoder (<see cref="SafeImageDecoder"/>: PNG/JPEG/GIF/WebP only,
/// header limits before decoding, an allocation cap, the first GIF frame, truncation detection): a result instead of
/// an exception, so every bad record can be listed.
/// </summary>
public sealed class HardenedImageDecoder
{
    private readonly SafeImageDecoder _decoder;

    /// <summary>Creates a decoder.</summary>
    /// <param name="maxSide">Largest accepted width or height.</param>
    /// <param name="allocationLimitMegabytes">Largest single buffer a decoder may allocate (see <see cref="ImageDecodeLimits.AllocationLimitMegabytes"/>).</param>
    public HardenedImageDecoder(int maxSide = 8192, int allocationLimitMegabytes = 64)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSide);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(allocationLimitMegabytes);
        MaxSide = maxSide;
        _decoder = new SafeImageDecoder(new ImageDecodeLimits { MaxSide = maxSide, AllocationLimitMegabytes = allocationLimitMegabytes });
    }

    /// <summary>Largest accepted width or height.</summary>
    public int MaxSide { get; }

    /// <summary>Decodes a file; never throws for bad content (the reason is in the result).</summary>
    public ImageDecodeResult Decode(string path)
    {
        try
        {
            var image = _decoder.DecodeFile(path);
            return new ImageDecodeResult(true, image.Width, image.Height, null, 1);
        }
        catch (Exception ex) when (ex is ImageDecodeException or IOException or UnauthorizedAccessException)
        {
            return new ImageDecodeResult(false, 0, 0, ex.Message);
        }
    }
}
