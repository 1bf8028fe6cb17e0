namespace DeepPerception.ML.Preprocessing.Images;

/// <summary>Why an image could not be decoded.</summary>
public enum ImageDecodeFailureReason
{
    /// <summary>The input holds no bytes.</summary>
    Empty,

    /// <summary>The content is not JPEG, PNG, GIF or WebP (the file name is never consulted).</summary>
    UnknownFormat,

    /// <summary>The file, the declared dimensions, the pixel count or a decoder allocation exceeds the limits.</summary>
    TooLarge,

    /// <summary>The container holds more frames than allowed (animated GIF or WebP).</summary>
    TooManyFrames,

    /// <summary>The data ends before the format's end marker (a partial upload or download).</summary>
    Truncated,

    /// <summary>The data is structurally invalid.</summary>
    Corrupt,

    /// <summary>The format is recognised but uses a feature the decoder does not support.</summary>
    Unsupported,
}

/// <summary>An image could not be decoded safely; <see cref="Reason"/> says why.</summary>
public sealed class ImageDecodeException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ImageDecodeException(ImageDecodeFailureReason reason, string message, Exception? innerException = null)
        : base($"Image decode failed ({reason}): {message}", innerException)
    {
        Reason = reason;
    }

    /// <summary>The failure category.</summary>
    public ImageDecodeFailureReason Reason { get; }
}
