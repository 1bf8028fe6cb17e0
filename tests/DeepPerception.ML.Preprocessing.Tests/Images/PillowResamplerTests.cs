using System.Text.Json;
using DeepPerception.ML.Preprocessing.Images;

namespace DeepPerception.ML.Preprocessing.Tests.Images;

public sealed class PillowResamplerTests
{
    private static readonly Lazy<(JsonDocument Index, byte[] Blob)> Fixture = new(() =>
        (ImageFixtures.ReadJson("pillow_bicubic.json"),
         File.ReadAllBytes(Path.Combine(ImageFixtures.ImagesDirectory, "pillow_bicubic.bin"))));

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (JsonElement c in Fixture.Value.Index.RootElement.GetProperty("cases").EnumerateArray())
        {
            data.Add(c.GetProperty("name").GetString()!);
        }

        return data;
    }

    [Fact]
    public void FixtureCoversUpDownAndTinyCases()
    {
        JsonElement root = Fixture.Value.Index.RootElement;
        Assert.Equal("9.4.0", root.GetProperty("pillowVersion").GetString());
        var cases = root.GetProperty("cases").EnumerateArray().ToList();
        Assert.True(cases.Count >= 40);
        Assert.Contains(cases, c => c.GetProperty("dstWidth").GetInt32() > c.GetProperty("srcWidth").GetInt32());
        Assert.Contains(cases, c => c.GetProperty("dstWidth").GetInt32() * 10 < c.GetProperty("srcWidth").GetInt32());
        Assert.Contains(cases, c => c.GetProperty("srcWidth").GetInt32() == 3 && c.GetProperty("srcHeight").GetInt32() == 5);
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void MatchesPillowBitExactly(string name)
    {
        JsonElement c = Fixture.Value.Index.RootElement.GetProperty("cases").EnumerateArray()
            .Single(e => e.GetProperty("name").GetString() == name);
        byte[] blob = Fixture.Value.Blob;
        int sw = c.GetProperty("srcWidth").GetInt32();
        int sh = c.GetProperty("srcHeight").GetInt32();
        int dw = c.GetProperty("dstWidth").GetInt32();
        int dh = c.GetProperty("dstHeight").GetInt32();
        var source = new RgbImage(sw, sh, ImageFixtures.ReadBytes(blob, c.GetProperty("input"), "u8"));
        byte[] expected = ImageFixtures.ReadBytes(blob, c.GetProperty("output"), "u8");

        RgbImage actual = PillowResampler.ResizeBicubic(source, dw, dh);

        Assert.Equal(dw, actual.Width);
        Assert.Equal(dh, actual.Height);
        int mismatches = 0;
        int maxDiff = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            int diff = Math.Abs(expected[i] - actual.Pixels[i]);
            if (diff != 0)
            {
                mismatches++;
                maxDiff = Math.Max(maxDiff, diff);
            }
        }

        Assert.True(mismatches == 0, $"{name}: {mismatches} bytes differ from Pillow, max |diff| {maxDiff}.");
    }

    [Fact]
    public void SameSizeReturnsAnEqualCopy()
    {
        var source = new RgbImage(2, 1, [1, 2, 3, 4, 5, 6]);
        RgbImage copy = PillowResampler.ResizeBicubic(source, 2, 1);
        Assert.NotSame(source.Pixels, copy.Pixels);
        Assert.Equal(source.Pixels, copy.Pixels);
    }

    [Fact]
    public void ConstantImageStaysConstant()
    {
        RgbImage source = RgbImage.Filled(37, 23, 10, 200, 255);
        RgbImage resized = PillowResampler.ResizeBicubic(source, 101, 7);
        for (int i = 0; i < resized.Pixels.Length; i += 3)
        {
            Assert.Equal([10, 200, 255], resized.Pixels.AsSpan(i, 3).ToArray());
        }
    }

    [Theory]
    [InlineData(0, 5)]
    [InlineData(5, 0)]
    [InlineData(-1, 5)]
    public void RejectsNonPositiveTargetSize(int width, int height)
    {
        RgbImage source = RgbImage.Filled(4, 4, 0, 0, 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => PillowResampler.ResizeBicubic(source, width, height));
    }
}
