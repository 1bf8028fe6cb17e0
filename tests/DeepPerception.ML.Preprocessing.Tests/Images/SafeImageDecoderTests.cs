using System.Buffers.Binary;
using System.IO.Compression;
using DeepPerception.ML.Preprocessing.Images;

namespace DeepPerception.ML.Preprocessing.Tests.Images;

public sealed class SafeImageDecoderTests
{
    private static readonly string[] ValidSamples =
    [
        "sample.png", "sample.jpg", "sample_progressive.jpg", "sample.gif", "sample_lossy.webp", "sample_lossless.webp",
    ];

    private static byte[] ReadSample(string name) => File.ReadAllBytes(ImageFixtures.Sample(name));

    private static ImageDecodeException DecodeFails(byte[] data, SafeImageDecoder? decoder = null) =>
        Assert.Throws<ImageDecodeException>(() => (decoder ?? SafeImageDecoder.Default).Decode(data));

    [Theory]
    [InlineData("sample.png", ImageContainerFormat.Png)]
    [InlineData("sample.jpg", ImageContainerFormat.Jpeg)]
    [InlineData("sample_progressive.jpg", ImageContainerFormat.Jpeg)]
    [InlineData("sample.gif", ImageContainerFormat.Gif)]
    [InlineData("sample_lossy.webp", ImageContainerFormat.WebP)]
    [InlineData("sample_lossless.webp", ImageContainerFormat.WebP)]
    public void DecodesValidSamples(string name, ImageContainerFormat format)
    {
        byte[] data = ReadSample(name);
        ImageHeaderInfo info = SafeImageDecoder.Default.Inspect(data);
        RgbImage image = SafeImageDecoder.Default.Decode(data);

        Assert.Equal(new ImageHeaderInfo(format, 64, 48, 1), info);
        Assert.Equal((64, 48), (image.Width, image.Height));
        Assert.Equal(64 * 48 * 3, image.Pixels.Length);
    }

    [Fact]
    public void LosslessFormatsDecodeToTheSamePixelsAndLossyOnesStayClose()
    {
        RgbImage png = SafeImageDecoder.Default.Decode(ReadSample("sample.png"));
        RgbImage webpLossless = SafeImageDecoder.Default.Decode(ReadSample("sample_lossless.webp"));
        Assert.Equal(png.Pixels, webpLossless.Pixels);

        foreach (string lossy in new[] { "sample.jpg", "sample_progressive.jpg", "sample_lossy.webp" })
        {
            RgbImage image = SafeImageDecoder.Default.Decode(ReadSample(lossy));
            // The source is noisy, so lossy encoding alone costs ~14 levels on average; unrelated images differ by ~85.
            double mean = png.Pixels.Zip(image.Pixels, (a, b) => Math.Abs(a - b)).Average();
            Assert.True(mean < 25, $"{lossy}: mean |diff| {mean} against the PNG");
        }
    }

    [Theory]
    [InlineData("sample.png")]
    [InlineData("sample.gif")]
    [InlineData("sample_lossless.webp")]
    [InlineData("sample_lossy.webp")]
    [InlineData("rgba.png")]
    [InlineData("gray.png")]
    [InlineData("gray_alpha.png")]
    [InlineData("palette_trns.png")]
    [InlineData("sample.jpg")]
    [InlineData("sample_progressive.jpg")]
    [InlineData("sample_smooth.jpg")]
    public void DecodesLikePillowExactly(string name)
    {
        // JPEG goes through ManagedJpegDecoder, which reproduces libjpeg-turbo (Pillow's JPEG library) bit for bit.
        RgbImage image = SafeImageDecoder.Default.Decode(ReadSample(name));
        Assert.Equal(File.ReadAllBytes(ImageFixtures.Sample(name + ".pillow.rgb")), image.Pixels);
    }

    [Fact]
    public void PngNamedAsJpgIsSniffedFromItsContent()
    {
        string path = ImageFixtures.Sample("png_named_as.jpg");
        byte[] data = File.ReadAllBytes(path);
        Assert.Equal(ImageContainerFormat.Png, ImageContainerInspector.Sniff(data));
        RgbImage fromFile = SafeImageDecoder.Default.DecodeFile(path);
        Assert.Equal(SafeImageDecoder.Default.Decode(ReadSample("sample.png")).Pixels, fromFile.Pixels);
    }

    [Fact]
    public void StreamAndFileInputsDecode()
    {
        using FileStream stream = File.OpenRead(ImageFixtures.Sample("sample.gif"));
        RgbImage image = SafeImageDecoder.Default.Decode(stream);
        Assert.Equal((64, 48), (image.Width, image.Height));
    }

    [Fact]
    public void AnimatedGifKeepsTheFirstFrame()
    {
        byte[] data = ReadSample("anim3.gif");
        Assert.Equal(3, SafeImageDecoder.Default.Inspect(data).FrameCount);
        RgbImage image = SafeImageDecoder.Default.Decode(data);
        Assert.Equal((16, 12), (image.Width, image.Height));
        Assert.Equal([255, 0, 0], image.Pixels.AsSpan(0, 3).ToArray());
        Assert.Equal([255, 0, 0], image.Pixels.AsSpan(image.Pixels.Length - 3, 3).ToArray());
    }

    [Fact]
    public void AnimatedWebPIsUnsupported()
    {
        // The container walk counts its frames; the imaging library cannot decode animated WebP at all.
        byte[] data = ReadSample("anim3.webp");
        Assert.Equal(new ImageContainerInfo(ImageContainerFormat.WebP, 3), ImageContainerInspector.Inspect(data));
        Assert.Equal(ImageDecodeFailureReason.Unsupported, DecodeFails(data).Reason);
    }

    [Fact]
    public void ThousandFrameGifIsRejectedByTheFrameLimit()
    {
        byte[] data = ReadSample("frames1000.gif");
        ImageDecodeException ex = DecodeFails(data);
        Assert.Equal(ImageDecodeFailureReason.TooManyFrames, ex.Reason);
        Assert.Contains("1000 frames", ex.Message);

        // With a frame limit that allows it, only the first frame is decoded.
        var permissive = new SafeImageDecoder(new ImageDecodeLimits { MaxFrames = 1000 });
        RgbImage image = permissive.Decode(data);
        Assert.Equal((4, 4), (image.Width, image.Height));
    }

    [Theory]
    [InlineData("sample.jpg")]
    [InlineData("sample_progressive.jpg")]
    [InlineData("sample.png")]
    [InlineData("sample.gif")]
    [InlineData("sample_lossy.webp")]
    [InlineData("sample_lossless.webp")]
    public void HalfFilesAreTruncated(string name)
    {
        byte[] data = ReadSample(name);
        ImageDecodeException ex = DecodeFails(data[..(data.Length / 2)]);
        Assert.Equal(ImageDecodeFailureReason.Truncated, ex.Reason);
    }

    [Theory]
    [InlineData("sample.jpg", 2)]   // no EOI marker
    [InlineData("sample.png", 1)]   // IEND chunk cut
    [InlineData("sample.gif", 1)]   // no trailer
    [InlineData("sample_lossy.webp", 1)]
    public void FilesMissingOnlyTheirEndAreTruncated(string name, int cut)
    {
        byte[] data = ReadSample(name);
        Assert.Equal(ImageDecodeFailureReason.Truncated, DecodeFails(data[..^cut]).Reason);
    }

    [Fact]
    public void TrailingBytesAfterTheEndMarkerAreAccepted()
    {
        byte[] jpeg = [.. ReadSample("sample.jpg"), 0, 0, 0, 0];
        Assert.Equal(64, SafeImageDecoder.Default.Decode(jpeg).Width);
    }

    [Fact]
    public void EmptyInputIsEmpty()
    {
        Assert.Equal(ImageDecodeFailureReason.Empty, DecodeFails([]).Reason);
        var ex = Assert.Throws<ImageDecodeException>(() => SafeImageDecoder.Default.Decode(new MemoryStream()));
        Assert.Equal(ImageDecodeFailureReason.Empty, ex.Reason);
    }

    [Fact]
    public void GarbageIsUnknownFormat()
    {
        var garbage = new byte[2560];
        new Random(42).NextBytes(garbage);
        garbage[0] = 0x00; // 2560 random bytes that do not start with a supported signature
        ImageDecodeException ex = DecodeFails(garbage);
        Assert.Equal(ImageDecodeFailureReason.UnknownFormat, ex.Reason);
        Assert.Equal(ImageDecodeFailureReason.UnknownFormat, DecodeFails("BM not a bitmap"u8.ToArray()).Reason);
    }

    [Fact]
    public void GarbageBehindAValidSignatureIsRejected()
    {
        var random = new Random(7);
        byte[][] signatures =
        [
            [0xFF, 0xD8, 0xFF], [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "GIF89a"u8.ToArray(),
            [.. "RIFF"u8, 0xF4, 0x09, 0, 0, .. "WEBP"u8],
        ];
        foreach (byte[] signature in signatures)
        {
            var data = new byte[2560];
            random.NextBytes(data);
            signature.CopyTo(data, 0);
            ImageDecodeException ex = DecodeFails(data);
            Assert.True(ex.Reason is ImageDecodeFailureReason.Corrupt or ImageDecodeFailureReason.Truncated,
                $"{Convert.ToHexString(signature)}: {ex.Reason} {ex.Message}");
        }
    }

    [Fact]
    public void CorruptedBytesNeverEscapeAsOtherExceptions()
    {
        var random = new Random(1234);
        foreach (string name in ValidSamples)
        {
            byte[] original = ReadSample(name);
            for (int trial = 0; trial < 60; trial++)
            {
                byte[] data = (byte[])original.Clone();
                int flips = 1 + random.Next(8);
                for (int f = 0; f < flips; f++)
                {
                    data[random.Next(data.Length)] = (byte)random.Next(256);
                }

                try
                {
                    RgbImage image = SafeImageDecoder.Default.Decode(data);
                    Assert.Equal(image.Width * image.Height * 3, image.Pixels.Length);
                }
                catch (ImageDecodeException)
                {
                    // expected outcome for most corruptions
                }
            }
        }
    }

    [Fact]
    public void HeaderClaimingFiftyThousandSquaredIsTooLarge()
    {
        byte[] png = BuildPng(50000, 50000, colorType: 2, idat: ZlibCompress(new byte[16]));
        ImageDecodeException ex = DecodeFails(png);
        Assert.Equal(ImageDecodeFailureReason.TooLarge, ex.Reason);
        Assert.Contains("50000x50000", ex.Message);
    }

    [Fact]
    public void ZlibBombIsRejectedBeforeDecoding()
    {
        byte[] bomb = BuildZeroPngBomb(10000, 10000);
        Assert.True(bomb.Length < 1_000_000, $"bomb is {bomb.Length} bytes");
        ImageDecodeException ex = DecodeFails(bomb);
        Assert.Equal(ImageDecodeFailureReason.TooLarge, ex.Reason);
        Assert.Contains("10000x10000", ex.Message);
    }

    [Fact]
    public void ZlibBombThatPassesDimensionLimitsHitsTheAllocationLimit()
    {
        byte[] bomb = BuildZeroPngBomb(10000, 10000);
        var decoder = new SafeImageDecoder(new ImageDecodeLimits
        {
            MaxSide = 20000,
            MaxPixels = 400_000_000,
            AllocationLimitMegabytes = 64,
        });
        ImageDecodeException ex = DecodeFails(bomb, decoder);
        Assert.Equal(ImageDecodeFailureReason.TooLarge, ex.Reason);
        Assert.Contains("memory", ex.Message);
    }

    [Fact]
    public void FileSizeAndSideLimitsApply()
    {
        byte[] png = ReadSample("sample.png");
        var tinyFiles = new SafeImageDecoder(new ImageDecodeLimits { MaxFileBytes = 1000 });
        Assert.Equal(ImageDecodeFailureReason.TooLarge, DecodeFails(png, tinyFiles).Reason);
        var ex = Assert.Throws<ImageDecodeException>(() => tinyFiles.Decode(new MemoryStream(png)));
        Assert.Equal(ImageDecodeFailureReason.TooLarge, ex.Reason);

        var narrow = new SafeImageDecoder(new ImageDecodeLimits { MaxSide = 32 });
        Assert.Equal(ImageDecodeFailureReason.TooLarge, DecodeFails(png, narrow).Reason);
        var fewPixels = new SafeImageDecoder(new ImageDecodeLimits { MaxPixels = 64 * 48 - 1 });
        Assert.Equal(ImageDecodeFailureReason.TooLarge, DecodeFails(png, fewPixels).Reason);
    }

    [Fact]
    public void InvalidLimitsAreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SafeImageDecoder(new ImageDecodeLimits { MaxSide = 0 }));
    }

    [Fact]
    public void EncodePngRoundTrips()
    {
        var pixels = new byte[7 * 5 * 3];
        new Random(3).NextBytes(pixels);
        var image = new RgbImage(7, 5, pixels);
        byte[] png = SafeImageDecoder.EncodePng(image);
        Assert.Equal(ImageContainerFormat.Png, ImageContainerInspector.Sniff(png));
        Assert.Equal(pixels, SafeImageDecoder.Default.Decode(png).Pixels);
    }

    private static byte[] BuildZeroPngBomb(int width, int height)
    {
        // Grayscale 8-bit rows of zeros (filter byte 0 + width zero bytes), deflated: ~100 MB of pixels in ~100 KB.
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var row = new byte[width + 1];
            for (int y = 0; y < height; y++)
            {
                zlib.Write(row);
            }
        }

        return BuildPng(width, height, colorType: 0, idat: compressed.ToArray());
    }

    private static byte[] ZlibCompress(byte[] raw)
    {
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            zlib.Write(raw);
        }

        return compressed.ToArray();
    }

    private static byte[] BuildPng(int width, int height, byte colorType, byte[] idat)
    {
        using var png = new MemoryStream();
        png.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(0), width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8;          // bit depth
        ihdr[9] = colorType;  // 0 = gray, 2 = RGB
        WriteChunk(png, "IHDR", ihdr);
        WriteChunk(png, "IDAT", idat);
        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void WriteChunk(Stream stream, string type, byte[] data)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        stream.Write(length);
        byte[] typeAndData = [.. System.Text.Encoding.ASCII.GetBytes(type), .. data];
        stream.Write(typeAndData);
        Span<byte> crc = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typeAndData));
        stream.Write(crc);
    }

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
            }
        }

        return ~crc;
    }
}
