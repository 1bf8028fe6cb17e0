namespace DeepPerception.ML.Preprocessing.Images;

/// <summary>
/// Bit-exact re-implementation of Pillow's (9.x) convolution resampling of 8-bit RGB images with the bicubic filter,
/// i.e. <c>Image.resize((w, h), Image.BICUBIC)</c> with the default box and no reducing gap. Hugging Face image
/// processors (Qwen2-VL among them) resize through Pillow, so parity with their <c>pixel_values</c> needs this exact
/// arithmetic rather than a generic bicubic.
/// </summary>
/// <remarks>
/// The algorithm is separable: per output coordinate, a window of input samples is weighted by the cubic convolution
/// kernel (a = −0.5), widened by the scale factor when downscaling (support = 2 × max(1, in/out)); the weights are
/// normalised to sum to one and converted to signed fixed point with 22 fractional bits; sums start at one half (for
/// rounding), are shifted back and clipped to 0–255. The horizontal pass runs first (only over the rows the vertical
/// pass reads), then the vertical pass; a pass whose size does not change is skipped.
/// </remarks>
public static class PillowResampler
{
    private const int PrecisionBits = 32 - 8 - 2;
    private const double BicubicSupport = 2.0;

    /// <summary>Resizes <paramref name="source"/> to <paramref name="newWidth"/> × <paramref name="newHeight"/> like Pillow's BICUBIC.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A target dimension is not positive.</exception>
    public static RgbImage ResizeBicubic(RgbImage source, int newWidth, int newHeight)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(newWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(newHeight);
        _ = checked(newWidth * newHeight * 3);

        bool needHorizontal = newWidth != source.Width;
        bool needVertical = newHeight != source.Height;
        if (!needHorizontal && !needVertical)
        {
            return source.Clone();
        }

        Coefficients vertical = Coefficients.Compute(source.Height, newHeight);

        byte[] pixels = source.Pixels;
        int width = source.Width;
        int rows = source.Height;
        if (needHorizontal)
        {
            // Rows of the source that the vertical pass reads.
            int firstRow = vertical.Bounds[0];
            int lastRow = vertical.Bounds[(newHeight - 1) * 2] + vertical.Bounds[((newHeight - 1) * 2) + 1];
            Coefficients horizontal = Coefficients.Compute(source.Width, newWidth);
            pixels = ResampleHorizontal(pixels, source.Width, firstRow, lastRow - firstRow, newWidth, horizontal);
            width = newWidth;
            rows = lastRow - firstRow;
            for (int i = 0; i < newHeight; i++)
            {
                vertical.Bounds[i * 2] -= firstRow;
            }
        }

        if (needVertical)
        {
            pixels = ResampleVertical(pixels, width, newHeight, vertical);
            rows = newHeight;
        }

        return new RgbImage(width, rows, pixels);
    }

    private static double BicubicKernel(double x)
    {
        const double a = -0.5;
        if (x < 0.0)
        {
            x = -x;
        }

        if (x < 1.0)
        {
            return ((((a + 2.0) * x) - (a + 3.0)) * x * x) + 1;
        }

        if (x < 2.0)
        {
            return ((((((x - 5) * x) + 8) * x) - 4) * a);
        }

        return 0.0;
    }

    private static byte Clip8(int value)
    {
        int shifted = value >> PrecisionBits;
        return shifted < 0 ? (byte)0 : shifted > 255 ? (byte)255 : (byte)shifted;
    }

    private static byte[] ResampleHorizontal(
        byte[] input, int inWidth, int firstRow, int rowCount, int outWidth, Coefficients c)
    {
        var output = new byte[checked(rowCount * outWidth * 3)];
        int inStride = inWidth * 3;
        int outStride = outWidth * 3;
        for (int y = 0; y < rowCount; y++)
        {
            int inRow = (y + firstRow) * inStride;
            int outRow = y * outStride;
            for (int xx = 0; xx < outWidth; xx++)
            {
                int xmin = c.Bounds[xx * 2];
                int count = c.Bounds[(xx * 2) + 1];
                int k = xx * c.KernelSize;
                int s0 = 1 << (PrecisionBits - 1);
                int s1 = s0;
                int s2 = s0;
                int p = inRow + (xmin * 3);
                for (int x = 0; x < count; x++, p += 3)
                {
                    int w = c.Weights[k + x];
                    s0 += input[p] * w;
                    s1 += input[p + 1] * w;
                    s2 += input[p + 2] * w;
                }

                int o = outRow + (xx * 3);
                output[o] = Clip8(s0);
                output[o + 1] = Clip8(s1);
                output[o + 2] = Clip8(s2);
            }
        }

        return output;
    }

    private static byte[] ResampleVertical(byte[] input, int width, int outHeight, Coefficients c)
    {
        int stride = width * 3;
        var output = new byte[checked(outHeight * stride)];
        var sums = new int[stride];
        for (int yy = 0; yy < outHeight; yy++)
        {
            int ymin = c.Bounds[yy * 2];
            int count = c.Bounds[(yy * 2) + 1];
            int k = yy * c.KernelSize;
            Array.Fill(sums, 1 << (PrecisionBits - 1));
            for (int y = 0; y < count; y++)
            {
                int w = c.Weights[k + y];
                int row = (ymin + y) * stride;
                for (int i = 0; i < stride; i++)
                {
                    sums[i] += input[row + i] * w;
                }
            }

            int outRow = yy * stride;
            for (int i = 0; i < stride; i++)
            {
                output[outRow + i] = Clip8(sums[i]);
            }
        }

        return output;
    }

    /// <summary>Per-output-coordinate windows (first input index, count) and fixed-point weights.</summary>
    private sealed class Coefficients
    {
        private Coefficients(int kernelSize, int[] bounds, int[] weights)
        {
            KernelSize = kernelSize;
            Bounds = bounds;
            Weights = weights;
        }

        public int KernelSize { get; }

        public int[] Bounds { get; }

        public int[] Weights { get; }

        public static Coefficients Compute(int inSize, int outSize)
        {
            // Pillow passes the box as C floats; the default box is (0, 0, width, height).
            float in0 = 0f;
            float in1 = inSize;
            double scale = (double)(in1 - in0) / outSize;
            double filterScale = scale < 1.0 ? 1.0 : scale;
            double support = BicubicSupport * filterScale;
            int kernelSize = ((int)Math.Ceiling(support) * 2) + 1;

            var bounds = new int[outSize * 2];
            var weights = new int[checked(outSize * kernelSize)];
            var k = new double[kernelSize];
            for (int xx = 0; xx < outSize; xx++)
            {
                double center = in0 + ((xx + 0.5) * scale);
                double ww = 0.0;
                double ss = 1.0 / filterScale;
                int xmin = (int)(center - support + 0.5);
                if (xmin < 0)
                {
                    xmin = 0;
                }

                int xmax = (int)(center + support + 0.5);
                if (xmax > inSize)
                {
                    xmax = inSize;
                }

                xmax -= xmin;
                for (int x = 0; x < xmax; x++)
                {
                    double w = BicubicKernel((x + xmin - center + 0.5) * ss);
                    k[x] = w;
                    ww += w;
                }

                for (int x = 0; x < xmax; x++)
                {
                    if (ww != 0.0)
                    {
                        k[x] /= ww;
                    }

                    double scaled = k[x] * (1 << PrecisionBits);
                    weights[(xx * kernelSize) + x] = k[x] < 0 ? (int)(-0.5 + scaled) : (int)(0.5 + scaled);
                }

                bounds[xx * 2] = xmin;
                bounds[(xx * 2) + 1] = xmax;
            }

            return new Coefficients(kernelSize, bounds, weights);
        }
    }
}
