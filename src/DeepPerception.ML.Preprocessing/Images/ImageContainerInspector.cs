using System.Buffers.Binary;

namespace DeepPerception.ML.Preprocessing.Images;

/// <summary>Image container formats accepted by <see cref="SafeImageDecoder"/>.</summary>
public enum ImageContainerFormat
{
    /// <summary>Not a supported format.</summary>
    Unknown,

    /// <summary>JPEG (JFIF/EXIF).</summary>
    Jpeg,

    /// <summary>PNG.</summary>
    Png,

    /// <summary>GIF87a or GIF89a.</summary>
    Gif,

    /// <summary>WebP (RIFF container, lossy or lossless).</summary>
    WebP,
}

/// <summary>What a structural walk over a container found.</summary>
/// <param name="Format">The container format (from the content, never from a file name).</param>
/// <param name="FrameCount">Number of frames (1 for still images).</param>
public readonly record struct ImageContainerInfo(ImageContainerFormat Format, int FrameCount);

/// <summary>
/// Sniffs the format from the leading bytes and walks the container structure (JPEG markers, PNG chunks, GIF blocks,
/// WebP RIFF chunks) to reject truncated or malformed files before decoding. Decoders commonly return a partially
/// filled image for a truncated JPEG, GIF or WebP; this walk detects the missing end marker instead.
/// </summary>
public static class ImageContainerInspector
{
    private static ReadOnlySpan<byte> PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Identifies the format from the first bytes, or <see cref="ImageContainerFormat.Unknown"/>.</summary>
    public static ImageContainerFormat Sniff(ReadOnlySpan<byte> data)
    {
        if (data.Length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        {
            return ImageContainerFormat.Jpeg;
        }

        if (data.Length >= 8 && data[..8].SequenceEqual(PngSignature))
        {
            return ImageContainerFormat.Png;
        }

        if (data.Length >= 6 && data[..3].SequenceEqual("GIF"u8) &&
            (data.Slice(3, 3).SequenceEqual("87a"u8) || data.Slice(3, 3).SequenceEqual("89a"u8)))
        {
            return ImageContainerFormat.Gif;
        }

        if (data.Length >= 12 && data[..4].SequenceEqual("RIFF"u8) && data.Slice(8, 4).SequenceEqual("WEBP"u8))
        {
            return ImageContainerFormat.WebP;
        }

        return ImageContainerFormat.Unknown;
    }

    /// <summary>
    /// Sniffs and walks the container. Throws <see cref="ImageDecodeException"/> with reason
    /// <see cref="ImageDecodeFailureReason.Empty"/>, <see cref="ImageDecodeFailureReason.UnknownFormat"/>,
    /// <see cref="ImageDecodeFailureReason.Truncated"/> or <see cref="ImageDecodeFailureReason.Corrupt"/>.
    /// </summary>
    public static ImageContainerInfo Inspect(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            throw new ImageDecodeException(ImageDecodeFailureReason.Empty, "the input holds no bytes.");
        }

        ImageContainerFormat format = Sniff(data);
        return format switch
        {
            ImageContainerFormat.Jpeg => new(format, WalkJpeg(data)),
            ImageContainerFormat.Png => new(format, WalkPng(data)),
            ImageContainerFormat.Gif => new(format, WalkGif(data)),
            ImageContainerFormat.WebP => new(format, WalkWebP(data)),
            _ => throw new ImageDecodeException(
                ImageDecodeFailureReason.UnknownFormat,
                $"the content ({data.Length} bytes, starting {Hex(data)}) is not JPEG, PNG, GIF or WebP."),
        };
    }

    private static string Hex(ReadOnlySpan<byte> data) => Convert.ToHexString(data[..Math.Min(8, data.Length)]);

    private static ImageDecodeException Truncated(string format, string detail) =>
        new(ImageDecodeFailureReason.Truncated, $"{format} data ends early: {detail}.");

    private static ImageDecodeException Corrupt(string format, string detail) =>
        new(ImageDecodeFailureReason.Corrupt, $"malformed {format}: {detail}.");

    private static int WalkJpeg(ReadOnlySpan<byte> d)
    {
        int pos = 2; // after SOI
        bool sawFrame = false;
        bool sawScan = false;
        while (true)
        {
            // Find the next marker prefix; bytes between segments are tolerated like libjpeg does.
            while (pos < d.Length && d[pos] != 0xFF)
            {
                pos++;
            }

            // Skip fill bytes.
            while (pos < d.Length && d[pos] == 0xFF)
            {
                pos++;
            }

            if (pos >= d.Length)
            {
                throw Truncated("JPEG", "no end-of-image marker (FFD9)");
            }

            byte marker = d[pos++];
            if (marker == 0xD9)
            {
                if (!sawFrame || !sawScan)
                {
                    throw Corrupt("JPEG", "end-of-image marker before any frame header and scan");
                }

                return 1;
            }

            if (marker == 0xD8)
            {
                throw Corrupt("JPEG", $"second start-of-image marker at offset {pos - 2}");
            }

            if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x00)
            {
                continue; // stand-alone markers (TEM, RSTn); 0x00 would be a stuffed byte outside a scan
            }

            if (pos + 2 > d.Length)
            {
                throw Truncated("JPEG", $"segment FF{marker:X2} length missing");
            }

            int length = BinaryPrimitives.ReadUInt16BigEndian(d.Slice(pos, 2));
            if (length < 2)
            {
                throw Corrupt("JPEG", $"segment FF{marker:X2} declares length {length}");
            }

            if (pos + length > d.Length)
            {
                throw Truncated("JPEG", $"segment FF{marker:X2} needs {length} bytes, {d.Length - pos} left");
            }

            bool isFrame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
            sawFrame |= isFrame;
            pos += length;
            if (marker != 0xDA)
            {
                continue;
            }

            if (!sawFrame)
            {
                throw Corrupt("JPEG", "scan before any frame header");
            }

            sawScan = true;

            // Entropy-coded data: runs until a marker other than a stuffed zero or a restart marker.
            while (true)
            {
                int ff = d[pos..].IndexOf((byte)0xFF);
                if (ff < 0)
                {
                    throw Truncated("JPEG", "scan data runs to the end without an end-of-image marker (FFD9)");
                }

                pos += ff;
                int next = pos + 1;
                while (next < d.Length && d[next] == 0xFF)
                {
                    next++;
                }

                if (next >= d.Length)
                {
                    throw Truncated("JPEG", "scan data runs to the end without an end-of-image marker (FFD9)");
                }

                byte b = d[next];
                if (b == 0x00 || (b >= 0xD0 && b <= 0xD7))
                {
                    pos = next + 1;
                    continue;
                }

                pos = next - 1; // points at an 0xFF before the marker byte
                break;
            }
        }
    }

    private static int WalkPng(ReadOnlySpan<byte> d)
    {
        int pos = 8;
        bool first = true;
        bool sawData = false;
        while (true)
        {
            if (pos + 8 > d.Length)
            {
                throw Truncated("PNG", "no IEND chunk");
            }

            uint length = BinaryPrimitives.ReadUInt32BigEndian(d.Slice(pos, 4));
            ReadOnlySpan<byte> type = d.Slice(pos + 4, 4);
            if (length > int.MaxValue)
            {
                throw Corrupt("PNG", $"chunk length {length} at offset {pos}");
            }

            foreach (byte t in type)
            {
                if (!((t >= (byte)'A' && t <= (byte)'Z') || (t >= (byte)'a' && t <= (byte)'z')))
                {
                    throw Corrupt("PNG", $"invalid chunk type at offset {pos + 4}");
                }
            }

            if (first && !type.SequenceEqual("IHDR"u8))
            {
                throw Corrupt("PNG", "the first chunk is not IHDR");
            }

            first = false;
            if ((long)pos + 12 + length > d.Length)
            {
                throw Truncated("PNG", $"chunk {System.Text.Encoding.ASCII.GetString(type)} needs {length} data bytes");
            }

            if (type.SequenceEqual("IDAT"u8))
            {
                sawData = true;
            }

            if (type.SequenceEqual("IEND"u8))
            {
                if (!sawData)
                {
                    throw Corrupt("PNG", "no IDAT chunk before IEND");
                }

                return 1;
            }

            pos += 12 + (int)length;
        }
    }

    private static int WalkGif(ReadOnlySpan<byte> d)
    {
        if (d.Length < 13)
        {
            throw Truncated("GIF", "logical screen descriptor incomplete");
        }

        int pos = 13;
        byte packed = d[10];
        if ((packed & 0x80) != 0)
        {
            pos += 3 * (1 << ((packed & 7) + 1));
        }

        int frames = 0;
        while (true)
        {
            if (pos >= d.Length)
            {
                throw Truncated("GIF", "no trailer (0x3B)");
            }

            byte block = d[pos++];
            switch (block)
            {
                case 0x3B:
                    if (frames == 0)
                    {
                        throw Corrupt("GIF", "no image descriptor before the trailer");
                    }

                    return frames;
                case 0x21:
                    if (pos >= d.Length)
                    {
                        throw Truncated("GIF", "extension label missing");
                    }

                    pos = SkipGifSubBlocks(d, pos + 1);
                    break;
                case 0x2C:
                    if (pos + 9 > d.Length)
                    {
                        throw Truncated("GIF", "image descriptor incomplete");
                    }

                    byte imagePacked = d[pos + 8];
                    pos += 9;
                    if ((imagePacked & 0x80) != 0)
                    {
                        pos += 3 * (1 << ((imagePacked & 7) + 1));
                    }

                    pos += 1; // LZW minimum code size
                    if (pos > d.Length)
                    {
                        throw Truncated("GIF", "image data missing");
                    }

                    pos = SkipGifSubBlocks(d, pos);
                    frames++;
                    break;
                default:
                    throw Corrupt("GIF", $"unexpected block introducer 0x{block:X2} at offset {pos - 1}");
            }
        }
    }

    private static int SkipGifSubBlocks(ReadOnlySpan<byte> d, int pos)
    {
        while (true)
        {
            if (pos >= d.Length)
            {
                throw Truncated("GIF", "data sub-blocks end without a terminator");
            }

            int size = d[pos];
            pos += 1;
            if (size == 0)
            {
                return pos;
            }

            pos += size;
        }
    }

    private static int WalkWebP(ReadOnlySpan<byte> d)
    {
        long riffEnd = 8L + BinaryPrimitives.ReadUInt32LittleEndian(d.Slice(4, 4));
        if (riffEnd > d.Length)
        {
            throw Truncated("WebP", $"the RIFF header declares {riffEnd} bytes but only {d.Length} are present");
        }

        int pos = 12;
        int frames = 0;
        bool sawImage = false;
        bool first = true;
        while (pos + 8 <= riffEnd)
        {
            ReadOnlySpan<byte> fourCc = d.Slice(pos, 4);
            long size = BinaryPrimitives.ReadUInt32LittleEndian(d.Slice(pos + 4, 4));
            long end = pos + 8 + size;
            if (end > riffEnd)
            {
                throw Corrupt("WebP", $"chunk {System.Text.Encoding.ASCII.GetString(fourCc)} overruns the RIFF container");
            }

            bool isImage = fourCc.SequenceEqual("VP8 "u8) || fourCc.SequenceEqual("VP8L"u8);
            if (first && !isImage && !fourCc.SequenceEqual("VP8X"u8))
            {
                throw Corrupt("WebP", "the first chunk is not VP8, VP8L or VP8X");
            }

            first = false;
            if (isImage)
            {
                sawImage = true;
            }
            else if (fourCc.SequenceEqual("ANMF"u8))
            {
                sawImage = true;
                frames++;
            }

            pos = (int)(end + (size & 1));
        }

        if (!sawImage)
        {
            throw Corrupt("WebP", "no image data chunk");
        }

        return Math.Max(frames, 1);
    }
}
