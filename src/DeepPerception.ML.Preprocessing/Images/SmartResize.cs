namespace DeepPerception.ML.Preprocessing.Images;

/// <summary>A target size chosen by <see cref="SmartResize"/>.</summary>
/// <param name="Height">Height in pixels.</param>
/// <param name="Width">Width in pixels.</param>
public readonly record struct ResizedSize(int Height, int Width);

/// <summary>
/// Qwen2-VL's <c>smart_resize</c> (transformers <c>image_processing_qwen2_vl.py</c>): picks a height and width that are
/// multiples of <c>factor</c>, keep the aspect ratio as closely as possible and keep the area within
/// [<c>minPixels</c>, <c>maxPixels</c>]. Rounding follows Python: <c>round</c> is half-to-even, the area branches use
/// <c>floor</c>/<c>ceil</c> of double quotients.
/// </summary>
public static class SmartResize
{
    /// <summary>Default <c>min_pixels</c> of the function and the processor: 56 × 56 = 3136.</summary>
    public const int DefaultMinPixels = 56 * 56;

    /// <summary>Default <c>max_pixels</c> of the <c>smart_resize</c> function: 28 × 28 × 1280 = 1003520.</summary>
    public const int DefaultMaxPixels = 28 * 28 * 1280;

    /// <summary>Computes the resized (height, width) exactly as Hugging Face's <c>smart_resize</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">
    /// A side is smaller than <paramref name="factor"/>, the aspect ratio exceeds 200, or a parameter is not positive
    /// (the first two are the errors Hugging Face raises).
    /// </exception>
    public static ResizedSize Compute(
        int height, int width, int factor = 28, int minPixels = DefaultMinPixels, int maxPixels = DefaultMaxPixels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(factor);
        ArgumentOutOfRangeException.ThrowIfNegative(minPixels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPixels);
        if (height < factor || width < factor)
        {
            throw new ArgumentOutOfRangeException(
                height < factor ? nameof(height) : nameof(width),
                $"height:{height} or width:{width} must be larger than factor:{factor}");
        }

        double ratio = (double)Math.Max(height, width) / Math.Min(height, width);
        if (ratio > 200)
        {
            throw new ArgumentOutOfRangeException(
                nameof(width), $"absolute aspect ratio must be smaller than 200, got {ratio}");
        }

        long hBar = RoundByFactor(height, factor);
        long wBar = RoundByFactor(width, factor);
        long area = (long)height * width;
        if (hBar * wBar > maxPixels)
        {
            double beta = Math.Sqrt((double)area / maxPixels);
            hBar = (long)Math.Floor(height / beta / factor) * factor;
            wBar = (long)Math.Floor(width / beta / factor) * factor;
        }
        else if (hBar * wBar < minPixels)
        {
            double beta = Math.Sqrt((double)minPixels / area);
            hBar = (long)Math.Ceiling(height * beta / factor) * factor;
            wBar = (long)Math.Ceiling(width * beta / factor) * factor;
        }

        return new ResizedSize(checked((int)hBar), checked((int)wBar));
    }

    private static long RoundByFactor(int value, int factor) =>
        (long)Math.Round((double)value / factor, MidpointRounding.ToEven) * factor;
}
