namespace DeepPerception.ML.Preprocessing.Images.Jpeg;

/// <summary>
/// Turns decoded coefficients into RGB pixels the way libjpeg-turbo 2.1 does by default: the accurate integer
/// inverse DCT (jidctint.c), per-component upsampling (jdsample.c: "fancy" triangle filters for 2:1 ratios with
/// their alternating rounding bias, replication otherwise; rows above the top and below the last real row repeat
/// the edge row), and colour conversion (jdcolor.c fixed-point YCbCr tables, 16 fraction bits). CMYK output is then
/// converted to RGB as Pillow does for JPEG ("CMYK;I" unpacking, then <c>convert("RGB")</c>).
/// </summary>
internal static class JpegPixelPipeline
{
    private const int ConstBits = 13;
    private const int Pass1Bits = 2;
    private const int ScaleBits = 16;
    private const int OneHalf = 1 << (ScaleBits - 1);

    // FIX(x) = round(x * 2^13) for the islow IDCT.
    private const long Fix0298631336 = 2446;
    private const long Fix0390180644 = 3196;
    private const long Fix0541196100 = 4433;
    private const long Fix0765366865 = 6270;
    private const long Fix0899976223 = 7373;
    private const long Fix1175875602 = 9633;
    private const long Fix1501321110 = 12299;
    private const long Fix1847759065 = 15137;
    private const long Fix1961570560 = 16069;
    private const long Fix2053119869 = 16819;
    private const long Fix2562915447 = 20995;
    private const long Fix3072711026 = 25172;

    private static readonly int[] CrToR = new int[256];
    private static readonly int[] CbToB = new int[256];
    private static readonly long[] CrToG = new long[256];
    private static readonly long[] CbToG = new long[256];

    static JpegPixelPipeline()
    {
        // jdcolor.c build_ycc_rgb_table: FIX(x) = (long)(x * 65536 + 0.5).
        long fix1402 = (long)((1.40200 * 65536) + 0.5);
        long fix1772 = (long)((1.77200 * 65536) + 0.5);
        long fix071414 = (long)((0.71414 * 65536) + 0.5);
        long fix034414 = (long)((0.34414 * 65536) + 0.5);
        for (int i = 0; i < 256; i++)
        {
            long x = i - 128;
            CrToR[i] = (int)(((fix1402 * x) + OneHalf) >> ScaleBits);
            CbToB[i] = (int)(((fix1772 * x) + OneHalf) >> ScaleBits);
            CrToG[i] = -fix071414 * x;
            CbToG[i] = (-fix034414 * x) + OneHalf;
        }
    }

    private enum Method
    {
        FullSize,
        H2V1Fancy,
        H1V2Fancy,
        H2V2Fancy,
        Integral,
    }

    internal static RgbImage Render(
        ManagedJpegDecoder.Component[] components,
        int width,
        int height,
        int maxH,
        int maxV,
        JpegColorSpace colorSpace,
        int totalImcuRows,
        bool smooth)
    {
        int n = components.Length;
        var planes = new byte[n][];
        var strides = new int[n];
        var methods = new Method[n];
        var hExpand = new int[n];
        var vExpand = new int[n];
        for (int ci = 0; ci < n; ci++)
        {
            ManagedJpegDecoder.Component c = components[ci];
            if (c.Quant is null)
            {
                throw ManagedJpegDecoder.Corrupt($"component {c.Id} never appears in a scan");
            }

            strides[ci] = c.WidthInBlocks * 8;
            planes[ci] = InverseDctPlane(c, totalImcuRows, smooth);
            c.Coefficients = []; // release the coefficients early

            int hIn = c.H;
            int vIn = c.V;
            bool narrow = c.DownsampledWidth <= 2; // libjpeg uses plain replication for 2:1 when so narrow
            if (hIn == maxH && vIn == maxV)
            {
                methods[ci] = Method.FullSize;
            }
            else if (hIn * 2 == maxH && vIn == maxV && !narrow)
            {
                methods[ci] = Method.H2V1Fancy;
            }
            else if (hIn == maxH && vIn * 2 == maxV)
            {
                methods[ci] = Method.H1V2Fancy;
            }
            else if (hIn * 2 == maxH && vIn * 2 == maxV && !narrow)
            {
                methods[ci] = Method.H2V2Fancy;
            }
            else
            {
                methods[ci] = Method.Integral;
            }

            hExpand[ci] = maxH / hIn;
            vExpand[ci] = maxV / vIn;
        }

        var pixels = new byte[checked(width * height * 3)];
        int rowLength = Math.Max(width, 1) + (8 * maxH) + 16;
        var rows = new byte[n][];
        for (int ci = 0; ci < n; ci++)
        {
            rows[ci] = new byte[rowLength];
        }

        for (int y = 0; y < height; y++)
        {
            for (int ci = 0; ci < n; ci++)
            {
                UpsampleRow(components[ci], planes[ci], strides[ci], methods[ci], hExpand[ci], vExpand[ci], y, width, rows[ci]);
            }

            ConvertRow(rows, colorSpace, pixels.AsSpan(y * width * 3, width * 3), width);
        }

        return new RgbImage(width, height, pixels);
    }

    private static void UpsampleRow(
        ManagedJpegDecoder.Component c, byte[] plane, int stride, Method method, int hExpand, int vExpand, int y, int width, byte[] output)
    {
        int lastRow = c.DownsampledHeight - 1;
        switch (method)
        {
            case Method.FullSize:
                Array.Copy(plane, y * stride, output, 0, Math.Min(stride, output.Length));
                break;
            case Method.H2V1Fancy:
            {
                int inRow = y * stride;
                int dw = c.DownsampledWidth;
                int o = 0;
                int value = plane[inRow];
                output[o++] = (byte)value;
                output[o++] = (byte)(((value * 3) + plane[inRow + 1] + 2) >> 2);
                for (int x = 1; x < dw - 1; x++)
                {
                    value = plane[inRow + x] * 3;
                    output[o++] = (byte)((value + plane[inRow + x - 1] + 1) >> 2);
                    output[o++] = (byte)((value + plane[inRow + x + 1] + 2) >> 2);
                }

                value = plane[inRow + dw - 1];
                output[o++] = (byte)(((value * 3) + plane[inRow + dw - 2] + 1) >> 2);
                output[o] = (byte)value;
                break;
            }

            case Method.H1V2Fancy:
            {
                int row = y >> 1;
                bool upper = (y & 1) == 0;
                int near = row * stride;
                int far = Math.Clamp(upper ? row - 1 : row + 1, 0, lastRow) * stride;
                int bias = upper ? 1 : 2;
                int dw = c.DownsampledWidth;
                for (int x = 0; x < dw; x++)
                {
                    output[x] = (byte)(((plane[near + x] * 3) + plane[far + x] + bias) >> 2);
                }

                break;
            }

            case Method.H2V2Fancy:
            {
                int row = y >> 1;
                bool upper = (y & 1) == 0;
                int near = row * stride;
                int far = Math.Clamp(upper ? row - 1 : row + 1, 0, lastRow) * stride;
                int dw = c.DownsampledWidth;
                int o = 0;
                int thisSum = (plane[near] * 3) + plane[far];
                int nextSum = (plane[near + 1] * 3) + plane[far + 1];
                output[o++] = (byte)(((thisSum * 4) + 8) >> 4);
                output[o++] = (byte)(((thisSum * 3) + nextSum + 7) >> 4);
                int lastSum = thisSum;
                thisSum = nextSum;
                for (int x = 2; x < dw; x++)
                {
                    nextSum = (plane[near + x] * 3) + plane[far + x];
                    output[o++] = (byte)(((thisSum * 3) + lastSum + 8) >> 4);
                    output[o++] = (byte)(((thisSum * 3) + nextSum + 7) >> 4);
                    lastSum = thisSum;
                    thisSum = nextSum;
                }

                output[o++] = (byte)(((thisSum * 3) + lastSum + 8) >> 4);
                output[o] = (byte)(((thisSum * 4) + 7) >> 4);
                break;
            }

            default:
            {
                int inRow = (y / vExpand) * stride;
                for (int x = 0; x < width; x++)
                {
                    output[x] = plane[inRow + (x / hExpand)];
                }

                break;
            }
        }
    }

    private static void ConvertRow(byte[][] rows, JpegColorSpace colorSpace, Span<byte> output, int width)
    {
        switch (colorSpace)
        {
            case JpegColorSpace.Grayscale:
            {
                byte[] g = rows[0];
                for (int x = 0; x < width; x++)
                {
                    byte v = g[x];
                    output[(3 * x) + 0] = v;
                    output[(3 * x) + 1] = v;
                    output[(3 * x) + 2] = v;
                }

                break;
            }

            case JpegColorSpace.Rgb:
            {
                byte[] r = rows[0];
                byte[] g = rows[1];
                byte[] b = rows[2];
                for (int x = 0; x < width; x++)
                {
                    output[(3 * x) + 0] = r[x];
                    output[(3 * x) + 1] = g[x];
                    output[(3 * x) + 2] = b[x];
                }

                break;
            }

            case JpegColorSpace.YCbCr:
            {
                byte[] ys = rows[0];
                byte[] cbs = rows[1];
                byte[] crs = rows[2];
                for (int x = 0; x < width; x++)
                {
                    int yv = ys[x];
                    int cb = cbs[x];
                    int cr = crs[x];
                    output[(3 * x) + 0] = Clamp(yv + CrToR[cr]);
                    output[(3 * x) + 1] = Clamp(yv + (int)((CbToG[cb] + CrToG[cr]) >> ScaleBits));
                    output[(3 * x) + 2] = Clamp(yv + CbToB[cb]);
                }

                break;
            }

            default:
            {
                bool ycck = colorSpace == JpegColorSpace.Ycck;
                byte[] c0 = rows[0];
                byte[] c1 = rows[1];
                byte[] c2 = rows[2];
                byte[] k = rows[3];
                for (int x = 0; x < width; x++)
                {
                    int cyan;
                    int magenta;
                    int yellow;
                    if (ycck)
                    {
                        // jdcolor.c ycck_cmyk_convert: YCbCr → RGB, then inverted to CMY; K passes through.
                        int yv = c0[x];
                        int cb = c1[x];
                        int cr = c2[x];
                        cyan = Clamp(255 - (yv + CrToR[cr]));
                        magenta = Clamp(255 - (yv + (int)((CbToG[cb] + CrToG[cr]) >> ScaleBits)));
                        yellow = Clamp(255 - (yv + CbToB[cb]));
                    }
                    else
                    {
                        cyan = c0[x];
                        magenta = c1[x];
                        yellow = c2[x];
                    }

                    // Pillow reads JPEG CMYK as "CMYK;I" (Adobe's inverted convention: every channel is 255 - v),
                    // then converts to RGB with r = nk - c·nk/255, nk = 255 - k (a rounded divide by 255). With the
                    // inversion, nk is the stored K sample itself.
                    int nk = k[x];
                    output[(3 * x) + 0] = Clamp(nk - MulDiv255(255 - cyan, nk));
                    output[(3 * x) + 1] = Clamp(nk - MulDiv255(255 - magenta, nk));
                    output[(3 * x) + 2] = Clamp(nk - MulDiv255(255 - yellow, nk));
                }

                break;
            }
        }
    }

    private static int MulDiv255(int a, int b)
    {
        int t = (a * b) + 128;
        return ((t >> 8) + t) >> 8;
    }

    private static byte Clamp(int v) => (byte)(v < 0 ? 0 : v > 255 ? 255 : v);

    private static byte[] InverseDctPlane(ManagedJpegDecoder.Component c, int totalImcuRows, bool smooth)
    {
        if (smooth)
        {
            return SmoothedInverseDctPlane(c, totalImcuRows);
        }

        return InverseDctPlane(c);
    }

    /// <summary>
    /// libjpeg-turbo's decompress_smooth_data for a progressive image whose first AC coefficients are not fully
    /// known: each zero, not-yet-exact coefficient among the first nine (zig-zag 1..9) is estimated from the DC
    /// values of the surrounding 5×5 blocks, and when no AC data arrived at all the DC itself is re-estimated too.
    /// The neighbour rows follow libjpeg's iMCU-row buffering (rows two above/below are only used where its buffer
    /// holds them) and the neighbour columns its sliding window.
    /// </summary>
    private static byte[] SmoothedInverseDctPlane(ManagedJpegDecoder.Component c, int totalImcuRows)
    {
        int stride = c.WidthInBlocks * 8;
        var plane = new byte[(long)stride * c.HeightInBlocks * 8];
        Span<int> workspace = stackalloc int[64];
        short[] block = new short[64];
        short[] quant = c.Quant!;
        short[] coef = c.Coefficients;
        int[] bits = c.CoefBits;
        bool changeDc = true;
        for (int k = 1; k <= 9; k++)
        {
            changeDc &= bits[k] == -1;
        }

        long q00 = (ushort)quant[0];
        long q01 = (ushort)quant[1];
        long q10 = (ushort)quant[8];
        long q20 = (ushort)quant[16];
        long q11 = (ushort)quant[9];
        long q02 = (ushort)quant[2];
        long q03 = (ushort)quant[3];
        long q12 = (ushort)quant[10];
        long q21 = (ushort)quant[17];
        long q30 = (ushort)quant[24];
        int lastImcu = totalImcuRows - 1;
        int v = c.V;
        int lastColumn = c.WidthInBlocks - 1;
        int Dc(int row, int col) => coef[((row * c.BlocksPerLine) + col) * 64];

        for (int r = 0; r <= lastImcu; r++)
        {
            int blockRows = v;
            if (r == lastImcu)
            {
                blockRows = c.HeightInBlocks % v;
                if (blockRows == 0)
                {
                    blockRows = v;
                }
            }

            for (int b = 0; b < blockRows; b++)
            {
                int row = (r * v) + b;
                int prev = b > 0 || r > 0 ? row - 1 : row;
                int prevPrev = b > 1 || r > 1 ? row - 2 : prev;
                int next = b < blockRows - 1 || r < lastImcu ? row + 1 : row;
                int nextNext = b < blockRows - 2 || r + 1 < lastImcu ? row + 2 : next;
                int[] rows = [prevPrev, prev, row, next, nextNext];

                // dc[i, j]: the DC of row i (0..4 = two above .. two below) at column offset j - 2.
                var dc = new int[5, 5];
                for (int i = 0; i < 5; i++)
                {
                    int first = Dc(rows[i], 0);
                    for (int j = 0; j < 5; j++)
                    {
                        dc[i, j] = first;
                    }
                }

                for (int col = 0; col <= lastColumn; col++)
                {
                    if (col == 0 && col < lastColumn)
                    {
                        for (int i = 0; i < 5; i++)
                        {
                            dc[i, 3] = Dc(rows[i], 1);
                        }
                    }

                    if (col + 1 < lastColumn)
                    {
                        for (int i = 0; i < 5; i++)
                        {
                            dc[i, 4] = Dc(rows[i], col + 2);
                        }
                    }

                    int offset = ((row * c.BlocksPerLine) + col) * 64;
                    Array.Copy(coef, offset, block, 0, 64);
                    Smooth(block, dc, bits, changeDc, q00, q01, q10, q20, q11, q02, q03, q12, q21, q30);
                    InverseDct(block, quant, workspace, plane.AsSpan((b + (r * v)) * 8 * stride + (col * 8)), stride);

                    for (int i = 0; i < 5; i++)
                    {
                        dc[i, 0] = dc[i, 1];
                        dc[i, 1] = dc[i, 2];
                        dc[i, 2] = dc[i, 3];
                        dc[i, 3] = dc[i, 4];
                    }
                }
            }
        }

        return plane;
    }

    private static void Smooth(
        short[] w, int[,] d, int[] bits, bool changeDc,
        long q00, long q01, long q10, long q20, long q11, long q02, long q03, long q12, long q21, long q30)
    {
        // d[i, j] is libjpeg's DC(5i + j + 1): rows two above .. two below, columns two left .. two right.
        int D(int n) => d[(n - 1) / 5, (n - 1) % 5];

        if (bits[1] != 0 && w[1] == 0)
        {
            long e = changeDc
                ? -D(1) - D(2) + D(4) + D(5) - (3 * D(6)) + (13 * D(7)) - (13 * D(9)) + (3 * D(10)) - (3 * D(11)) +
                  (38 * D(12)) - (38 * D(14)) + (3 * D(15)) - (3 * D(16)) + (13 * D(17)) - (13 * D(19)) + (3 * D(20)) -
                  D(21) - D(22) + D(24) + D(25)
                : (-7 * D(11)) + (50 * D(12)) - (50 * D(14)) + (7 * D(15));
            w[1] = Predict(q00 * e, q01, bits[1]);
        }

        if (bits[2] != 0 && w[8] == 0)
        {
            long e = changeDc
                ? -D(1) - (3 * D(2)) - (3 * D(3)) - (3 * D(4)) - D(5) - D(6) + (13 * D(7)) + (38 * D(8)) + (13 * D(9)) -
                  D(10) + D(16) - (13 * D(17)) - (38 * D(18)) - (13 * D(19)) + D(20) + D(21) + (3 * D(22)) +
                  (3 * D(23)) + (3 * D(24)) + D(25)
                : (-7 * D(3)) + (50 * D(8)) - (50 * D(18)) + (7 * D(23));
            w[8] = Predict(q00 * e, q10, bits[2]);
        }

        if (bits[3] != 0 && w[16] == 0)
        {
            long e = changeDc
                ? D(3) + (2 * D(7)) + (7 * D(8)) + (2 * D(9)) - (5 * D(12)) - (14 * D(13)) - (5 * D(14)) + (2 * D(17)) +
                  (7 * D(18)) + (2 * D(19)) + D(23)
                : -D(3) + (13 * D(8)) - (24 * D(13)) + (13 * D(18)) - D(23);
            w[16] = Predict(q00 * e, q20, bits[3]);
        }

        if (bits[4] != 0 && w[9] == 0)
        {
            long e = changeDc
                ? -D(1) + D(5) + (9 * D(7)) - (9 * D(9)) - (9 * D(17)) + (9 * D(19)) + D(21) - D(25)
                : D(10) + D(16) - (10 * D(17)) + (10 * D(19)) - D(2) - D(20) + D(22) - D(24) + D(4) - D(6) +
                  (10 * D(7)) - (10 * D(9));
            w[9] = Predict(q00 * e, q11, bits[4]);
        }

        if (bits[5] != 0 && w[2] == 0)
        {
            long e = changeDc
                ? (2 * D(7)) - (5 * D(8)) + (2 * D(9)) + D(11) + (7 * D(12)) - (14 * D(13)) + (7 * D(14)) + D(15) +
                  (2 * D(17)) - (5 * D(18)) + (2 * D(19))
                : -D(11) + (13 * D(12)) - (24 * D(13)) + (13 * D(14)) - D(15);
            w[2] = Predict(q00 * e, q02, bits[5]);
        }

        if (!changeDc)
        {
            return;
        }

        if (bits[6] != 0 && w[3] == 0)
        {
            w[3] = Predict(q00 * (D(7) - D(9) + (2 * D(12)) - (2 * D(14)) + D(17) - D(19)), q03, bits[6]);
        }

        if (bits[7] != 0 && w[10] == 0)
        {
            w[10] = Predict(q00 * (D(7) - (3 * D(8)) + D(9) - D(17) + (3 * D(18)) - D(19)), q12, bits[7]);
        }

        if (bits[8] != 0 && w[17] == 0)
        {
            w[17] = Predict(q00 * (D(7) - D(9) - (3 * D(12)) + (3 * D(14)) + D(17) - D(19)), q21, bits[8]);
        }

        if (bits[9] != 0 && w[24] == 0)
        {
            w[24] = Predict(q00 * (D(7) + (2 * D(8)) + D(9) - D(17) - (2 * D(18)) - D(19)), q30, bits[9]);
        }

        long dcEstimate =
            (-2 * D(1)) - (6 * D(2)) - (8 * D(3)) - (6 * D(4)) - (2 * D(5)) - (6 * D(6)) + (6 * D(7)) + (42 * D(8)) +
            (6 * D(9)) - (6 * D(10)) - (8 * D(11)) + (42 * D(12)) + (152 * D(13)) + (42 * D(14)) - (8 * D(15)) -
            (6 * D(16)) + (6 * D(17)) + (42 * D(18)) + (6 * D(19)) - (6 * D(20)) - (2 * D(21)) - (6 * D(22)) -
            (8 * D(23)) - (6 * D(24)) - (2 * D(25));
        w[0] = Predict(q00 * dcEstimate, q00, 0);
    }

    /// <summary>Rounds num / (q · 256) to the nearest integer away from zero, capped below 2^al when al &gt; 0.</summary>
    private static short Predict(long num, long q, int al)
    {
        long pred;
        if (num >= 0)
        {
            pred = ((q << 7) + num) / (q << 8);
            if (al > 0 && pred >= (1 << al))
            {
                pred = (1 << al) - 1;
            }
        }
        else
        {
            pred = ((q << 7) - num) / (q << 8);
            if (al > 0 && pred >= (1 << al))
            {
                pred = (1 << al) - 1;
            }

            pred = -pred;
        }

        return unchecked((short)pred);
    }

    private static byte[] InverseDctPlane(ManagedJpegDecoder.Component c)
    {
        int stride = c.WidthInBlocks * 8;
        var plane = new byte[(long)stride * c.HeightInBlocks * 8];
        Span<int> workspace = stackalloc int[64];
        short[] quant = c.Quant!;
        for (int by = 0; by < c.HeightInBlocks; by++)
        {
            for (int bx = 0; bx < c.WidthInBlocks; bx++)
            {
                int offset = ((by * c.BlocksPerLine) + bx) * 64;
                InverseDct(c.Coefficients.AsSpan(offset, 64), quant, workspace, plane.AsSpan((by * 8 * stride) + (bx * 8)), stride);
            }
        }

        return plane;
    }

    /// <summary>
    /// The post-IDCT range limit: adds CENTERJSAMPLE and saturates to 0..255. libjpeg's C table agrees for every
    /// value in -512..511 and wraps beyond; libjpeg-turbo's SIMD IDCTs (what Pillow runs on x86-64 and ARM) saturate,
    /// and so does this, which keeps files with extreme coefficients identical to Pillow too.
    /// </summary>
    private static byte RangeLimit(long v) => (byte)(v < -128 ? 0 : v > 127 ? 255 : v + 128);

    private static long Descale(long x, int n) => (x + (1L << (n - 1))) >> n;

    /// <summary>jpeg_idct_islow: separable 8-point Loeffler–Ligtenberg–Moschytz IDCT in 13-bit fixed point.</summary>
    private static void InverseDct(ReadOnlySpan<short> input, short[] quant, Span<int> ws, Span<byte> output, int stride)
    {
        // Pass 1: columns, into the workspace scaled up by 2^PASS1_BITS.
        for (int col = 0; col < 8; col++)
        {
            if (input[8 + col] == 0 && input[16 + col] == 0 && input[24 + col] == 0 && input[32 + col] == 0 &&
                input[40 + col] == 0 && input[48 + col] == 0 && input[56 + col] == 0)
            {
                int dc = (input[col] * quant[col]) << Pass1Bits;
                for (int r = 0; r < 8; r++)
                {
                    ws[(r * 8) + col] = dc;
                }

                continue;
            }

            long z2 = input[16 + col] * quant[16 + col];
            long z3 = input[48 + col] * quant[48 + col];
            long z1 = (z2 + z3) * Fix0541196100;
            long tmp2 = z1 + (z3 * -Fix1847759065);
            long tmp3 = z1 + (z2 * Fix0765366865);

            z2 = input[col] * quant[col];
            z3 = input[32 + col] * quant[32 + col];
            long tmp0 = (z2 + z3) << ConstBits;
            long tmp1 = (z2 - z3) << ConstBits;

            long tmp10 = tmp0 + tmp3;
            long tmp13 = tmp0 - tmp3;
            long tmp11 = tmp1 + tmp2;
            long tmp12 = tmp1 - tmp2;

            tmp0 = input[56 + col] * quant[56 + col];
            tmp1 = input[40 + col] * quant[40 + col];
            tmp2 = input[24 + col] * quant[24 + col];
            tmp3 = input[8 + col] * quant[8 + col];
            OddPart(ref tmp0, ref tmp1, ref tmp2, ref tmp3);

            ws[col] = (int)Descale(tmp10 + tmp3, ConstBits - Pass1Bits);
            ws[56 + col] = (int)Descale(tmp10 - tmp3, ConstBits - Pass1Bits);
            ws[8 + col] = (int)Descale(tmp11 + tmp2, ConstBits - Pass1Bits);
            ws[48 + col] = (int)Descale(tmp11 - tmp2, ConstBits - Pass1Bits);
            ws[16 + col] = (int)Descale(tmp12 + tmp1, ConstBits - Pass1Bits);
            ws[40 + col] = (int)Descale(tmp12 - tmp1, ConstBits - Pass1Bits);
            ws[24 + col] = (int)Descale(tmp13 + tmp0, ConstBits - Pass1Bits);
            ws[32 + col] = (int)Descale(tmp13 - tmp0, ConstBits - Pass1Bits);
        }

        // Pass 2: rows, descaled by 2^(PASS1_BITS + 3) and range-limited around CENTERJSAMPLE.
        const int Shift = ConstBits + Pass1Bits + 3;
        for (int row = 0; row < 8; row++)
        {
            Span<int> w = ws.Slice(row * 8, 8);
            Span<byte> o = output.Slice(row * stride, 8);
            if (w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 && w[5] == 0 && w[6] == 0 && w[7] == 0)
            {
                byte dc = RangeLimit(Descale(w[0], Pass1Bits + 3));
                o.Fill(dc);
                continue;
            }

            long z2 = w[2];
            long z3 = w[6];
            long z1 = (z2 + z3) * Fix0541196100;
            long tmp2 = z1 + (z3 * -Fix1847759065);
            long tmp3 = z1 + (z2 * Fix0765366865);

            long tmp0 = ((long)w[0] + w[4]) << ConstBits;
            long tmp1 = ((long)w[0] - w[4]) << ConstBits;

            long tmp10 = tmp0 + tmp3;
            long tmp13 = tmp0 - tmp3;
            long tmp11 = tmp1 + tmp2;
            long tmp12 = tmp1 - tmp2;

            tmp0 = w[7];
            tmp1 = w[5];
            tmp2 = w[3];
            tmp3 = w[1];
            OddPart(ref tmp0, ref tmp1, ref tmp2, ref tmp3);

            o[0] = RangeLimit(Descale(tmp10 + tmp3, Shift));
            o[7] = RangeLimit(Descale(tmp10 - tmp3, Shift));
            o[1] = RangeLimit(Descale(tmp11 + tmp2, Shift));
            o[6] = RangeLimit(Descale(tmp11 - tmp2, Shift));
            o[2] = RangeLimit(Descale(tmp12 + tmp1, Shift));
            o[5] = RangeLimit(Descale(tmp12 - tmp1, Shift));
            o[3] = RangeLimit(Descale(tmp13 + tmp0, Shift));
            o[4] = RangeLimit(Descale(tmp13 - tmp0, Shift));
        }
    }

    /// <summary>The odd part shared by both passes: inputs are the coefficients 7, 5, 3, 1; outputs tmp0..tmp3.</summary>
    private static void OddPart(ref long tmp0, ref long tmp1, ref long tmp2, ref long tmp3)
    {
        long z1 = tmp0 + tmp3;
        long z2 = tmp1 + tmp2;
        long z3 = tmp0 + tmp2;
        long z4 = tmp1 + tmp3;
        long z5 = (z3 + z4) * Fix1175875602;

        tmp0 *= Fix0298631336;
        tmp1 *= Fix2053119869;
        tmp2 *= Fix3072711026;
        tmp3 *= Fix1501321110;
        z1 *= -Fix0899976223;
        z2 *= -Fix2562915447;
        z3 *= -Fix1961570560;
        z4 *= -Fix0390180644;

        z3 += z5;
        z4 += z5;

        tmp0 += z1 + z3;
        tmp1 += z2 + z4;
        tmp2 += z2 + z3;
        tmp3 += z1 + z4;
    }
}
