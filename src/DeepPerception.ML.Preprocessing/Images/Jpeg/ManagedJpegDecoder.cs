using System.Buffers.Binary;

namespace DeepPerception.ML.Preprocessing.Images.Jpeg;

/// <summary>How the samples of a JPEG's components are to be interpreted (libjpeg's default colour-space guess).</summary>
public enum JpegColorSpace
{
    /// <summary>One component.</summary>
    Grayscale,

    /// <summary>Three components, YCbCr (JFIF, Adobe transform 1, or no hint).</summary>
    YCbCr,

    /// <summary>Three components stored as RGB (Adobe transform 0, or component ids 'R', 'G', 'B').</summary>
    Rgb,

    /// <summary>Four components stored as (Adobe-inverted) CMYK.</summary>
    Cmyk,

    /// <summary>Four components stored as YCbCr plus K (Adobe transform 2 or unknown).</summary>
    Ycck,
}

/// <summary>Header facts of a JPEG frame, read without decoding any scan.</summary>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="ComponentCount">Number of colour components (1, 3 or 4).</param>
/// <param name="Progressive">Whether the frame is progressive (SOF2).</param>
/// <param name="ColorSpace">The colour space libjpeg assumes for these components.</param>
public readonly record struct JpegFrameInfo(int Width, int Height, int ComponentCount, bool Progressive, JpegColorSpace ColorSpace);

/// <summary>
/// A managed JPEG decoder that reproduces libjpeg-turbo 2.1's default decompression bit for bit, as Pillow's
/// <c>Image.open(f).convert("RGB")</c> (and therefore Hugging Face's image loading) sees it: Huffman-coded baseline,
/// extended (SOF1) and progressive (SOF2) 8-bit frames with restart intervals; the accurate integer IDCT
/// (<c>jpeg_idct_islow</c>) with its range limiting; "fancy" triangle-filter chroma upsampling for 2:1 ratios and
/// replication for other integral ratios; libjpeg's fixed-point YCbCr→RGB tables; greyscale replicated to RGB;
/// RGB, CMYK and YCCK frames as libjpeg's colour-space guess and Pillow's Adobe-inverted CMYK→RGB conversion give
/// them. EXIF orientation is not applied (neither <c>Image.open</c> nor the previous decoder applied it).
/// Sequential frames without DHT segments (Motion-JPEG) get the standard tables, and progressive files whose first
/// AC coefficients are never fully refined are block-smoothed, both as in libjpeg-turbo.
/// Unlike libjpeg, damaged data is never papered over: truncated scans, bad codes, missing tables and unsupported
/// coding processes (arithmetic, lossless, hierarchical, 12-bit) raise <see cref="ImageDecodeException"/> with a
/// typed reason, and the frame size is checked against <see cref="ImageDecodeLimits"/> before any buffer is allocated.
/// </summary>
public static class ManagedJpegDecoder
{
    /// <summary>Most scans accepted in one file (encoders write at most a few dozen; libjpeg-turbo suggests 500).</summary>
    public const int MaxScans = 500;

    /// <summary>Reads the headers up to the first scan (SOS) and checks that the coding process is supported.</summary>
    /// <exception cref="ImageDecodeException">The data is not a JPEG, is truncated or corrupt, or is unsupported.</exception>
    public static JpegFrameInfo ReadFrameInfo(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var parser = new Parser(data, ImageDecodeLimits.Default, headerOnly: true);
        parser.Run();
        return parser.FrameInfo;
    }

    /// <summary>Decodes a complete JPEG file to 8-bit RGB.</summary>
    /// <param name="data">The file bytes.</param>
    /// <param name="limits">Size limits (defaults: <see cref="ImageDecodeLimits.Default"/>).</param>
    /// <exception cref="ImageDecodeException">The data is truncated, corrupt, too large or unsupported.</exception>
    public static RgbImage Decode(byte[] data, ImageDecodeLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        var parser = new Parser(data, limits ?? ImageDecodeLimits.Default, headerOnly: false);
        parser.Run();
        return parser.Output();
    }

    internal static ImageDecodeException Corrupt(string detail) =>
        new(ImageDecodeFailureReason.Corrupt, $"malformed JPEG: {detail}.");

    internal static ImageDecodeException Unsupported(string detail) =>
        new(ImageDecodeFailureReason.Unsupported, $"the JPEG uses an unsupported feature: {detail}.");

    internal static ImageDecodeException Truncated(string detail) =>
        new(ImageDecodeFailureReason.Truncated, $"JPEG data ends early: {detail}.");

    /// <summary>One frame component and its decoding state.</summary>
    internal sealed class Component
    {
        internal int Id;
        internal int H;
        internal int V;
        internal int QuantIndex;
        internal int Index;

        // Quantisation table latched at the component's first scan (natural order, as libjpeg's 16-bit multipliers).
        internal short[]? Quant;

        // Samples per line/column after downsampling, and the blocks that hold them.
        internal int DownsampledWidth;
        internal int DownsampledHeight;
        internal int WidthInBlocks;
        internal int HeightInBlocks;

        // Coefficient buffer over the MCU-padded block grid (BlocksPerLine × BlocksPerColumn blocks of 64).
        internal int BlocksPerLine;
        internal int BlocksPerColumn;
        internal short[] Coefficients = [];

        // Progressive bookkeeping: the successive-approximation bit of each coefficient (-1 = never received).
        internal readonly int[] CoefBits = Enumerable.Repeat(-1, 64).ToArray();

        internal int DcPredictor;
        internal JpegHuffmanTable? DcTable;
        internal JpegHuffmanTable? AcTable;
    }

    private sealed class Parser
    {
        private readonly byte[] _data;
        private readonly ImageDecodeLimits _limits;
        private readonly bool _headerOnly;
        private readonly short[]?[] _quantTables = new short[4][];
        private readonly JpegHuffmanTable?[] _dcTables = new JpegHuffmanTable[4];
        private readonly JpegHuffmanTable?[] _acTables = new JpegHuffmanTable[4];
        private Component[] _components = [];
        private int _width;
        private int _height;
        private int _maxH;
        private int _maxV;
        private int _mcusPerLine;
        private int _mcusPerColumn;
        private bool _progressive;
        private bool _sawFrame;
        private int _scanCount;
        private int _restartInterval;
        private bool _sawJfif;
        private bool _sawAdobe;
        private int _adobeTransform;

        internal Parser(byte[] data, ImageDecodeLimits limits, bool headerOnly)
        {
            _data = data;
            _limits = limits;
            _headerOnly = headerOnly;
        }

        internal JpegFrameInfo FrameInfo { get; private set; }

        internal void Run()
        {
            byte[] d = _data;
            if (d.Length < 2 || d[0] != 0xFF || d[1] != 0xD8)
            {
                throw new ImageDecodeException(ImageDecodeFailureReason.UnknownFormat, "the data does not start with a JPEG SOI marker.");
            }

            int pos = 2;
            while (true)
            {
                // Find the next marker; libjpeg skips stray bytes between segments with a warning.
                while (pos < d.Length && d[pos] != 0xFF)
                {
                    pos++;
                }

                while (pos < d.Length && d[pos] == 0xFF)
                {
                    pos++;
                }

                if (pos >= d.Length)
                {
                    throw Truncated("no end-of-image marker (FFD9)");
                }

                byte marker = d[pos++];
                if (marker == 0xD9)
                {
                    if (!_sawFrame || _scanCount == 0)
                    {
                        throw Corrupt("end-of-image marker before any frame header and scan");
                    }

                    return;
                }

                if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7))
                {
                    continue; // stuffed byte or stand-alone marker outside a scan
                }

                if (marker == 0xD8)
                {
                    throw Corrupt($"second start-of-image marker at offset {pos - 2}");
                }

                if (pos + 2 > d.Length)
                {
                    throw Truncated($"segment FF{marker:X2} length missing");
                }

                int length = BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(pos, 2));
                if (length < 2)
                {
                    throw Corrupt($"segment FF{marker:X2} declares length {length}");
                }

                if (pos + length > d.Length)
                {
                    throw Truncated($"segment FF{marker:X2} needs {length} bytes, {d.Length - pos} left");
                }

                ReadOnlySpan<byte> payload = d.AsSpan(pos + 2, length - 2);
                int segmentEnd = pos + length;
                switch (marker)
                {
                    case 0xC0 or 0xC1 or 0xC2:
                        ReadFrame(payload, marker == 0xC2);
                        break;
                    case 0xC3 or 0xC5 or 0xC6 or 0xC7 or 0xDE or 0xDF:
                        throw Unsupported($"lossless or hierarchical coding (marker FF{marker:X2})");
                    case 0xC9 or 0xCA or 0xCB or 0xCD or 0xCE or 0xCF or 0xCC:
                        throw Unsupported($"arithmetic coding (marker FF{marker:X2})");
                    case 0xC8:
                        throw Unsupported("the reserved JPG extension frame marker (FFC8)");
                    case 0xC4:
                        ReadHuffmanTables(payload);
                        break;
                    case 0xDB:
                        ReadQuantTables(payload);
                        break;
                    case 0xDD:
                        if (payload.Length < 2)
                        {
                            throw Corrupt("DRI segment too short");
                        }

                        _restartInterval = BinaryPrimitives.ReadUInt16BigEndian(payload);
                        break;
                    case 0xE0:
                        // JFIF APP0: libjpeg needs at least 14 bytes of payload.
                        if (payload.Length >= 14 && payload[..5].SequenceEqual("JFIF\0"u8))
                        {
                            _sawJfif = true;
                        }

                        break;
                    case 0xEE:
                        // Adobe APP14: libjpeg needs at least 12 bytes of payload; byte 11 is the transform flag.
                        if (payload.Length >= 12 && payload[..5].SequenceEqual("Adobe"u8))
                        {
                            _sawAdobe = true;
                            _adobeTransform = payload[11];
                        }

                        break;
                    case 0xDA:
                        if (!_sawFrame)
                        {
                            throw Corrupt("scan before any frame header");
                        }

                        if (_scanCount == 0)
                        {
                            // libjpeg guesses the colour space once the headers up to the first scan are read.
                            FrameInfo = FrameInfo with { ColorSpace = GuessColorSpace() };
                            if (_headerOnly)
                            {
                                return;
                            }
                        }

                        if (_scanCount >= MaxScans)
                        {
                            // Every scan walks the whole block grid; a cap keeps hostile files from costing minutes.
                            throw new ImageDecodeException(
                                ImageDecodeFailureReason.TooLarge, $"the JPEG holds more than {MaxScans} scans.");
                        }

                        segmentEnd = ReadScan(payload, segmentEnd);
                        _scanCount++;
                        break;
                    default:
                        break; // APPn, COM, DNL and others carry nothing the pixels depend on
                }

                pos = segmentEnd;
            }
        }

        private void ReadFrame(ReadOnlySpan<byte> p, bool progressive)
        {
            if (_sawFrame)
            {
                throw Corrupt("more than one frame header");
            }

            if (p.Length < 6)
            {
                throw Corrupt("frame header too short");
            }

            int precision = p[0];
            _height = BinaryPrimitives.ReadUInt16BigEndian(p[1..]);
            _width = BinaryPrimitives.ReadUInt16BigEndian(p[3..]);
            int count = p[5];
            if (precision != 8)
            {
                throw Unsupported($"{precision}-bit samples (only 8-bit JPEG is supported)");
            }

            if (_height == 0)
            {
                throw Unsupported("a frame height defined by a DNL marker");
            }

            if (_width == 0)
            {
                throw Corrupt("the frame header declares width 0");
            }

            if (count is not (1 or 3 or 4))
            {
                throw Unsupported($"{count} colour components (1, 3 or 4 are supported)");
            }

            if (p.Length != 6 + (3 * count))
            {
                throw Corrupt("frame header length does not match its component count");
            }

            // A header-only read leaves the size limits to its caller.
            _components = new Component[count];
            if (!_headerOnly && (_width > _limits.MaxSide || _height > _limits.MaxSide))
            {
                throw new ImageDecodeException(
                    ImageDecodeFailureReason.TooLarge,
                    $"the JPEG is {_width}x{_height}; the largest side allowed is {_limits.MaxSide}.");
            }

            long pixels = (long)_width * _height;
            if (!_headerOnly && pixels > _limits.MaxPixels)
            {
                throw new ImageDecodeException(
                    ImageDecodeFailureReason.TooLarge,
                    $"the JPEG is {_width}x{_height} ({pixels} pixels); the limit is {_limits.MaxPixels}.");
            }

            for (int i = 0; i < count; i++)
            {
                ReadOnlySpan<byte> c = p.Slice(6 + (3 * i), 3);
                int h = c[1] >> 4;
                int v = c[1] & 15;
                if (h is < 1 or > 4 || v is < 1 or > 4)
                {
                    throw Corrupt($"component {c[0]} has sampling factors {h}x{v}");
                }

                if (c[2] > 3)
                {
                    throw Corrupt($"component {c[0]} uses quantisation table {c[2]}");
                }

                _components[i] = new Component { Id = c[0], H = h, V = v, QuantIndex = c[2], Index = i };
            }

            _maxH = _components.Max(c => c.H);
            _maxV = _components.Max(c => c.V);
            _mcusPerLine = DivUp(_width, 8 * _maxH);
            _mcusPerColumn = DivUp(_height, 8 * _maxV);
            foreach (Component c in _components)
            {
                c.DownsampledWidth = DivUp(_width * c.H, _maxH);
                c.DownsampledHeight = DivUp(_height * c.V, _maxV);
                c.WidthInBlocks = DivUp(c.DownsampledWidth, 8);
                c.HeightInBlocks = DivUp(c.DownsampledHeight, 8);
                c.BlocksPerLine = _mcusPerLine * c.H;
                c.BlocksPerColumn = _mcusPerColumn * c.V;
            }

            // libjpeg cannot upsample non-integral ratios either (JERR_FRACT_SAMPLE_NOTIMPL).
            foreach (Component c in _components)
            {
                if (_maxH % c.H != 0 || _maxV % c.V != 0)
                {
                    throw Unsupported($"non-integral sampling ratios ({c.H}x{c.V} against {_maxH}x{_maxV})");
                }
            }

            _progressive = progressive;
            _sawFrame = true;
            FrameInfo = new JpegFrameInfo(_width, _height, count, progressive, JpegColorSpace.YCbCr);
            if (_headerOnly)
            {
                return;
            }

            // Every buffer is sized from the header and checked before it is allocated.
            long limitBytes = (long)_limits.AllocationLimitMegabytes * 1024 * 1024;
            foreach (Component c in _components)
            {
                long coefBytes = (long)c.BlocksPerLine * c.BlocksPerColumn * 64 * sizeof(short);
                if (coefBytes > limitBytes || coefBytes / sizeof(short) > Array.MaxLength)
                {
                    throw new ImageDecodeException(
                        ImageDecodeFailureReason.TooLarge,
                        $"decoding the {_width}x{_height} JPEG needs a {coefBytes >> 20} MiB coefficient buffer; the limit is {_limits.AllocationLimitMegabytes} MiB.");
                }
            }

            if (pixels * 3 > limitBytes || pixels * 3 > Array.MaxLength)
            {
                throw new ImageDecodeException(
                    ImageDecodeFailureReason.TooLarge,
                    $"decoding the {_width}x{_height} JPEG needs a {(pixels * 3) >> 20} MiB pixel buffer; the limit is {_limits.AllocationLimitMegabytes} MiB.");
            }

            foreach (Component c in _components)
            {
                c.Coefficients = new short[(long)c.BlocksPerLine * c.BlocksPerColumn * 64];
            }
        }

        private JpegColorSpace GuessColorSpace()
        {
            // libjpeg-turbo's default_decompress_parms.
            switch (_components.Length)
            {
                case 1:
                    return JpegColorSpace.Grayscale;
                case 3:
                    if (_sawJfif)
                    {
                        return JpegColorSpace.YCbCr;
                    }

                    if (_sawAdobe)
                    {
                        return _adobeTransform == 0 ? JpegColorSpace.Rgb : JpegColorSpace.YCbCr;
                    }

                    if (_components[0].Id == 1 && _components[1].Id == 2 && _components[2].Id == 3)
                    {
                        return JpegColorSpace.YCbCr;
                    }

                    return _components[0].Id == 'R' && _components[1].Id == 'G' && _components[2].Id == 'B'
                        ? JpegColorSpace.Rgb
                        : JpegColorSpace.YCbCr;
                default:
                    if (_sawAdobe)
                    {
                        return _adobeTransform == 0 ? JpegColorSpace.Cmyk : JpegColorSpace.Ycck;
                    }

                    return JpegColorSpace.Cmyk;
            }
        }

        private void ReadQuantTables(ReadOnlySpan<byte> p)
        {
            while (p.Length > 0)
            {
                int pq = p[0] >> 4;
                int tq = p[0] & 15;
                if (pq > 1 || tq > 3)
                {
                    throw Corrupt($"DQT table {tq} with precision flag {pq}");
                }

                int size = pq == 0 ? 64 : 128;
                if (p.Length < 1 + size)
                {
                    throw Corrupt("DQT segment too short");
                }

                var table = new short[64];
                for (int k = 0; k < 64; k++)
                {
                    int q = pq == 0 ? p[1 + k] : BinaryPrimitives.ReadUInt16BigEndian(p.Slice(1 + (2 * k), 2));

                    // libjpeg keeps 16-bit values and multiplies with them as 16-bit signed integers.
                    table[JpegTables.NaturalOrder[k]] = unchecked((short)q);
                }

                _quantTables[tq] = table;
                p = p[(1 + size)..];
            }
        }

        private void ReadHuffmanTables(ReadOnlySpan<byte> p)
        {
            while (p.Length > 0)
            {
                if (p.Length < 17)
                {
                    throw Corrupt("DHT segment too short");
                }

                int tc = p[0] >> 4;
                int th = p[0] & 15;
                if (tc > 1 || th > 3)
                {
                    throw Corrupt($"DHT table class {tc} index {th}");
                }

                ReadOnlySpan<byte> counts = p.Slice(1, 16);
                int total = 0;
                foreach (byte n in counts)
                {
                    total += n;
                }

                if (total > 256 || p.Length < 17 + total)
                {
                    throw Corrupt("DHT segment declares more symbols than it holds");
                }

                var table = new JpegHuffmanTable(counts, p.Slice(17, total), isDc: tc == 0);
                (tc == 0 ? _dcTables : _acTables)[th] = table;
                p = p[(17 + total)..];
            }
        }

        private int ReadScan(ReadOnlySpan<byte> p, int dataStart)
        {
            if (p.Length < 1)
            {
                throw Corrupt("SOS segment too short");
            }

            int ns = p[0];
            if (ns is < 1 or > 4 || p.Length != 4 + (2 * ns))
            {
                throw Corrupt($"SOS segment with {ns} components and length {p.Length + 2}");
            }

            if (!_progressive && _scanCount == 0)
            {
                // Motion-JPEG frames often omit the standard tables: libjpeg-turbo's sequential Huffman decoder
                // installs the T.81 K.3 tables in slots 0 and 1 when they are still empty at the first scan.
                _dcTables[0] ??= new JpegHuffmanTable(JpegTables.StdDcLuminanceCounts, JpegTables.StdDcLuminanceValues, isDc: true);
                _acTables[0] ??= new JpegHuffmanTable(JpegTables.StdAcLuminanceCounts, JpegTables.StdAcLuminanceValues, isDc: false);
                _dcTables[1] ??= new JpegHuffmanTable(JpegTables.StdDcChrominanceCounts, JpegTables.StdDcChrominanceValues, isDc: true);
                _acTables[1] ??= new JpegHuffmanTable(JpegTables.StdAcChrominanceCounts, JpegTables.StdAcChrominanceValues, isDc: false);
            }

            var scan = new Component[ns];
            for (int i = 0; i < ns; i++)
            {
                int id = p[1 + (2 * i)];
                Component? c = Array.Find(_components, x => x.Id == id)
                    ?? throw Corrupt($"scan refers to unknown component {id}");
                if (Array.IndexOf(scan, c) >= 0)
                {
                    throw Corrupt($"scan lists component {id} twice");
                }

                int td = p[2 + (2 * i)] >> 4;
                int ta = p[2 + (2 * i)] & 15;
                if (td > 3 || ta > 3)
                {
                    throw Corrupt($"scan selects Huffman tables {td}/{ta}");
                }

                c.DcTable = _dcTables[td];
                c.AcTable = _acTables[ta];
                scan[i] = c;
            }

            int ss = p[1 + (2 * ns)];
            int se = p[2 + (2 * ns)];
            int ah = p[3 + (2 * ns)] >> 4;
            int al = p[3 + (2 * ns)] & 15;

            // Latch quantisation tables at each component's first scan, as libjpeg does.
            foreach (Component c in scan)
            {
                c.Quant ??= (short[]?)_quantTables[c.QuantIndex]?.Clone()
                    ?? throw Corrupt($"component {c.Id} uses quantisation table {c.QuantIndex}, which is not defined");
            }

            int dataEnd = FindScanEnd(dataStart);
            var reader = new JpegBitReader(_data, dataStart, dataEnd);
            var entropy = new JpegEntropyDecoder(reader, _restartInterval);
            if (!_progressive)
            {
                // libjpeg only warns about non-sequential parameters in a sequential frame and decodes 0..63.
                foreach (Component c in scan)
                {
                    RequireTables(c, dc: true, ac: true);
                }

                entropy.DecodeSequential(scan);
            }
            else
            {
                CheckProgression(scan, ss, se, ah, al);
                foreach (Component c in scan)
                {
                    RequireTables(c, dc: ss == 0 && ah == 0, ac: ss != 0);
                }

                entropy.DecodeProgressive(scan, ss, se, ah, al);
            }

            return dataEnd;
        }

        private static void RequireTables(Component c, bool dc, bool ac)
        {
            if ((dc && c.DcTable is null) || (ac && c.AcTable is null))
            {
                throw Corrupt($"a scan of component {c.Id} uses an undefined Huffman table");
            }
        }

        private static void CheckProgression(Component[] scan, int ss, int se, int ah, int al)
        {
            // libjpeg-turbo's start_pass_phuff_decoder: these are fatal there too.
            bool bad = ss == 0 ? se != 0 : ss > se || se > 63 || scan.Length != 1;
            if (ah != 0 && al != ah - 1)
            {
                bad = true;
            }

            if (al > 13)
            {
                bad = true;
            }

            if (bad)
            {
                throw Corrupt($"invalid progressive scan parameters Ss={ss} Se={se} Ah={ah} Al={al}");
            }

            // Coefficient bit bookkeeping (inconsistencies are only warnings in libjpeg).
            foreach (Component c in scan)
            {
                for (int k = ss; k <= se; k++)
                {
                    c.CoefBits[k] = al;
                }
            }
        }

        private int FindScanEnd(int pos)
        {
            byte[] d = _data;
            while (true)
            {
                int ff = Array.IndexOf(d, (byte)0xFF, pos);
                if (ff < 0)
                {
                    throw Truncated("scan data runs to the end without an end-of-image marker (FFD9)");
                }

                int next = ff + 1;
                while (next < d.Length && d[next] == 0xFF)
                {
                    next++;
                }

                if (next >= d.Length)
                {
                    throw Truncated("scan data runs to the end without an end-of-image marker (FFD9)");
                }

                byte b = d[next];
                if (b == 0x00 || (b >= 0xD0 && b <= 0xD7))
                {
                    pos = next + 1;
                    continue;
                }

                return next - 1;
            }
        }

        internal RgbImage Output()
        {
            return JpegPixelPipeline.Render(
                _components, _width, _height, _maxH, _maxV, FrameInfo.ColorSpace, _mcusPerColumn, _progressive && BlockSmoothingApplies());
        }

        private bool BlockSmoothingApplies()
        {
            // libjpeg-turbo's smoothing_ok(): with do_block_smoothing (the default) a progressive image whose DC is
            // known in every component but whose first nine AC coefficients are not all fully refined somewhere is
            // block-smoothed. Complete progressive files (every encoder's default scan script) never take that path.
            int[] positions = [0, 1, 8, 16, 9, 2, 3, 10, 17, 24];
            bool useful = false;
            foreach (Component c in _components)
            {
                short[]? q = c.Quant;
                if (q is null)
                {
                    return false;
                }

                foreach (int pos in positions)
                {
                    if (q[pos] == 0)
                    {
                        return false;
                    }
                }

                if (c.CoefBits[0] < 0)
                {
                    return false;
                }

                for (int k = 1; k < 10; k++)
                {
                    useful |= c.CoefBits[k] != 0;
                }
            }

            return useful;
        }

        private static int DivUp(int a, int b) => (int)(((long)a + b - 1) / b);
    }
}
