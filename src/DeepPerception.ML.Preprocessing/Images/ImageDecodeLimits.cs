namespace DeepPerception.ML.Preprocessing.Images;

/// <summary>Resource limits applied by <see cref="SafeImageDecoder"/> before and while decoding.</summary>
public sealed record ImageDecodeLimits
{
    /// <summary>Default limits: 64 MiB files, 16384 px per side, 40 megapixels, 256 frames, 256 MiB per buffer.</summary>
    public static ImageDecodeLimits Default { get; } = new();

    /// <summary>Largest accepted input, in bytes.</summary>
    public long MaxFileBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Largest accepted width or height, in pixels.</summary>
    public int MaxSide { get; init; } = 16384;

    /// <summary>Largest accepted width × height.</summary>
    public long MaxPixels { get; init; } = 40_000_000;

    /// <summary>Largest accepted number of frames in an animated GIF or WebP (only the first frame is decoded).</summary>
    public int MaxFrames { get; init; } = 256;

    /// <summary>
    /// Largest single buffer a decoder may allocate, in MiB: the imaging library's allocation limit for PNG, GIF and
    /// WebP, and the pixel and coefficient buffers of the managed JPEG decoder (checked from the frame header).
    /// </summary>
    public int AllocationLimitMegabytes { get; init; } = 256;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> if any limit is not positive.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxFileBytes, nameof(MaxFileBytes));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxSide, nameof(MaxSide));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxPixels, nameof(MaxPixels));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxFrames, nameof(MaxFrames));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(AllocationLimitMegabytes, nameof(AllocationLimitMegabytes));
    }
}
