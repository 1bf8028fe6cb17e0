using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepPerception.ML.Runtime;

/// <summary>
/// A CPU kernel for <c>y = x·Wᵀ + b</c> when <c>x</c> has only a few rows — the shape of every linear layer in a batched
/// decode step. The BLAS routine libtorch calls for such a product (MKL <c>sgemm</c>) copies the whole weight matrix
/// into a packed buffer on every call, so with weights streamed from memory once per token a batch of 8 costs about 2.5×
/// a batch of 1. This kernel reads each weight row once, straight from the tensor, and multiplies it with up to 4 rows
/// of <c>x</c> at a time held in AVX-512 registers (4 weight rows × 4 input rows per block, 16 accumulators); the input
/// rows stay in the L1 cache. Summation order differs from the BLAS, so results agree to float32 rounding, not bit for
/// bit. It is used for inference only (no autograd graph is built), for float32 CPU tensors, and only on hardware with
/// accelerated 512-bit vectors; <see cref="TryForward"/> returns null otherwise and the caller uses <c>F.linear</c>.
/// </summary>
public static class SmallBatchLinear
{
    /// <summary>The most rows of <c>x</c> the kernel takes; larger batches are left to the BLAS.</summary>
    public const int MaxRows = 16;

    /// <summary>The fewest rows the kernel takes (one row is a matrix-vector product, which the BLAS streams well).</summary>
    public const int MinRows = 2;

    /// <summary>
    /// The smallest weight (out × in elements) the kernel takes: below it the BLAS's packing is cheap and the fixed cost
    /// of a call (a few native calls to reach the tensors' memory) would dominate. Settable for tests that exercise the
    /// kernel on tiny models.
    /// </summary>
    public static long MinWeightElements { get; set; } = 64 * 1024;

    private const int Lanes = 16;

    /// <summary>Whether this machine can run the kernel (512-bit vectors in hardware).</summary>
    public static bool IsSupported { get; } = Vector512.IsHardwareAccelerated && Avx512F.IsSupported;

    /// <summary>
    /// Turns the kernel on or off for the whole process (on by default where supported); the engine benchmark turns it
    /// off to measure the BLAS path side by side.
    /// </summary>
    public static bool Enabled { get; set; } = true;

    /// <summary>
    /// Computes <c>input·weightᵀ + bias</c> with the kernel when it applies — inference (gradients off or nothing
    /// requiring them), float32 CPU tensors, <see cref="MinRows"/>…<see cref="MaxRows"/> rows once the input is
    /// flattened to [rows, in], and an input width that is a multiple of 16 — and returns null otherwise.
    /// </summary>
    public static Tensor? TryForward(Tensor input, Tensor weight, Tensor? bias)
    {
        if (!Enabled || !IsSupported || weight.ndim != 2)
        {
            return null;
        }

        return TryForward(input, weight, bias, weight.shape[1], weight.shape[0]);
    }

    /// <summary>
    /// <see cref="TryForward(Tensor, Tensor, Tensor?)"/> for a weight whose shape [<paramref name="outFeatures"/>,
    /// <paramref name="inFeatures"/>] the caller knows: a declined call (one input row, a small weight) then costs a
    /// single native call, which matters for tiny models whose layers take microseconds.
    /// </summary>
    public static Tensor? TryForward(Tensor input, Tensor weight, Tensor? bias, long inFeatures, long outFeatures)
    {
        if (!Enabled || !IsSupported || inFeatures % Lanes != 0 || inFeatures * outFeatures < MinWeightElements
            || outFeatures > int.MaxValue / MaxRows)
        {
            return null;
        }

        var rows = input.numel() / inFeatures;
        if (rows < MinRows || rows > MaxRows)
        {
            return null;
        }

        if (input.dtype != ScalarType.Float32 || weight.dtype != ScalarType.Float32 || input.device_type != DeviceType.CPU
            || weight.device_type != DeviceType.CPU || input.shape[^1] != inFeatures || weight.shape[0] != outFeatures || weight.shape[1] != inFeatures)
        {
            return null;
        }

        if (torch.is_grad_enabled() && (input.requires_grad || weight.requires_grad || (bias?.requires_grad ?? false)))
        {
            return null;
        }

        if (bias is not null && (bias.dtype != ScalarType.Float32 || bias.device_type != DeviceType.CPU || bias.numel() != outFeatures))
        {
            return null;
        }

        using var x = input.reshape(rows, inFeatures).contiguous();
        using var w = weight.contiguous();
        using var b = bias?.contiguous();
        var outputShape = input.shape;
        outputShape[^1] = outFeatures;
        var output = torch.empty(outputShape, ScalarType.Float32, input.device);
        Compute(
            MemoryMarshal.Cast<byte, float>(x.bytes),
            (int)rows,
            MemoryMarshal.Cast<byte, float>(w.bytes),
            (int)outFeatures,
            (int)inFeatures,
            b is null ? default : MemoryMarshal.Cast<byte, float>(b.bytes),
            MemoryMarshal.Cast<byte, float>(output.bytes),
            torch.get_num_threads());
        return output;
    }

    /// <summary>
    /// y[r, o] = Σₖ x[r, k]·w[o, k] (+ bias[o]) for <paramref name="rows"/> ≤ <see cref="MaxRows"/> rows; <paramref name="k"/>
    /// must be a multiple of 16. <paramref name="bias"/> may be empty. With <paramref name="threads"/> &gt; 1 the output
    /// columns are split between that many workers (for matrices of at least 512 rows).
    /// </summary>
    public static void Compute(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> w, int n, int k, ReadOnlySpan<float> bias, Span<float> y, int threads = 1)
    {
        if (!IsSupported)
        {
            throw new PlatformNotSupportedException("The small-batch linear kernel needs 512-bit vector hardware.");
        }

        if (rows < 1 || rows > MaxRows || k <= 0 || k % Lanes != 0 || n <= 0)
        {
            throw new ArgumentException($"The kernel takes 1–{MaxRows} rows and an input width that is a positive multiple of {Lanes} (got {rows} rows, width {k}).");
        }

        if (x.Length < rows * k || w.Length < (long)n * k || y.Length < rows * n || (!bias.IsEmpty && bias.Length < n))
        {
            throw new ArgumentException("A buffer is smaller than the shapes need.");
        }

        // Pad the input to a multiple of 4 rows so that every block is 4 × 4; padded rows are computed and dropped.
        var paddedRows = (rows + 3) & ~3;
        float[]? rented = null;
        ReadOnlySpan<float> xs = x;
        if (paddedRows != rows)
        {
            rented = System.Buffers.ArrayPool<float>.Shared.Rent(paddedRows * k);
            x[..(rows * k)].CopyTo(rented);
            Array.Clear(rented, rows * k, (paddedRows - rows) * k);
            xs = rented.AsSpan(0, paddedRows * k);
        }

        try
        {
            // Split the output columns (in blocks of 4 weight rows) between threads when the work is large enough.
            var parts = Math.Clamp(Math.Min(threads, n / 256), 1, 64);
            if (parts == 1)
            {
                ComputeColumns(xs, rows, paddedRows, w, n, k, bias, y, 0, n);
            }
            else
            {
                unsafe
                {
                    fixed (float* px = xs, pw = w, pb = bias, py = y)
                    {
                        nint xp = (nint)px, wp = (nint)pw, bp = (nint)pb, yp = (nint)py;
                        int xLength = xs.Length, wLength = (int)Math.Min(w.Length, int.MaxValue), bLength = bias.Length, yLength = y.Length;
                        var step = ((n / parts) + 3) & ~3;
                        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, part =>
                        {
                            var from = part * step;
                            var to = part == parts - 1 ? n : Math.Min(n, from + step);
                            if (from < to)
                            {
                                ComputeColumns(
                                    new ReadOnlySpan<float>((float*)xp, xLength), rows, paddedRows, new ReadOnlySpan<float>((float*)wp, wLength), n, k,
                                    new ReadOnlySpan<float>((float*)bp, bLength), new Span<float>((float*)yp, yLength), from, to);
                            }
                        });
                    }
                }
            }
        }
        finally
        {
            if (rented is not null)
            {
                System.Buffers.ArrayPool<float>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Output columns [<paramref name="from"/>, <paramref name="to"/>) (<paramref name="from"/> a multiple of 4).</summary>
    private static void ComputeColumns(
        ReadOnlySpan<float> xs, int rows, int paddedRows, ReadOnlySpan<float> w, int n, int k, ReadOnlySpan<float> bias, Span<float> y, int from, int to)
    {
        Span<float> block = stackalloc float[16];
        ref var xRef = ref MemoryMarshal.GetReference(xs);
        ref var wRef = ref MemoryMarshal.GetReference(w);
        var fullBlocks = from + ((to - from) & ~3);
        for (var o = from; o < fullBlocks; o += 4)
        {
            ref var wBlock = ref Unsafe.Add(ref wRef, (nint)o * k);
            for (var r = 0; r < paddedRows; r += 4)
            {
                Block4x4(ref Unsafe.Add(ref xRef, (nint)r * k), ref wBlock, k, block);
                Store(block, r, rows, o, 4, n, bias, y);
            }
        }

        for (var o = fullBlocks; o < to; o++)
        {
            ref var wRow = ref Unsafe.Add(ref wRef, (nint)o * k);
            for (var r = 0; r < paddedRows; r += 4)
            {
                Block4x1(ref Unsafe.Add(ref xRef, (nint)r * k), ref wRow, k, block);
                Store(block, r, rows, o, 1, n, bias, y);
            }
        }
    }

    /// <summary>Writes a block laid out as block[4·j + i] = y[r + i, o + j] (rows past <paramref name="rows"/> are padding).</summary>
    private static void Store(ReadOnlySpan<float> block, int r, int rows, int o, int width, int n, ReadOnlySpan<float> bias, Span<float> y)
    {
        var last = Math.Min(4, rows - r);
        for (var j = 0; j < width; j++)
        {
            var add = bias.IsEmpty ? 0f : bias[o + j];
            for (var i = 0; i < last; i++)
            {
                y[((r + i) * n) + o + j] = block[(4 * j) + i] + add;
            }
        }
    }

    /// <summary>Dot products of 4 input rows (stride k) with 4 weight rows (stride k): block[4·j + i] = x_i · w_j.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block4x4(ref float x, ref float w, int k, Span<float> block)
    {
        var s00 = Vector512<float>.Zero; var s01 = Vector512<float>.Zero; var s02 = Vector512<float>.Zero; var s03 = Vector512<float>.Zero;
        var s10 = Vector512<float>.Zero; var s11 = Vector512<float>.Zero; var s12 = Vector512<float>.Zero; var s13 = Vector512<float>.Zero;
        var s20 = Vector512<float>.Zero; var s21 = Vector512<float>.Zero; var s22 = Vector512<float>.Zero; var s23 = Vector512<float>.Zero;
        var s30 = Vector512<float>.Zero; var s31 = Vector512<float>.Zero; var s32 = Vector512<float>.Zero; var s33 = Vector512<float>.Zero;
        var stride = (nuint)k;
        for (nuint p = 0; p < stride; p += Lanes)
        {
            // Prefetch the next block's weights (the 4 rows after these) so memory streams while this block computes.
            unsafe
            {
                var ahead = (float*)Unsafe.AsPointer(ref Unsafe.Add(ref w, p + (4 * stride)));
                Sse.Prefetch0(ahead);
                Sse.Prefetch0(ahead + stride);
                Sse.Prefetch0(ahead + (2 * stride));
                Sse.Prefetch0(ahead + (3 * stride));
            }

            var w0 = Vector512.LoadUnsafe(ref w, p);
            var w1 = Vector512.LoadUnsafe(ref w, p + stride);
            var w2 = Vector512.LoadUnsafe(ref w, p + (2 * stride));
            var w3 = Vector512.LoadUnsafe(ref w, p + (3 * stride));
            var x0 = Vector512.LoadUnsafe(ref x, p);
            s00 = Vector512.FusedMultiplyAdd(x0, w0, s00);
            s01 = Vector512.FusedMultiplyAdd(x0, w1, s01);
            s02 = Vector512.FusedMultiplyAdd(x0, w2, s02);
            s03 = Vector512.FusedMultiplyAdd(x0, w3, s03);
            var x1 = Vector512.LoadUnsafe(ref x, p + stride);
            s10 = Vector512.FusedMultiplyAdd(x1, w0, s10);
            s11 = Vector512.FusedMultiplyAdd(x1, w1, s11);
            s12 = Vector512.FusedMultiplyAdd(x1, w2, s12);
            s13 = Vector512.FusedMultiplyAdd(x1, w3, s13);
            var x2 = Vector512.LoadUnsafe(ref x, p + (2 * stride));
            s20 = Vector512.FusedMultiplyAdd(x2, w0, s20);
            s21 = Vector512.FusedMultiplyAdd(x2, w1, s21);
            s22 = Vector512.FusedMultiplyAdd(x2, w2, s22);
            s23 = Vector512.FusedMultiplyAdd(x2, w3, s23);
            var x3 = Vector512.LoadUnsafe(ref x, p + (3 * stride));
            s30 = Vector512.FusedMultiplyAdd(x3, w0, s30);
            s31 = Vector512.FusedMultiplyAdd(x3, w1, s31);
            s32 = Vector512.FusedMultiplyAdd(x3, w2, s32);
            s33 = Vector512.FusedMultiplyAdd(x3, w3, s33);
        }

        Reduce16(s00, s10, s20, s30, s01, s11, s21, s31, s02, s12, s22, s32, s03, s13, s23, s33).CopyTo(block);
    }

    /// <summary>
    /// The horizontal sums of 16 vectors as one vector (lane t = Σ of v_t): two rounds of in-lane interleaving adds
    /// (32-bit, then 64-bit) leave each 128-bit lane holding four partial sums, then two rounds of 128-bit lane shuffles
    /// add the four lanes — 45 instructions instead of 16 separate reductions.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Reduce16(
        Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3,
        Vector512<float> v4, Vector512<float> v5, Vector512<float> v6, Vector512<float> v7,
        Vector512<float> v8, Vector512<float> v9, Vector512<float> v10, Vector512<float> v11,
        Vector512<float> v12, Vector512<float> v13, Vector512<float> v14, Vector512<float> v15)
    {
        var q0 = Quad(v0, v1, v2, v3);
        var q1 = Quad(v4, v5, v6, v7);
        var q2 = Quad(v8, v9, v10, v11);
        var q3 = Quad(v12, v13, v14, v15);

        // Lanes [q.L0 + q.L1, q.L2 + q.L3] for two quads, then the same again: lane group g holds quad g's totals.
        var h0 = Avx512F.Shuffle4x128(q0, q1, 0x88) + Avx512F.Shuffle4x128(q0, q1, 0xDD);
        var h1 = Avx512F.Shuffle4x128(q2, q3, 0x88) + Avx512F.Shuffle4x128(q2, q3, 0xDD);
        return Avx512F.Shuffle4x128(h0, h1, 0x88) + Avx512F.Shuffle4x128(h0, h1, 0xDD);
    }

    /// <summary>Each 128-bit lane L of the result holds [Σ a_L, Σ b_L, Σ c_L, Σ d_L] (sums over that lane's 4 elements).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Quad(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d)
    {
        var ab = Avx512F.UnpackLow(a, b) + Avx512F.UnpackHigh(a, b);
        var cd = Avx512F.UnpackLow(c, d) + Avx512F.UnpackHigh(c, d);
        return Avx512F.UnpackLow(ab.AsDouble(), cd.AsDouble()).AsSingle() + Avx512F.UnpackHigh(ab.AsDouble(), cd.AsDouble()).AsSingle();
    }

    /// <summary>Dot products of 4 input rows with one weight row: block[i] = x_i · w.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block4x1(ref float x, ref float w, int k, Span<float> block)
    {
        var s0 = Vector512<float>.Zero; var s1 = Vector512<float>.Zero; var s2 = Vector512<float>.Zero; var s3 = Vector512<float>.Zero;
        var stride = (nuint)k;
        for (nuint p = 0; p < stride; p += Lanes)
        {
            var w0 = Vector512.LoadUnsafe(ref w, p);
            s0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref x, p), w0, s0);
            s1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref x, p + stride), w0, s1);
            s2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref x, p + (2 * stride)), w0, s2);
            s3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref x, p + (3 * stride)), w0, s3);
        }

        block[0] = Vector512.Sum(s0); block[1] = Vector512.Sum(s1); block[2] = Vector512.Sum(s2); block[3] = Vector512.Sum(s3);
    }
}
