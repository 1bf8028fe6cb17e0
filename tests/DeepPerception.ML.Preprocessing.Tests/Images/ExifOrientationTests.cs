using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;
using DeepPerception.ML.Preprocessing.Images;

namespace DeepPerception.ML.Preprocessing.Tests.Images;

public sealed class ExifOrientationTests
{
    private static readonly Lazy<JsonElement[]> Manifest = new(() =>
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(ExifDirectory, "manifest.json")));
        return doc.RootElement.GetProperty("files").EnumerateArray().Select(e => e.Clone()).ToArray();
    });

    private static readonly SafeImageDecoder StoredGrid = new(applyExifOrientation: false);

    private static string ExifDirectory => Path.Combine(ImageFixtures.FixturesDirectory, "exif");

    private static JsonElement Entry(string name) => Manifest.Value.Single(e => e.GetProperty("name").GetString() == name);

    private static byte[] ReadImage(string name) =>
        File.ReadAllBytes(Path.Combine(ExifDirectory, "files", Entry(name).GetProperty("file").GetString()!));

    private static byte[] ReadExpected(string name) => File.ReadAllBytes(Path.Combine(ExifDirectory, "files", name + ".rgb"));

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (JsonElement e in Manifest.Value)
        {
            data.Add(e.GetProperty("name").GetString()!);
        }

        return data;
    }

    public static TheoryData<string> MalformedFiles()
    {
        var data = new TheoryData<string>();
        foreach (JsonElement e in Manifest.Value.Where(e => e.GetProperty("name").GetString()!.StartsWith("bad_", StringComparison.Ordinal)))
        {
            data.Add(e.GetProperty("name").GetString()!);
        }

        return data;
    }

    [Fact]
    public void TheFixturesCoverEveryOrientationInJpegAndPng()
    {
        foreach (string prefix in new[] { "jpeg", "png" })
        {
            for (int o = 1; o <= 8; o++)
            {
                Assert.Equal(o, Entry($"{prefix}_o{o}").GetProperty("orientation").GetInt32());
            }
        }

        Assert.True(MalformedFiles().Count >= 10, $"{MalformedFiles().Count} malformed fixtures");
        Assert.Contains(Manifest.Value, e => e.GetProperty("file").GetString()!.EndsWith(".webp", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void DecodesExactlyLikePillowsExifTranspose(string name)
    {
        JsonElement entry = Entry(name);
        byte[] expected = ReadExpected(name);
        Assert.Equal(entry.GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(expected)));

        RgbImage image = SafeImageDecoder.Default.Decode(ReadImage(name));

        Assert.Equal((entry.GetProperty("width").GetInt32(), entry.GetProperty("height").GetInt32()), (image.Width, image.Height));
        Assert.Equal(expected, image.Pixels);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void InspectReportsTheOrientationAndTheDisplayedSize(string name)
    {
        JsonElement entry = Entry(name);
        byte[] data = ReadImage(name);
        var orientation = (ExifOrientation)entry.GetProperty("orientation").GetInt32();

        ImageHeaderInfo info = SafeImageDecoder.Default.Inspect(data);

        Assert.Equal(orientation, info.Orientation);
        Assert.Equal(orientation, ExifOrientationReader.Read(data));
        Assert.Equal((entry.GetProperty("width").GetInt32(), entry.GetProperty("height").GetInt32()), (info.Width, info.Height));
        Assert.Equal(1, info.FrameCount);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void TheOptionOffGivesTheStoredGrid(string name)
    {
        JsonElement entry = Entry(name);
        byte[] data = ReadImage(name);
        var orientation = (ExifOrientation)entry.GetProperty("orientation").GetInt32();
        (int storedWidth, int storedHeight) = (entry.GetProperty("stored_width").GetInt32(), entry.GetProperty("stored_height").GetInt32());

        Assert.False(StoredGrid.ApplyExifOrientation);
        ImageHeaderInfo info = StoredGrid.Inspect(data);
        RgbImage stored = StoredGrid.Decode(data);

        Assert.Equal(orientation, info.Orientation);
        Assert.Equal((storedWidth, storedHeight), (info.Width, info.Height));
        Assert.Equal((storedWidth, storedHeight), (stored.Width, stored.Height));
        byte[] displayed = ReadExpected(name);
        Assert.Equal(displayed, stored.Orient(orientation).Pixels);
        if (orientation != ExifOrientation.Normal)
        {
            Assert.NotEqual(displayed, stored.Pixels);
        }
    }

    [Theory]
    [InlineData("jpeg_o6")]
    [InlineData("jpeg_o8")]
    [InlineData("png_o6")]
    [InlineData("png_o8")]
    [InlineData("webp_o6")]
    public void InspectSwapsWidthAndHeightForQuarterTurns(string name)
    {
        ImageHeaderInfo info = SafeImageDecoder.Default.Inspect(ReadImage(name));
        Assert.Equal((7, 13), (info.Width, info.Height));
        Assert.True(info.Orientation.SwapsAxes());
        Assert.Equal((13, 7), (StoredGrid.Inspect(ReadImage(name)).Width, StoredGrid.Inspect(ReadImage(name)).Height));
    }

    [Theory]
    [MemberData(nameof(MalformedFiles))]
    public void MalformedExifMeansNoOrientation(string name)
    {
        byte[] data = ReadImage(name);
        Assert.Equal(1, Entry(name).GetProperty("orientation").GetInt32());

        Assert.Equal(ExifOrientation.Normal, SafeImageDecoder.Default.Inspect(data).Orientation);
        RgbImage image = SafeImageDecoder.Default.Decode(data);
        Assert.Equal((13, 7), (image.Width, image.Height));
        Assert.Equal(StoredGrid.Decode(data).Pixels, image.Pixels);
    }

    [Fact]
    public void TheJpegFixtureWithADoubledExifPrefixHasNoOrientation()
    {
        // Its APP1 payload reads "Exif\0\0Exif\0\0MM…": Pillow strips one prefix and finds no TIFF header.
        byte[] data = File.ReadAllBytes(Path.Combine(ImageFixtures.FixturesDirectory, "jpeg", "files", "q90_420_exif6_30x20.jpg"));
        ImageHeaderInfo info = SafeImageDecoder.Default.Inspect(data);
        Assert.Equal(ExifOrientation.Normal, info.Orientation);
        Assert.Equal((30, 20), (info.Width, info.Height));
    }

    [Fact]
    public void FormatsWithoutExifAreNormal()
    {
        Assert.Equal(ExifOrientation.Normal, ExifOrientationReader.Read(File.ReadAllBytes(ImageFixtures.Sample("sample.gif"))));
        Assert.Equal(ExifOrientation.Normal, ExifOrientationReader.Read(File.ReadAllBytes(ImageFixtures.Sample("sample.png"))));
        Assert.Equal(ExifOrientation.Normal, ExifOrientationReader.Read(File.ReadAllBytes(ImageFixtures.Sample("sample_lossy.webp"))));
        Assert.Equal(ExifOrientation.Normal, ExifOrientationReader.Read([]));
        Assert.Equal(ExifOrientation.Normal, ExifOrientationReader.Read("not an image"u8));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ReadsBothByteOrders(bool littleEndian)
    {
        for (int o = 1; o <= 8; o++)
        {
            Assert.Equal((ExifOrientation)o, ExifOrientationReader.ReadTiff(OrientationTiff(littleEndian, o)));
        }

        Assert.Equal(ExifOrientation.Normal, ExifOrientationReader.ReadTiff(OrientationTiff(littleEndian, 0)));
        Assert.Equal(ExifOrientation.Normal, ExifOrientationReader.ReadTiff(OrientationTiff(littleEndian, 9)));
    }

    [Fact]
    public void HostileTiffNeverThrows()
    {
        byte[] valid = OrientationTiff(true, 6);
        for (int length = 0; length <= valid.Length; length++)
        {
            ExifOrientation o = ExifOrientationReader.ReadTiff(valid.AsSpan(0, length));
            // The orientation entry ends at byte 22: any shorter prefix loses it.
            Assert.Equal(length >= 22 ? ExifOrientation.Rotate90Clockwise : ExifOrientation.Normal, o);
        }

        var random = new Random(20261127);
        for (int i = 0; i < 5000; i++)
        {
            byte[] mutated = (byte[])valid.Clone();
            int flips = random.Next(1, 6);
            for (int f = 0; f < flips; f++)
            {
                mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
            }

            ExifOrientation o = ExifOrientationReader.ReadTiff(mutated);
            Assert.InRange((int)o, 1, 8);
        }

        // Every byte random, with a valid header so the IFD walk runs on garbage.
        for (int i = 0; i < 2000; i++)
        {
            byte[] garbage = new byte[random.Next(8, 200)];
            random.NextBytes(garbage);
            "II*\0"u8.CopyTo(garbage);
            Assert.InRange((int)ExifOrientationReader.ReadTiff(garbage), 1, 8);
        }
    }

    [Fact]
    public void HostileContainersNeverThrow()
    {
        byte[] jpeg = ReadImage("jpeg_o6");
        byte[] png = ReadImage("png_o6");
        byte[] webp = ReadImage("webp_o6");
        foreach (byte[] data in new[] { jpeg, png, webp })
        {
            for (int length = 0; length <= data.Length; length++)
            {
                Assert.InRange((int)ExifOrientationReader.Read(data.AsSpan(0, length)), 1, 8);
            }
        }

        // An APP1 segment whose length runs past the end of the data.
        byte[] longSegment = [0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xF0, .. "Exif\0\0"u8, .. OrientationTiff(true, 6)];
        Assert.Equal(ExifOrientation.Normal, ExifOrientationReader.ReadJpeg(longSegment));

        // A WebP whose RIFF size is larger than the data and whose EXIF chunk claims 4 GiB.
        byte[] riff = [.. "RIFF"u8, 0xFF, 0xFF, 0xFF, 0xFF, .. "WEBP"u8, .. "VP8X"u8, 10, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            .. "EXIF"u8, 0xFF, 0xFF, 0xFF, 0xFF, .. OrientationTiff(true, 6)];
        Assert.Equal(ExifOrientation.Normal, ExifOrientationReader.ReadWebP(riff));
    }

    [Fact]
    public void OrientMatchesTheEightTransformsOnALabelledImage()
    {
        // 3x2 image whose pixel (x, y) holds R = x, G = y: the output shows where every stored pixel goes.
        RgbImage stored = Labelled(3, 2);
        Assert.Same(stored, stored.Orient(ExifOrientation.Normal));
        Assert.Equal(Pairs((2, 0), (1, 0), (0, 0), (2, 1), (1, 1), (0, 1)), Read(stored.Orient(ExifOrientation.MirrorHorizontal), 3, 2));
        Assert.Equal(Pairs((2, 1), (1, 1), (0, 1), (2, 0), (1, 0), (0, 0)), Read(stored.Orient(ExifOrientation.Rotate180), 3, 2));
        Assert.Equal(Pairs((0, 1), (1, 1), (2, 1), (0, 0), (1, 0), (2, 0)), Read(stored.Orient(ExifOrientation.MirrorVertical), 3, 2));
        // Displayed 2x3 for the quarter turns, row by row.
        Assert.Equal(Pairs((0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)), Read(stored.Orient(ExifOrientation.Transpose), 2, 3));
        Assert.Equal(Pairs((0, 1), (0, 0), (1, 1), (1, 0), (2, 1), (2, 0)), Read(stored.Orient(ExifOrientation.Rotate90Clockwise), 2, 3));
        Assert.Equal(Pairs((2, 1), (2, 0), (1, 1), (1, 0), (0, 1), (0, 0)), Read(stored.Orient(ExifOrientation.Transverse), 2, 3));
        Assert.Equal(Pairs((2, 0), (2, 1), (1, 0), (1, 1), (0, 0), (0, 1)), Read(stored.Orient(ExifOrientation.Rotate90CounterClockwise), 2, 3));
        Assert.Equal((0, 0), (stored[0, 0, 0], stored[0, 0, 1]));
    }

    [Fact]
    public void OrientComposesLikeTheDihedralGroup()
    {
        RgbImage stored = Labelled(5, 3);
        RgbImage quarter = stored;
        for (int i = 0; i < 4; i++)
        {
            quarter = quarter.Orient(ExifOrientation.Rotate90Clockwise);
        }

        Assert.Equal(stored.Pixels, quarter.Pixels);
        Assert.Equal(stored.Pixels, stored.Orient(ExifOrientation.Rotate90Clockwise).Orient(ExifOrientation.Rotate90CounterClockwise).Pixels);
        foreach (ExifOrientation involution in new[]
                 {
                     ExifOrientation.MirrorHorizontal, ExifOrientation.Rotate180, ExifOrientation.MirrorVertical,
                     ExifOrientation.Transpose, ExifOrientation.Transverse,
                 })
        {
            RgbImage twice = stored.Orient(involution).Orient(involution);
            Assert.Equal((5, 3), (twice.Width, twice.Height));
            Assert.Equal(stored.Pixels, twice.Pixels);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(9)]
    [InlineData(-1)]
    public void OrientRejectsValuesOutsideTheTag(int value)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Labelled(2, 2).Orient((ExifOrientation)value));
        Assert.Equal("orientation", ex.ParamName);
    }

    [Fact]
    public void DisplayedSizeSwapsForFiveToEight()
    {
        Assert.Equal((4, 3), ExifOrientation.Rotate180.DisplayedSize(4, 3));
        Assert.Equal((3, 4), ExifOrientation.Transpose.DisplayedSize(4, 3));
        Assert.Equal((3, 4), ExifOrientation.Rotate90CounterClockwise.DisplayedSize(4, 3));
        Assert.False(ExifOrientation.Normal.SwapsAxes());
    }

    private static byte[] OrientationTiff(bool littleEndian, int orientation)
    {
        // Header (8) + count (2) + one entry (12) + next-IFD offset (4).
        var tiff = new byte[26];
        if (littleEndian)
        {
            "II*\0"u8.CopyTo(tiff);
            BinaryPrimitives.WriteUInt32LittleEndian(tiff.AsSpan(4), 8);
            BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(8), 1);
            BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(10), 0x0112);
            BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(12), 3);
            BinaryPrimitives.WriteUInt32LittleEndian(tiff.AsSpan(14), 1);
            BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(18), (ushort)orientation);
        }
        else
        {
            "MM\0*"u8.CopyTo(tiff);
            BinaryPrimitives.WriteUInt32BigEndian(tiff.AsSpan(4), 8);
            BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(8), 1);
            BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(10), 0x0112);
            BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(12), 3);
            BinaryPrimitives.WriteUInt32BigEndian(tiff.AsSpan(14), 1);
            BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(18), (ushort)orientation);
        }

        return tiff;
    }

    private static RgbImage Labelled(int width, int height)
    {
        var pixels = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                pixels[((y * width) + x) * 3] = (byte)x;
                pixels[((y * width) + x) * 3 + 1] = (byte)y;
                pixels[((y * width) + x) * 3 + 2] = 77;
            }
        }

        return new RgbImage(width, height, pixels);
    }

    private static (int X, int Y)[] Pairs(params (int X, int Y)[] pairs) => pairs;

    private static (int X, int Y)[] Read(RgbImage image, int width, int height)
    {
        Assert.Equal((width, height), (image.Width, image.Height));
        var result = new List<(int, int)>();
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                Assert.Equal(77, image[x, y, 2]);
                result.Add((image[x, y, 0], image[x, y, 1]));
            }
        }

        return [.. result];
    }
}
