using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
    private const int Half = 1 << (PrecisionBits - 1);

    /// <summary>Resizes <paramref name="source"/> to <paramref name="newWidth"/> × <paramref name="newHeight"/> like Pillow's BICUBIC.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A target dimension is not positive.</exception>
    public static RgbImage ResizeBicubic(RgbImage source, int newWidth, int newHeight)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(newWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(newHeight);
        _ = checked(newWidth * newHeight * 3);

        // Every byte of the result is written by the passes below.
        byte[] output = GC.AllocateUninitializedArray<byte>(newWidth * newHeight * 3);
        if (newWidth == source.Width && newHeight == source.Height)
        {
            source.Pixels.CopyTo(output, 0);
        }
        else
        {
            ResizeInto(source, newWidth, newHeight, output);
        }

        return new RgbImage(newWidth, newHeight, output);
    }

    /// <summary>
    /// Resizes <paramref name="source"/> (whose size must differ from the target) into the first
    /// <paramref name="newWidth"/> × <paramref name="newHeight"/> × 3 bytes of <paramref name="output"/>, which may be
    /// longer (a pooled buffer).
    /// </summary>
    internal static void ResizeInto(RgbImage source, int newWidth, int newHeight, byte[] output)
    {
        bool needHorizontal = newWidth != source.Width;
        bool needVertical = newHeight != source.Height;
        if ((!needHorizontal && !needVertical) || output.Length < (long)newWidth * newHeight * 3)
        {
            throw new InvalidOperationException("ResizeInto needs a size change and an output buffer of the target size.");
        }

        if (!needVertical)
        {
            Coefficients onlyHorizontal = Coefficients.Compute(source.Width, newWidth);
            ResampleHorizontal(source.Pixels, source.Width, 0, source.Height, output, newWidth, onlyHorizontal);
            return;
        }

        Coefficients vertical = Coefficients.Compute(source.Height, newHeight);
        if (!needHorizontal)
        {
            ResampleVertical(source.Pixels, 0, source.Width * 3, output, newHeight, vertical);
            return;
        }

        // Rows of the source that the vertical pass reads; the horizontal pass produces only those, into a pooled
        // intermediate buffer that the vertical pass then reads with its windows shifted by the first row.
        int firstRow = vertical.Bounds[0];
        int lastRow = vertical.Bounds[(newHeight - 1) * 2] + vertical.Bounds[((newHeight - 1) * 2) + 1];
        int rowCount = lastRow - firstRow;
        Coefficients horizontal = Coefficients.Compute(source.Width, newWidth);
        byte[] intermediate = ArrayPool<byte>.Shared.Rent(checked(rowCount * newWidth * 3));
        try
        {
            ResampleHorizontal(source.Pixels, source.Width, firstRow, rowCount, intermediate, newWidth, horizontal);
            ResampleVertical(intermediate, firstRow, newWidth * 3, output, newHeight, vertical);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(intermediate);
        }
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte Clip8(int value)
    {
        int shifted = value >> PrecisionBits;
        return shifted < 0 ? (byte)0 : shifted > 255 ? (byte)255 : (byte)shifted;
    }

    /// <summary>
    /// Horizontal pass over <paramref name="rowCount"/> rows of <paramref name="input"/> starting at
    /// <paramref name="firstRow"/>, writing rows of <paramref name="outWidth"/> pixels to the start of
    /// <paramref name="output"/>.
    /// </summary>
    /// <remarks>
    /// With 256-bit vectors, two taps of one output pixel are summed per step: eight source bytes (taps x and x + 1
    /// plus two bytes that get weight zero) are widened to eight int32 lanes and multiplied by the lane weights
    /// (w<sub>x</sub> ×3, w<sub>x+1</sub> ×3, 0, 0); the two halves of the sum are added at the end. With 128-bit
    /// vectors one tap (four bytes, the fourth unused) is summed per step. Integer addition being exact modulo 2³²,
    /// the sums equal the scalar ones bit for bit. Pixels whose over-reading load would pass the end of the buffer use
    /// the scalar loop.
    /// </remarks>
    private static void ResampleHorizontal(
        byte[] input, int inWidth, int firstRow, int rowCount, byte[] output, int outWidth, Coefficients c)
    {
        int inStride = inWidth * 3;
        int outStride = outWidth * 3;
        if ((long)(firstRow + rowCount) * inStride > input.Length || (long)rowCount * outStride > output.Length)
        {
            throw new InvalidOperationException("Horizontal resampling buffers are smaller than the image.");
        }

        if (Vector256.IsHardwareAccelerated)
        {
            // Lane weights per output pixel and tap pair: (w0, w0, w0, w1, w1, w1, 0, 0).
            int pairs = (c.KernelSize + 1) / 2;
            int[] laneWeights = ArrayPool<int>.Shared.Rent(checked(outWidth * pairs * 8));
            try
            {
                for (int xx = 0; xx < outWidth; xx++)
                {
                    int count = c.Bounds[(xx * 2) + 1];
                    ReadOnlySpan<int> w = c.Weights.AsSpan(xx * c.KernelSize, count);
                    Span<int> lanes = laneWeights.AsSpan(xx * pairs * 8, pairs * 8);
                    for (int pair = 0; pair < (count + 1) / 2; pair++)
                    {
                        int w0 = w[pair * 2];
                        int w1 = (pair * 2) + 1 < count ? w[(pair * 2) + 1] : 0;
                        Vector256.Create(w0, w0, w0, w1, w1, w1, 0, 0).CopyTo(lanes[(pair * 8)..]);
                    }
                }

                for (int y = 0; y < rowCount; y++)
                {
                    HorizontalRow256(input, (y + firstRow) * inStride, output, y * outStride, outWidth, c, laneWeights, pairs);
                }
            }
            finally
            {
                ArrayPool<int>.Shared.Return(laneWeights);
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            for (int y = 0; y < rowCount; y++)
            {
                HorizontalRow128(input, (y + firstRow) * inStride, output, y * outStride, outWidth, c);
            }
        }
        else
        {
            ref byte src = ref MemoryMarshal.GetArrayDataReference(input);
            ref byte dst = ref MemoryMarshal.GetArrayDataReference(output);
            ref int bounds = ref MemoryMarshal.GetArrayDataReference(c.Bounds);
            ref int weights = ref MemoryMarshal.GetArrayDataReference(c.Weights);
            for (int y = 0; y < rowCount; y++)
            {
                int inRow = (y + firstRow) * inStride;
                ref byte outRow = ref Unsafe.Add(ref dst, y * outStride);
                for (int xx = 0; xx < outWidth; xx++)
                {
                    HorizontalPixelScalar(
                        ref src,
                        inRow + (Unsafe.Add(ref bounds, xx * 2) * 3),
                        Unsafe.Add(ref bounds, (xx * 2) + 1),
                        ref Unsafe.Add(ref weights, xx * c.KernelSize),
                        ref Unsafe.Add(ref outRow, xx * 3));
                }
            }
        }
    }

    /// <summary>One output row of the horizontal pass, two taps per 256-bit step (callers check the row bounds).</summary>
    private static void HorizontalRow256(
        byte[] input, int inRow, byte[] output, int outRow, int outWidth, Coefficients c, int[] laneWeights, int pairs)
    {
        ref byte src = ref MemoryMarshal.GetArrayDataReference(input);
        ref byte dst = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(output), outRow);
        ref int bounds = ref MemoryMarshal.GetArrayDataReference(c.Bounds);
        ref int lanes = ref MemoryMarshal.GetArrayDataReference(laneWeights);
        int inputLength = input.Length;
        Vector256<int> initial = Vector256.Create(Half, Half, Half, 0, 0, 0, 0, 0);
        for (int xx = 0; xx < outWidth; xx++)
        {
            int p = inRow + (Unsafe.Add(ref bounds, xx * 2) * 3);
            int count = Unsafe.Add(ref bounds, (xx * 2) + 1);
            int steps = (count + 1) >> 1;
            ref byte o = ref Unsafe.Add(ref dst, xx * 3);
            if (p + (steps * 6) + 2 > inputLength)
            {
                HorizontalPixelScalar(
                    ref src, p, count, ref MemoryMarshal.GetArrayDataReference(c.Weights), ref o, xx * c.KernelSize);
                continue;
            }

            ref byte pixel = ref Unsafe.Add(ref src, p);
            ref int l = ref Unsafe.Add(ref lanes, xx * pairs * 8);
            Vector256<int> acc = initial;
            for (int step = 0; step < steps; step++)
            {
                ulong eight = Unsafe.ReadUnaligned<ulong>(ref pixel);
                Vector128<ushort> words = Vector128.WidenLower(Vector128.CreateScalarUnsafe(eight).AsByte());
                Vector256<int> values = Vector256.WidenLower(words.ToVector256Unsafe()).AsInt32();
                acc += values * Vector256.LoadUnsafe(ref l);
                pixel = ref Unsafe.Add(ref pixel, 6);
                l = ref Unsafe.Add(ref l, 8);
            }

            acc += Vector256.Shuffle(acc, Vector256.Create(3, 4, 5, 6, 7, 7, 7, 7));
            Vector128<int> sums = Vector128.Min(
                Vector128.Max(Vector128.ShiftRightArithmetic(acc.GetLower(), PrecisionBits), Vector128<int>.Zero),
                Vector128.Create(255));
            o = (byte)sums.ToScalar();
            Unsafe.Add(ref o, 1) = (byte)sums.GetElement(1);
            Unsafe.Add(ref o, 2) = (byte)sums.GetElement(2);
        }
    }

    /// <summary>One output row of the horizontal pass, one tap per 128-bit step (callers check the row bounds).</summary>
    private static void HorizontalRow128(byte[] input, int inRow, byte[] output, int outRow, int outWidth, Coefficients c)
    {
        ref byte src = ref MemoryMarshal.GetArrayDataReference(input);
        ref byte dst = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(output), outRow);
        ref int bounds = ref MemoryMarshal.GetArrayDataReference(c.Bounds);
        ref int weights = ref MemoryMarshal.GetArrayDataReference(c.Weights);
        int inputLength = input.Length;
        Vector128<int> initial = Vector128.Create(Half, Half, Half, 0);
        for (int xx = 0; xx < outWidth; xx++)
        {
            int p = inRow + (Unsafe.Add(ref bounds, xx * 2) * 3);
            int count = Unsafe.Add(ref bounds, (xx * 2) + 1);
            ref byte o = ref Unsafe.Add(ref dst, xx * 3);
            if (p + (count * 3) + 1 > inputLength)
            {
                HorizontalPixelScalar(ref src, p, count, ref weights, ref o, xx * c.KernelSize);
                continue;
            }

            ref byte pixel = ref Unsafe.Add(ref src, p);
            ref int w = ref Unsafe.Add(ref weights, xx * c.KernelSize);
            Vector128<int> acc = initial;
            for (int x = 0; x < count; x++)
            {
                uint four = Unsafe.ReadUnaligned<uint>(ref pixel);
                Vector128<ushort> words = Vector128.WidenLower(Vector128.CreateScalarUnsafe(four).AsByte());
                acc += Vector128.WidenLower(words).AsInt32() * Vector128.Create(Unsafe.Add(ref w, x));
                pixel = ref Unsafe.Add(ref pixel, 3);
            }

            Vector128<int> sums = Vector128.Min(
                Vector128.Max(Vector128.ShiftRightArithmetic(acc, PrecisionBits), Vector128<int>.Zero),
                Vector128.Create(255));
            o = (byte)sums.ToScalar();
            Unsafe.Add(ref o, 1) = (byte)sums.GetElement(1);
            Unsafe.Add(ref o, 2) = (byte)sums.GetElement(2);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void HorizontalPixelScalar(ref byte src, int p, int count, ref int weights, ref byte output, int weightOffset = 0)
    {
        weights = ref Unsafe.Add(ref weights, weightOffset);
        int s0 = Half;
        int s1 = Half;
        int s2 = Half;
        ref byte pixel = ref Unsafe.Add(ref src, p);
        for (int x = 0; x < count; x++)
        {
            int w = Unsafe.Add(ref weights, x);
            s0 += pixel * w;
            s1 += Unsafe.Add(ref pixel, 1) * w;
            s2 += Unsafe.Add(ref pixel, 2) * w;
            pixel = ref Unsafe.Add(ref pixel, 3);
        }

        output = Clip8(s0);
        Unsafe.Add(ref output, 1) = Clip8(s1);
        Unsafe.Add(ref output, 2) = Clip8(s2);
    }

    /// <summary>
    /// Vertical pass: rows of <paramref name="stride"/> bytes of <paramref name="input"/>, whose first row is source
    /// row <paramref name="rowOffset"/>, into <paramref name="outHeight"/> rows at the start of <paramref name="output"/>.
    /// </summary>
    /// <remarks>
    /// Every byte of a row is summed with the same weights, so the vector paths take 32 (or 16) consecutive bytes at a
    /// time, widen them to int32 lanes and keep the sums in registers; a row whose length is not a multiple of the
    /// vector width ends with one block that overlaps the previous one (recomputing the same bytes), and rows shorter
    /// than one vector use the scalar loop.
    /// </remarks>
    private static void ResampleVertical(byte[] input, int rowOffset, int stride, byte[] output, int outHeight, Coefficients c)
    {
        if ((long)outHeight * stride > output.Length)
        {
            throw new InvalidOperationException("Vertical resampling output buffer is smaller than the image.");
        }

        ref byte src = ref MemoryMarshal.GetArrayDataReference(input);
        ref byte dst = ref MemoryMarshal.GetArrayDataReference(output);
        for (int yy = 0; yy < outHeight; yy++)
        {
            int ymin = c.Bounds[yy * 2] - rowOffset;
            int count = c.Bounds[(yy * 2) + 1];
            if (ymin < 0 || count < 0 || (long)(ymin + count) * stride > input.Length)
            {
                throw new InvalidOperationException("Vertical resampling window lies outside the input rows.");
            }

            ReadOnlySpan<int> w = c.Weights.AsSpan(yy * c.KernelSize, count);
            ref byte first = ref Unsafe.Add(ref src, ymin * stride);
            ref byte outRow = ref Unsafe.Add(ref dst, yy * stride);
            if (Vector256.IsHardwareAccelerated && stride >= Vector256<byte>.Count)
            {
                VerticalRow256(ref first, stride, w, ref outRow);
            }
            else if (Vector128.IsHardwareAccelerated && stride >= Vector128<byte>.Count)
            {
                VerticalRow128(ref first, stride, w, ref outRow);
            }
            else
            {
                VerticalRowScalar(ref first, stride, w, ref outRow);
            }
        }
    }

    private static void VerticalRow256(ref byte first, int stride, ReadOnlySpan<int> weights, ref byte output)
    {
        int last = stride - Vector256<byte>.Count;
        Vector256<int> initial = Vector256.Create(Half);
        Vector256<int> low = Vector256<int>.Zero;
        Vector256<int> high = Vector256.Create(255);
        for (int i = 0; ; i += Vector256<byte>.Count)
        {
            if (i > last)
            {
                i = last;
            }

            Vector256<int> a0 = initial;
            Vector256<int> a1 = initial;
            Vector256<int> a2 = initial;
            Vector256<int> a3 = initial;
            ref byte column = ref Unsafe.Add(ref first, i);
            for (int y = 0; y < weights.Length; y++)
            {
                Vector256<int> w = Vector256.Create(weights[y]);
                Vector256<byte> bytes = Vector256.LoadUnsafe(ref column, (nuint)(y * stride));
                (Vector256<ushort> lo, Vector256<ushort> hi) = Vector256.Widen(bytes);
                (Vector256<uint> v0, Vector256<uint> v1) = Vector256.Widen(lo);
                (Vector256<uint> v2, Vector256<uint> v3) = Vector256.Widen(hi);
                a0 += v0.AsInt32() * w;
                a1 += v1.AsInt32() * w;
                a2 += v2.AsInt32() * w;
                a3 += v3.AsInt32() * w;
            }

            a0 = Vector256.Min(Vector256.Max(Vector256.ShiftRightArithmetic(a0, PrecisionBits), low), high);
            a1 = Vector256.Min(Vector256.Max(Vector256.ShiftRightArithmetic(a1, PrecisionBits), low), high);
            a2 = Vector256.Min(Vector256.Max(Vector256.ShiftRightArithmetic(a2, PrecisionBits), low), high);
            a3 = Vector256.Min(Vector256.Max(Vector256.ShiftRightArithmetic(a3, PrecisionBits), low), high);
            Vector256<ushort> w01 = Vector256.Narrow(a0.AsUInt32(), a1.AsUInt32());
            Vector256<ushort> w23 = Vector256.Narrow(a2.AsUInt32(), a3.AsUInt32());
            Vector256.Narrow(w01, w23).StoreUnsafe(ref output, (nuint)i);
            if (i == last)
            {
                return;
            }
        }
    }

    private static void VerticalRow128(ref byte first, int stride, ReadOnlySpan<int> weights, ref byte output)
    {
        int last = stride - Vector128<byte>.Count;
        Vector128<int> initial = Vector128.Create(Half);
        Vector128<int> low = Vector128<int>.Zero;
        Vector128<int> high = Vector128.Create(255);
        for (int i = 0; ; i += Vector128<byte>.Count)
        {
            if (i > last)
            {
                i = last;
            }

            Vector128<int> a0 = initial;
            Vector128<int> a1 = initial;
            Vector128<int> a2 = initial;
            Vector128<int> a3 = initial;
            ref byte column = ref Unsafe.Add(ref first, i);
            for (int y = 0; y < weights.Length; y++)
            {
                Vector128<int> w = Vector128.Create(weights[y]);
                Vector128<byte> bytes = Vector128.LoadUnsafe(ref column, (nuint)(y * stride));
                (Vector128<ushort> lo, Vector128<ushort> hi) = Vector128.Widen(bytes);
                (Vector128<uint> v0, Vector128<uint> v1) = Vector128.Widen(lo);
                (Vector128<uint> v2, Vector128<uint> v3) = Vector128.Widen(hi);
                a0 += v0.AsInt32() * w;
                a1 += v1.AsInt32() * w;
                a2 += v2.AsInt32() * w;
                a3 += v3.AsInt32() * w;
            }

            a0 = Vector128.Min(Vector128.Max(Vector128.ShiftRightArithmetic(a0, PrecisionBits), low), high);
            a1 = Vector128.Min(Vector128.Max(Vector128.ShiftRightArithmetic(a1, PrecisionBits), low), high);
            a2 = Vector128.Min(Vector128.Max(Vector128.ShiftRightArithmetic(a2, PrecisionBits), low), high);
            a3 = Vector128.Min(Vector128.Max(Vector128.ShiftRightArithmetic(a3, PrecisionBits), low), high);
            Vector128<ushort> w01 = Vector128.Narrow(a0.AsUInt32(), a1.AsUInt32());
            Vector128<ushort> w23 = Vector128.Narrow(a2.AsUInt32(), a3.AsUInt32());
            Vector128.Narrow(w01, w23).StoreUnsafe(ref output, (nuint)i);
            if (i == last)
            {
                return;
            }
        }
    }

    private static void VerticalRowScalar(ref byte first, int stride, ReadOnlySpan<int> weights, ref byte output)
    {
        for (int i = 0; i < stride; i++)
        {
            int sum = Half;
            ref byte column = ref Unsafe.Add(ref first, i);
            for (int y = 0; y < weights.Length; y++)
            {
                sum += Unsafe.Add(ref column, y * stride) * weights[y];
            }

            Unsafe.Add(ref output, i) = Clip8(sum);
        }
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
