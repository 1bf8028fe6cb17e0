using DeepPerception.ML.Preprocessing.Images;

namespace DeepPerception.ML.Preprocessing.Tests.Images;

/// <summary>
/// Straightforward scalar statement of Pillow's 8-bit bicubic convolution resize and of the Qwen2-VL patchify, kept
/// in the tests as the reference that the optimised implementations must reproduce byte for byte.
/// </summary>
internal static class ScalarPreprocessingReference
{
    private const int PrecisionBits = 32 - 8 - 2;

    public static RgbImage ResizeBicubic(RgbImage source, int newWidth, int newHeight)
    {
        bool needHorizontal = newWidth != source.Width;
        bool needVertical = newHeight != source.Height;
        if (!needHorizontal && !needVertical)
        {
            return source.Clone();
        }

        (int[] vBounds, int[] vWeights, int vKernel) = Coefficients(source.Height, newHeight);
        byte[] pixels = source.Pixels;
        int width = source.Width;
        int rows = source.Height;
        if (needHorizontal)
        {
            int firstRow = vBounds[0];
            int lastRow = vBounds[(newHeight - 1) * 2] + vBounds[((newHeight - 1) * 2) + 1];
            (int[] hBounds, int[] hWeights, int hKernel) = Coefficients(source.Width, newWidth);
            int rowCount = lastRow - firstRow;
            var output = new byte[rowCount * newWidth * 3];
            for (int y = 0; y < rowCount; y++)
            {
                for (int xx = 0; xx < newWidth; xx++)
                {
                    int xmin = hBounds[xx * 2];
                    int count = hBounds[(xx * 2) + 1];
                    int s0 = 1 << (PrecisionBits - 1), s1 = s0, s2 = s0;
                    for (int x = 0; x < count; x++)
                    {
                        int w = hWeights[(xx * hKernel) + x];
                        int p = ((((y + firstRow) * source.Width) + xmin + x) * 3);
                        s0 += pixels[p] * w;
                        s1 += pixels[p + 1] * w;
                        s2 += pixels[p + 2] * w;
                    }

                    int o = ((y * newWidth) + xx) * 3;
                    output[o] = Clip8(s0);
                    output[o + 1] = Clip8(s1);
                    output[o + 2] = Clip8(s2);
                }
            }

            pixels = output;
            width = newWidth;
            rows = rowCount;
            for (int i = 0; i < newHeight; i++)
            {
                vBounds[i * 2] -= firstRow;
            }
        }

        if (needVertical)
        {
            int stride = width * 3;
            var output = new byte[newHeight * stride];
            for (int yy = 0; yy < newHeight; yy++)
            {
                int ymin = vBounds[yy * 2];
                int count = vBounds[(yy * 2) + 1];
                for (int i = 0; i < stride; i++)
                {
                    int sum = 1 << (PrecisionBits - 1);
                    for (int y = 0; y < count; y++)
                    {
                        sum += pixels[((ymin + y) * stride) + i] * vWeights[(yy * vKernel) + y];
                    }

                    output[(yy * stride) + i] = Clip8(sum);
                }
            }

            pixels = output;
            rows = newHeight;
        }

        return new RgbImage(width, rows, pixels);
    }

    /// <summary>Resize (when the size changes) and patchify exactly as Hugging Face's Qwen2-VL processor does.</summary>
    public static float[] Process(RgbImage image, Qwen2VLImageProcessorOptions options, int targetHeight, int targetWidth)
    {
        RgbImage resized = targetHeight == image.Height && targetWidth == image.Width
            ? image
            : ResizeBicubic(image, targetWidth, targetHeight);
        int patch = options.PatchSize;
        int merge = options.MergeSize;
        int temporal = options.TemporalPatchSize;
        int gridH = targetHeight / patch;
        int gridW = targetWidth / patch;
        var values = new List<float>();
        for (int bh = 0; bh < gridH / merge; bh++)
        {
            for (int bw = 0; bw < gridW / merge; bw++)
            {
                for (int mh = 0; mh < merge; mh++)
                {
                    for (int mw = 0; mw < merge; mw++)
                    {
                        for (int c = 0; c < 3; c++)
                        {
                            float mean = (float)options.ImageMean[c];
                            float std = (float)options.ImageStd[c];
                            for (int t = 0; t < temporal; t++)
                            {
                                for (int y = 0; y < patch; y++)
                                {
                                    for (int x = 0; x < patch; x++)
                                    {
                                        byte v = resized[((bw * merge) + mw) * patch + x, ((bh * merge) + mh) * patch + y, c];
                                        float rescaled = (float)(v * (1.0 / 255));
                                        values.Add((rescaled - mean) / std);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        return values.ToArray();
    }

    private static byte Clip8(int value)
    {
        int shifted = value >> PrecisionBits;
        return shifted < 0 ? (byte)0 : shifted > 255 ? (byte)255 : (byte)shifted;
    }

    private static double BicubicKernel(double x)
    {
        const double a = -0.5;
        x = Math.Abs(x);
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

    private static (int[] Bounds, int[] Weights, int KernelSize) Coefficients(int inSize, int outSize)
    {
        float in0 = 0f;
        float in1 = inSize;
        double scale = (double)(in1 - in0) / outSize;
        double filterScale = scale < 1.0 ? 1.0 : scale;
        double support = 2.0 * filterScale;
        int kernelSize = ((int)Math.Ceiling(support) * 2) + 1;
        var bounds = new int[outSize * 2];
        var weights = new int[outSize * kernelSize];
        var k = new double[kernelSize];
        for (int xx = 0; xx < outSize; xx++)
        {
            double center = in0 + ((xx + 0.5) * scale);
            double ww = 0.0;
            double ss = 1.0 / filterScale;
            int xmin = Math.Max(0, (int)(center - support + 0.5));
            int xmax = Math.Min(inSize, (int)(center + support + 0.5)) - xmin;
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

        return (bounds, weights, kernelSize);
    }
}
