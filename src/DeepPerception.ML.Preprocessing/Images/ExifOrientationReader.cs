using System.Buffers.Binary;

namespace DeepPerception.ML.Preprocessing.Images;

/// <summary>
/// Reads the EXIF Orientation tag (0x0112) of untrusted image data the way Pillow does for
/// <c>ImageOps.exif_transpose</c>: from the first JPEG APP1 segment that starts with <c>Exif\0\0</c>, from a PNG
/// <c>eXIf</c> chunk, or from the <c>EXIF</c> chunk of an extended (VP8X) WebP; GIF has no EXIF. Only IFD0 of the
/// embedded TIFF structure is read (both byte orders), entry by entry, so no offset chain is followed and nothing can
/// loop. The tag counts like in Pillow (see <see cref="ReadTiff"/>). Every read is bounds-checked: missing, truncated,
/// malformed or hostile EXIF yields <see cref="ExifOrientation.Normal"/> and never an exception.
/// </summary>
public static class ExifOrientationReader
{
    private const ushort OrientationTag = 0x0112;
    private const int TypeByte = 1;
    private const int TypeAscii = 2;
    private const int TypeShort = 3;
    private const int TypeLong = 4;
    private const int TypeRational = 5;
    private const int TypeSignedByte = 6;
    private const int TypeUndefined = 7;
    private const int TypeSignedShort = 8;
    private const int TypeSignedLong = 9;
    private const int TypeSignedRational = 10;
    private const int TypeFloat = 11;
    private const int TypeDouble = 12;
    private const int TypeIfd = 13;
    private const int TypeLong8 = 16;

    private static ReadOnlySpan<byte> ExifPrefix => "Exif\0\0"u8;

    /// <summary>Sniffs the container and reads its orientation; <see cref="ExifOrientation.Normal"/> when there is none.</summary>
    public static ExifOrientation Read(ReadOnlySpan<byte> data) => ImageContainerInspector.Sniff(data) switch
    {
        ImageContainerFormat.Jpeg => ReadJpeg(data),
        ImageContainerFormat.Png => ReadPng(data),
        ImageContainerFormat.WebP => ReadWebP(data),
        _ => ExifOrientation.Normal,
    };

    /// <summary>
    /// Reads the orientation of a JPEG: the marker segments before the first scan are walked and the first APP1
    /// segment whose payload starts with <c>Exif\0\0</c> decides (the prefix is stripped once, as Pillow does).
    /// </summary>
    public static ExifOrientation ReadJpeg(ReadOnlySpan<byte> data)
    {
        if (data.Length < 4 || data[0] != 0xFF || data[1] != 0xD8)
        {
            return ExifOrientation.Normal;
        }

        int pos = 2;
        while (pos < data.Length)
        {
            if (data[pos] != 0xFF)
            {
                return ExifOrientation.Normal;
            }

            while (pos < data.Length && data[pos] == 0xFF)
            {
                pos++;
            }

            if (pos >= data.Length)
            {
                return ExifOrientation.Normal;
            }

            byte marker = data[pos++];
            if (marker is 0xDA or 0xD9)
            {
                // Start of scan or end of image: EXIF is only honoured before the first scan.
                return ExifOrientation.Normal;
            }

            if (marker is 0x01 or (>= 0xD0 and <= 0xD7))
            {
                continue; // markers without a length
            }

            if (pos + 2 > data.Length)
            {
                return ExifOrientation.Normal;
            }

            int length = BinaryPrimitives.ReadUInt16BigEndian(data.Slice(pos, 2));
            if (length < 2 || pos + length > data.Length)
            {
                return ExifOrientation.Normal;
            }

            ReadOnlySpan<byte> payload = data.Slice(pos + 2, length - 2);
            if (marker == 0xE1 && payload.StartsWith(ExifPrefix))
            {
                return ReadTiff(payload[ExifPrefix.Length..]);
            }

            pos += length;
        }

        return ExifOrientation.Normal;
    }

    /// <summary>
    /// Reads the orientation of a PNG from its <c>eXIf</c> chunk (raw TIFF data): the last one before the first IDAT,
    /// or else the last one after it (the chunks Pillow ends up with).
    /// </summary>
    public static ExifOrientation ReadPng(ReadOnlySpan<byte> data)
    {
        const int signatureLength = 8;
        int pos = signatureLength;
        int beforeData = -1;
        int beforeDataLength = 0;
        int afterData = -1;
        int afterDataLength = 0;
        bool sawData = false;
        while (pos + 8 <= data.Length)
        {
            uint length = BinaryPrimitives.ReadUInt32BigEndian(data.Slice(pos, 4));
            ReadOnlySpan<byte> type = data.Slice(pos + 4, 4);
            if (length > int.MaxValue || pos + 12L + length > data.Length)
            {
                break;
            }

            if (type.SequenceEqual("eXIf"u8))
            {
                if (sawData)
                {
                    (afterData, afterDataLength) = (pos + 8, (int)length);
                }
                else
                {
                    (beforeData, beforeDataLength) = (pos + 8, (int)length);
                }
            }
            else if (type.SequenceEqual("IDAT"u8))
            {
                sawData = true;
            }
            else if (type.SequenceEqual("IEND"u8))
            {
                break;
            }

            pos += 12 + (int)length;
        }

        if (beforeData >= 0)
        {
            return ReadTiff(data.Slice(beforeData, beforeDataLength));
        }

        return afterData >= 0 ? ReadTiff(data.Slice(afterData, afterDataLength)) : ExifOrientation.Normal;
    }

    /// <summary>
    /// Reads the orientation of an extended WebP (first chunk VP8X) from its first <c>EXIF</c> chunk, with or without
    /// a leading <c>Exif\0\0</c>. A simple WebP (first chunk VP8 or VP8L) carries no metadata.
    /// </summary>
    public static ExifOrientation ReadWebP(ReadOnlySpan<byte> data)
    {
        if (data.Length < 20 || !data[..4].SequenceEqual("RIFF"u8) || !data.Slice(8, 4).SequenceEqual("WEBP"u8) ||
            !data.Slice(12, 4).SequenceEqual("VP8X"u8))
        {
            return ExifOrientation.Normal;
        }

        long end = Math.Min(data.Length, 8L + BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(4, 4)));
        long pos = 12;
        while (pos + 8 <= end)
        {
            ReadOnlySpan<byte> fourCc = data.Slice((int)pos, 4);
            long size = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice((int)pos + 4, 4));
            if (pos + 8 + size > end)
            {
                break;
            }

            if (fourCc.SequenceEqual("EXIF"u8))
            {
                ReadOnlySpan<byte> exif = data.Slice((int)pos + 8, (int)size);
                return ReadTiff(exif.StartsWith(ExifPrefix) ? exif[ExifPrefix.Length..] : exif);
            }

            pos += 8 + size + (size & 1);
        }

        return ExifOrientation.Normal;
    }

    /// <summary>
    /// Reads the Orientation tag from IFD0 of a TIFF structure (<c>II*\0</c> or <c>MM\0*</c> header), the payload of
    /// an EXIF block after any <c>Exif\0\0</c> prefix. Entries are read until the declared count or the end of the
    /// data, whichever comes first. As in Pillow, an entry of an unknown type, with no values or with values outside
    /// the data is skipped; otherwise the last Orientation entry decides, by its first value, which counts when it
    /// is a number (any integer, rational or floating-point TIFF type) equal to an integer from 1 to 8.
    /// </summary>
    public static ExifOrientation ReadTiff(ReadOnlySpan<byte> tiff)
    {
        if (tiff.Length < 8)
        {
            return ExifOrientation.Normal;
        }

        bool little;
        if (tiff[0] == (byte)'I' && tiff[1] == (byte)'I' && tiff[2] == 42 && tiff[3] == 0)
        {
            little = true;
        }
        else if (tiff[0] == (byte)'M' && tiff[1] == (byte)'M' && tiff[2] == 0 && tiff[3] == 42)
        {
            little = false;
        }
        else
        {
            return ExifOrientation.Normal;
        }

        uint ifd = ReadUInt32(tiff[4..], little);
        if (ifd > (uint)(tiff.Length - 2))
        {
            return ExifOrientation.Normal;
        }

        int count = ReadUInt16(tiff[(int)ifd..], little);
        long entriesEnd = Math.Min(tiff.Length, ifd + 2L + (12L * count));
        ExifOrientation result = ExifOrientation.Normal;
        for (long entry = ifd + 2; entry + 12 <= entriesEnd; entry += 12)
        {
            ReadOnlySpan<byte> e = tiff.Slice((int)entry, 12);
            if (ReadUInt16(e, little) != OrientationTag)
            {
                continue;
            }

            int type = ReadUInt16(e[2..], little);
            int unit = UnitSize(type);
            long size = unit * (long)ReadUInt32(e[4..], little);
            if (unit == 0 || size == 0)
            {
                continue;
            }

            ReadOnlySpan<byte> first;
            if (size <= 4)
            {
                first = e.Slice(8, unit);
            }
            else
            {
                uint offset = ReadUInt32(e[8..], little);
                if (offset + size > tiff.Length)
                {
                    continue;
                }

                first = tiff.Slice((int)offset, unit);
            }

            double value = FirstValue(type, first, little);
            result = value is >= 1 and <= 8 && value == Math.Floor(value) ? (ExifOrientation)(int)value : ExifOrientation.Normal;
        }

        return result;
    }

    // Bytes per value of each TIFF field type Pillow reads; 0 for types it skips.
    private static int UnitSize(int type) => type switch
    {
        TypeByte or TypeAscii or TypeSignedByte or TypeUndefined => 1,
        TypeShort or TypeSignedShort => 2,
        TypeLong or TypeSignedLong or TypeFloat or TypeIfd => 4,
        TypeRational or TypeSignedRational or TypeDouble or TypeLong8 => 8,
        _ => 0,
    };

    // The first value as a number; NaN for the byte, text and undefined types (Pillow keeps those as bytes or text,
    // which never match an orientation).
    private static double FirstValue(int type, ReadOnlySpan<byte> v, bool little)
    {
        switch (type)
        {
            case TypeShort:
                return ReadUInt16(v, little);
            case TypeSignedShort:
                return (short)ReadUInt16(v, little);
            case TypeLong or TypeIfd:
                return ReadUInt32(v, little);
            case TypeSignedLong:
                return (int)ReadUInt32(v, little);
            case TypeSignedByte:
                return (sbyte)v[0];
            case TypeLong8:
                return ReadUInt64(v, little);
            case TypeFloat:
                return BitConverter.Int32BitsToSingle((int)ReadUInt32(v, little));
            case TypeDouble:
                return BitConverter.Int64BitsToDouble((long)ReadUInt64(v, little));
            case TypeRational:
            {
                uint denominator = ReadUInt32(v[4..], little);
                return denominator == 0 ? double.NaN : (double)ReadUInt32(v, little) / denominator;
            }

            case TypeSignedRational:
            {
                int denominator = (int)ReadUInt32(v[4..], little);
                return denominator == 0 ? double.NaN : (double)(int)ReadUInt32(v, little) / denominator;
            }

            default:
                return double.NaN;
        }
    }

    private static ulong ReadUInt64(ReadOnlySpan<byte> s, bool little) =>
        little ? BinaryPrimitives.ReadUInt64LittleEndian(s) : BinaryPrimitives.ReadUInt64BigEndian(s);

    private static ushort ReadUInt16(ReadOnlySpan<byte> s, bool little) =>
        little ? BinaryPrimitives.ReadUInt16LittleEndian(s) : BinaryPrimitives.ReadUInt16BigEndian(s);

    private static uint ReadUInt32(ReadOnlySpan<byte> s, bool little) =>
        little ? BinaryPrimitives.ReadUInt32LittleEndian(s) : BinaryPrimitives.ReadUInt32BigEndian(s);
}
