using System.Security.Cryptography;
using System.Text.Json;
using DeepPerception.ML.Preprocessing.Images;
using DeepPerception.ML.Preprocessing.Images.Jpeg;

namespace DeepPerception.ML.Preprocessing.Tests.Images;

public sealed class ManagedJpegDecoderTests
{
    private static readonly Lazy<JsonElement[]> Manifest = new(() =>
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(JpegDirectory, "manifest.json")));
        return doc.RootElement.GetProperty("files").EnumerateArray().Select(e => e.Clone()).ToArray();
    });

    private static string JpegDirectory => Path.Combine(ImageFixtures.FixturesDirectory, "jpeg");

    private static byte[] ReadJpeg(string name) => File.ReadAllBytes(Path.Combine(JpegDirectory, "files", name + ".jpg"));

    private static JsonElement Entry(string name) =>
        Manifest.Value.Single(e => e.GetProperty("name").GetString() == name);

    public static TheoryData<string> ExactFiles()
    {
        var data = new TheoryData<string>();
        foreach (JsonElement e in Manifest.Value.Where(e => e.GetProperty("expect").GetString() == "exact"))
        {
            data.Add(e.GetProperty("name").GetString()!);
        }

        return data;
    }

    public static TheoryData<string, string> RejectedFiles()
    {
        var data = new TheoryData<string, string>();
        foreach (JsonElement e in Manifest.Value.Where(e => e.GetProperty("expect").GetString() != "exact"))
        {
            data.Add(e.GetProperty("name").GetString()!, e.GetProperty("expect").GetString()!);
        }

        return data;
    }

    [Fact]
    public void TheFixtureSetCoversTheCodingModes()
    {
        Assert.True(ExactFiles().Count >= 40, $"{ExactFiles().Count} exact fixtures");
        Assert.True(RejectedFiles().Count >= 4);
        Assert.Contains(Manifest.Value, e => e.TryGetProperty("pillow_mode", out JsonElement m) && m.GetString() == "CMYK");
    }

    [Theory]
    [MemberData(nameof(ExactFiles))]
    public void DecodesBitIdenticallyToPillow(string name)
    {
        JsonElement entry = Entry(name);
        byte[] expected = File.ReadAllBytes(Path.Combine(JpegDirectory, "files", name + ".rgb"));
        Assert.Equal(entry.GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(expected)));

        RgbImage image = ManagedJpegDecoder.Decode(ReadJpeg(name));

        Assert.Equal((entry.GetProperty("width").GetInt32(), entry.GetProperty("height").GetInt32()), (image.Width, image.Height));
        int mismatches = 0;
        int first = -1;
        int maxDiff = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            int diff = Math.Abs(expected[i] - image.Pixels[i]);
            if (diff != 0)
            {
                mismatches++;
                maxDiff = Math.Max(maxDiff, diff);
                if (first < 0)
                {
                    first = i;
                }
            }
        }

        Assert.True(
            mismatches == 0,
            $"{name}: {mismatches} of {expected.Length} bytes differ (max {maxDiff}); first at pixel " +
            $"({first / 3 % Math.Max(image.Width, 1)}, {first / 3 / Math.Max(image.Width, 1)}) channel {first % 3}");
    }

    [Theory]
    [MemberData(nameof(ExactFiles))]
    public void TheHardenedDecoderUsesTheManagedJpegDecoder(string name)
    {
        byte[] data = ReadJpeg(name);
        byte[] expected = File.ReadAllBytes(Path.Combine(JpegDirectory, "files", name + ".rgb"));
        Assert.Equal(expected, SafeImageDecoder.Default.Decode(data).Pixels);
        ImageHeaderInfo info = SafeImageDecoder.Default.Inspect(data);
        Assert.Equal(ImageContainerFormat.Jpeg, info.Format);
    }

    [Theory]
    [MemberData(nameof(RejectedFiles))]
    public void RejectsUnsupportedCodingWithATypedReason(string name, string reason)
    {
        byte[] data = ReadJpeg(name);
        var ex = Assert.Throws<ImageDecodeException>(() => ManagedJpegDecoder.Decode(data));
        Assert.Equal(Enum.Parse<ImageDecodeFailureReason>(reason), ex.Reason);
        var viaSafe = Assert.Throws<ImageDecodeException>(() => SafeImageDecoder.Default.Decode(data));
        Assert.Equal(ex.Reason, viaSafe.Reason);
    }

    [Fact]
    public void FrameInfoReportsTheColorSpaceLibjpegAssumes()
    {
        Assert.Equal(new JpegFrameInfo(64, 48, 3, false, JpegColorSpace.YCbCr), ManagedJpegDecoder.ReadFrameInfo(ReadJpeg("q75_444_64x48")));
        Assert.Equal(new JpegFrameInfo(45, 31, 1, false, JpegColorSpace.Grayscale), ManagedJpegDecoder.ReadFrameInfo(ReadJpeg("q85_grey_45x31")));
        Assert.Equal(JpegColorSpace.Rgb, ManagedJpegDecoder.ReadFrameInfo(ReadJpeg("cj_rgb_30x20")).ColorSpace);
        Assert.Equal(JpegColorSpace.Rgb, ManagedJpegDecoder.ReadFrameInfo(ReadJpeg("cj_rgb_ids_only_30x20")).ColorSpace);
        Assert.Equal(JpegColorSpace.Rgb, ManagedJpegDecoder.ReadFrameInfo(ReadJpeg("cj_rgb_adobe_only_30x20")).ColorSpace);
        Assert.Equal(JpegColorSpace.YCbCr, ManagedJpegDecoder.ReadFrameInfo(ReadJpeg("pil_jfif_rgb_ids_30x20")).ColorSpace);
        Assert.Equal(JpegColorSpace.Cmyk, ManagedJpegDecoder.ReadFrameInfo(ReadJpeg("q90_420_cmyk_24x16")).ColorSpace);
        Assert.Equal(JpegColorSpace.Ycck, ManagedJpegDecoder.ReadFrameInfo(ReadJpeg("q90_420_ycck_24x16")).ColorSpace);
        Assert.True(ManagedJpegDecoder.ReadFrameInfo(ReadJpeg("q80_420_prog_64x48")).Progressive);
    }

    [Theory]
    [InlineData("q60_420_200x150")]
    [InlineData("q80_420_prog_64x48")]
    [InlineData("cj_restart1_420_61x35")]
    [InlineData("q85_grey_45x31")]
    public void TruncatedFilesRaiseTheTruncationReason(string name)
    {
        byte[] data = ReadJpeg(name);
        foreach (int keep in new[] { data.Length / 2, data.Length - 40, data.Length - 2, 200 })
        {
            var ex = Assert.Throws<ImageDecodeException>(() => ManagedJpegDecoder.Decode(data[..keep]));
            Assert.Equal(ImageDecodeFailureReason.Truncated, ex.Reason);
        }
    }

    [Theory]
    [InlineData("q60_420_200x150")]
    [InlineData("q80_420_prog_64x48")]
    public void ScanDataCutShortBeforeTheEndMarkerIsTruncated(string name)
    {
        // Drop the second half of the entropy-coded data but keep a well-formed end-of-image marker.
        byte[] data = ReadJpeg(name);
        byte[] cut = [.. data[..(data.Length * 2 / 3)], 0xFF, 0xD9];
        var ex = Assert.Throws<ImageDecodeException>(() => ManagedJpegDecoder.Decode(cut));
        Assert.True(ex.Reason is ImageDecodeFailureReason.Truncated or ImageDecodeFailureReason.Corrupt, ex.Message);
    }

    [Fact]
    public void CorruptedFilesNeverEscapeAsOtherExceptions()
    {
        var random = new Random(99);
        string[] names = ["q60_420_200x150", "q80_420_prog_64x48", "cj_restart3b_420_45x40", "cj_succ_approx_40x32",
            "q90_420_cmyk_24x16", "cj_h3v1_31x9"];
        foreach (string name in names)
        {
            byte[] original = ReadJpeg(name);
            for (int trial = 0; trial < 150; trial++)
            {
                byte[] data = (byte[])original.Clone();
                int flips = 1 + random.Next(6);
                for (int f = 0; f < flips; f++)
                {
                    data[random.Next(2, data.Length)] = (byte)random.Next(256);
                }

                try
                {
                    RgbImage image = ManagedJpegDecoder.Decode(data);
                    Assert.Equal(image.Width * image.Height * 3, image.Pixels.Length);
                }
                catch (ImageDecodeException)
                {
                    // a typed rejection is the expected outcome for most corruptions
                }
            }
        }
    }

    [Fact]
    public void FrameSizeIsCheckedAgainstTheLimitsBeforeDecoding()
    {
        byte[] data = ReadJpeg("q60_420_200x150");
        var narrow = new ImageDecodeLimits { MaxSide = 199 };
        Assert.Equal(ImageDecodeFailureReason.TooLarge, Assert.Throws<ImageDecodeException>(() => ManagedJpegDecoder.Decode(data, narrow)).Reason);
        var fewPixels = new ImageDecodeLimits { MaxPixels = 200 * 150 - 1 };
        Assert.Equal(ImageDecodeFailureReason.TooLarge, Assert.Throws<ImageDecodeException>(() => ManagedJpegDecoder.Decode(data, fewPixels)).Reason);

        // A 65500x65500 frame header in a few hundred bytes: rejected from the header alone.
        byte[] huge = (byte[])data.Clone();
        int sof = FindMarker(huge, 0xC0);
        huge[sof + 5] = 0xFF;
        huge[sof + 6] = 0xDC;
        huge[sof + 7] = 0xFF;
        huge[sof + 8] = 0xDC;
        var ex = Assert.Throws<ImageDecodeException>(() => SafeImageDecoder.Default.Decode(huge));
        Assert.Equal(ImageDecodeFailureReason.TooLarge, ex.Reason);
        Assert.Contains("65500x65500", ex.Message);
        var permissive = new ImageDecodeLimits { MaxSide = 70000, MaxPixels = 5_000_000_000, AllocationLimitMegabytes = 64 };
        ex = Assert.Throws<ImageDecodeException>(() => ManagedJpegDecoder.Decode(huge, permissive));
        Assert.Equal(ImageDecodeFailureReason.TooLarge, ex.Reason);
        Assert.Contains("MiB", ex.Message);
    }

    [Fact]
    public void TheNumberOfScansIsCapped()
    {
        // A 1x1 greyscale file whose single scan is repeated: each scan is valid on its own (the last one wins).
        byte[] data = ReadJpeg("q85_grey_1x1");
        int sos = FindMarker(data, 0xDA);
        byte[] head = data[..sos];
        byte[] scan = data[sos..^2];
        byte[] Repeat(int count) => [.. head, .. Enumerable.Range(0, count).SelectMany(_ => scan), 0xFF, 0xD9];

        byte[] expected = File.ReadAllBytes(Path.Combine(JpegDirectory, "files", "q85_grey_1x1.rgb"));
        Assert.Equal(expected, ManagedJpegDecoder.Decode(Repeat(ManagedJpegDecoder.MaxScans)).Pixels);
        var ex = Assert.Throws<ImageDecodeException>(() => ManagedJpegDecoder.Decode(Repeat(ManagedJpegDecoder.MaxScans + 1)));
        Assert.Equal(ImageDecodeFailureReason.TooLarge, ex.Reason);
        Assert.Contains("scans", ex.Message);
    }

    [Fact]
    public void MalformedHeadersAreCorrupt()
    {
        byte[] data = ReadJpeg("q75_444_64x48");
        int sof = FindMarker(data, 0xC0);

        byte[] badSampling = (byte[])data.Clone();
        badSampling[sof + 11] = 0x50; // first component 5x0
        Assert.Equal(ImageDecodeFailureReason.Corrupt, Assert.Throws<ImageDecodeException>(() => ManagedJpegDecoder.Decode(badSampling)).Reason);

        byte[] twoComponents = (byte[])data.Clone();
        twoComponents[sof + 9] = 2;
        Assert.Equal(ImageDecodeFailureReason.Unsupported, Assert.Throws<ImageDecodeException>(() => ManagedJpegDecoder.Decode(twoComponents)).Reason);

        int sos = FindMarker(data, 0xDA);
        byte[] unknownComponent = (byte[])data.Clone();
        unknownComponent[sos + 5] = 9;
        Assert.Equal(ImageDecodeFailureReason.Corrupt, Assert.Throws<ImageDecodeException>(() => ManagedJpegDecoder.Decode(unknownComponent)).Reason);

        int dqt = FindMarker(data, 0xDB);
        byte[] noTables = [.. data[..dqt], .. data[(dqt + 2 + ((data[dqt + 2] << 8) | data[dqt + 3]))..]];
        Assert.Equal(ImageDecodeFailureReason.Corrupt, Assert.Throws<ImageDecodeException>(() => ManagedJpegDecoder.Decode(noTables)).Reason);
    }

    [Fact]
    public void ExifOrientationIsNotApplied()
    {
        // Image.open(...).convert("RGB") keeps the stored orientation, and so did the previous decoder.
        RgbImage image = ManagedJpegDecoder.Decode(ReadJpeg("q90_420_exif6_30x20"));
        Assert.Equal((30, 20), (image.Width, image.Height));
    }

    [Fact]
    public void ProcessorPixelValuesOfAJpegMatchThePillowDecodedPng()
    {
        // Hugging Face decodes the JPEG with Pillow and preprocesses the pixels; the PNG holds Pillow's pixels.
        byte[] png = File.ReadAllBytes(Path.Combine(JpegDirectory, "q60_420_200x150.pillow.png"));
        RgbImage fromPng = SafeImageDecoder.Default.Decode(png);
        RgbImage fromJpeg = SafeImageDecoder.Default.Decode(ReadJpeg("q60_420_200x150"));
        Assert.Equal(fromPng.Pixels, fromJpeg.Pixels);

        var processor = new Qwen2VLImageProcessor();
        ProcessedImage expected = processor.Process(fromPng);
        ProcessedImage actual = processor.Process(fromJpeg);
        Assert.Equal((expected.GridT, expected.GridH, expected.GridW), (actual.GridT, actual.GridH, actual.GridW));
        Assert.Equal(expected.PixelValues, actual.PixelValues);
    }

    private static int FindMarker(byte[] data, byte marker)
    {
        for (int i = 2; i + 1 < data.Length;)
        {
            Assert.Equal(0xFF, data[i]);
            if (data[i + 1] == marker)
            {
                return i;
            }

            i += 2 + ((data[i + 2] << 8) | data[i + 3]);
        }

        throw new InvalidOperationException($"marker FF{marker:X2} not found");
    }
}
