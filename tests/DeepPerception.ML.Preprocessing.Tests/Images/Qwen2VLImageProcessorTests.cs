using System.Text.Json;
using DeepPerception.ML.Preprocessing.Images;

namespace DeepPerception.ML.Preprocessing.Tests.Images;

public sealed class Qwen2VLImageProcessorTests
{
    private static readonly Lazy<(JsonDocument Index, byte[] Blob)> Resized = new(() =>
        (ImageFixtures.ReadJson("qwen2vl_resized.json"),
         File.ReadAllBytes(Path.Combine(ImageFixtures.ImagesDirectory, "qwen2vl_resized.bin"))));

    private static (RgbImage Image, float[] PixelValues) GoldenCase()
    {
        using var reader = DeepPerception.Checkpoints.SafetensorsReader.Open(
            Path.Combine(ImageFixtures.FixturesDirectory, "qwen2vl-tiny", "cases", "image.safetensors"));
        Assert.Equal([56L, 84, 3], reader.Entries["raw_image_hwc_u8"].Shape);
        Assert.Equal([24L, 1176], reader.Entries["pixel_values"].Shape);
        Assert.Equal([1L, 4, 6], reader.ReadInt64("image_grid_thw"));
        return (new RgbImage(84, 56, reader.ReadBytes("raw_image_hwc_u8")), reader.ReadFloat32("pixel_values"));
    }

    private static double MaxAbsDiff(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        double max = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            max = Math.Max(max, Math.Abs((double)expected[i] - actual[i]));
        }

        return max;
    }

    [Fact]
    public void ReproducesGoldenPixelValues()
    {
        (RgbImage image, float[] expected) = GoldenCase();
        ProcessedImage result = new Qwen2VLImageProcessor().Process(image);

        Assert.Equal((1, 4, 6), (result.GridT, result.GridH, result.GridW));
        Assert.Equal(24, result.Rows);
        Assert.Equal(1176, result.RowLength);
        Assert.Equal(6, result.TokenCount);
        Assert.Equal((56, 84, 56, 84), (result.ResizedHeight, result.ResizedWidth, result.OriginalHeight, result.OriginalWidth));
        double diff = MaxAbsDiff(expected, result.PixelValues);
        Assert.True(diff <= 1e-4, $"max |diff| {diff}");
        Assert.Equal(0.0, diff); // the float32 arithmetic order matches Hugging Face exactly
    }

    public static TheoryData<string> ResizedCaseNames()
    {
        var data = new TheoryData<string>();
        foreach (JsonElement c in Resized.Value.Index.RootElement.GetProperty("cases").EnumerateArray())
        {
            data.Add(c.GetProperty("name").GetString()!);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ResizedCaseNames))]
    public void MatchesHuggingFaceOnImagesThatNeedResizing(string name)
    {
        JsonElement c = Resized.Value.Index.RootElement.GetProperty("cases").EnumerateArray()
            .Single(e => e.GetProperty("name").GetString() == name);
        int h = c.GetProperty("height").GetInt32();
        int w = c.GetProperty("width").GetInt32();
        var image = new RgbImage(w, h, ImageFixtures.ReadBytes(Resized.Value.Blob, c.GetProperty("image"), "u8"));
        float[] expected = ImageFixtures.ReadFloats(Resized.Value.Blob, c.GetProperty("pixelValues"));
        int[] grid = c.GetProperty("grid").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        var processor = new Qwen2VLImageProcessor(new Qwen2VLImageProcessorOptions
        {
            MinPixels = c.GetProperty("minPixels").GetInt32(),
            MaxPixels = c.GetProperty("maxPixels").GetInt32(),
        });

        ProcessedImage result = processor.Process(image);

        Assert.NotEqual((h, w), (result.ResizedHeight, result.ResizedWidth));
        Assert.Equal(c.GetProperty("resizedHeight").GetInt32(), result.ResizedHeight);
        Assert.Equal(c.GetProperty("resizedWidth").GetInt32(), result.ResizedWidth);
        Assert.Equal(grid, new[] { result.GridT, result.GridH, result.GridW });
        double diff = MaxAbsDiff(expected, result.PixelValues);
        Assert.True(diff <= 1e-4, $"{name}: max |diff| {diff}");
        Assert.Equal(0.0, diff);
    }

    [Fact]
    public void RowsFollowMergeWindowOrderAndRepeatFrames()
    {
        // Each 14x14 patch gets a distinct red value so a row can be traced back to its patch.
        const int gh = 4, gw = 6;
        var pixels = new byte[gh * 14 * gw * 14 * 3];
        for (int y = 0; y < gh * 14; y++)
        {
            for (int x = 0; x < gw * 14; x++)
            {
                int i = ((y * gw * 14) + x) * 3;
                pixels[i] = (byte)(((y / 14) * gw) + (x / 14));
                pixels[i + 1] = (byte)(x % 14);
                pixels[i + 2] = (byte)(y % 14);
            }
        }

        var processor = new Qwen2VLImageProcessor();
        ProcessedImage result = processor.Process(new RgbImage(gw * 14, gh * 14, pixels));
        var redLevels = new float[256];
        var greenLevels = new float[256];
        for (int v = 0; v < 256; v++)
        {
            redLevels[v] = (float)((float)(v * (1.0 / 255)) - 0.48145466f) / 0.26862954f;
            greenLevels[v] = (float)((float)(v * (1.0 / 255)) - 0.4578275f) / 0.26130258f;
        }

        for (int row = 0; row < result.Rows; row++)
        {
            int mw = row % 2, mh = (row / 2) % 2, block = row / 4;
            int bh = block / (gw / 2), bw = block % (gw / 2);
            int patchIndex = (((2 * bh) + mh) * gw) + (2 * bw) + mw;
            ReadOnlySpan<float> r = result.PixelValues.AsSpan(row * 1176, 1176);
            Assert.Equal(redLevels[patchIndex], r[0]);           // channel 0, frame 0, (0, 0)
            Assert.Equal(redLevels[patchIndex], r[196 + 195]);   // channel 0, frame 1, (13, 13)
            Assert.Equal(greenLevels[5], r[392 + 5]);            // channel 1, frame 0, y 0, x 5
            Assert.Equal(greenLevels[5], r[392 + 196 + 14 + 5]); // channel 1, frame 1, y 1, x 5
        }
    }

    [Fact]
    public void BatchConcatenatesRowsAndGrids()
    {
        (RgbImage golden, float[] expected) = GoldenCase();
        RgbImage small = RgbImage.Filled(30, 40, 128, 64, 32);
        var processor = new Qwen2VLImageProcessor();

        ProcessedImageBatch batch = processor.ProcessBatch([golden, small]);
        ProcessedImage second = processor.Process(small);

        Assert.Equal([1, 4, 6, second.GridT, second.GridH, second.GridW], batch.GridThw);
        Assert.Equal(24 + second.Rows, batch.Rows);
        Assert.Equal(expected, batch.PixelValues.AsSpan(0, expected.Length).ToArray());
        Assert.Equal(second.PixelValues, batch.PixelValues.AsSpan(expected.Length).ToArray());
    }

    [Fact]
    public void TrainingResolutionCapsTokenCount()
    {
        var processor = new Qwen2VLImageProcessor(new Qwen2VLImageProcessorOptions
        {
            MaxPixels = Qwen2VLImageProcessorOptions.TrainingMaxPixels,
        });
        ProcessedImage result = processor.Process(RgbImage.Filled(1000, 800, 1, 2, 3));
        Assert.True(result.TokenCount <= 512, $"{result.TokenCount} tokens");
        Assert.Equal(result.ResizedHeight / 28 * (result.ResizedWidth / 28), result.TokenCount);
    }

    [Fact]
    public void RejectsImagesTooSmallOrTooElongated()
    {
        var processor = new Qwen2VLImageProcessor();
        Assert.Throws<ArgumentOutOfRangeException>(() => processor.Process(RgbImage.Filled(20, 20, 0, 0, 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => processor.Process(RgbImage.Filled(6000, 28, 0, 0, 0)));
    }

    [Fact]
    public void WithoutResizeTheSidesMustBeMultiplesOfTheFactor()
    {
        var processor = new Qwen2VLImageProcessor(new Qwen2VLImageProcessorOptions { DoResize = false });
        Assert.Throws<ArgumentException>(() => processor.Process(RgbImage.Filled(57, 56, 0, 0, 0)));
        Assert.Equal(6, processor.Process(RgbImage.Filled(84, 56, 0, 0, 0)).TokenCount);
    }

    [Fact]
    public void RejectsInvalidOptions()
    {
        Assert.Throws<ArgumentException>(() => new Qwen2VLImageProcessor(new Qwen2VLImageProcessorOptions { MinPixels = 10, MaxPixels = 5 }));
        Assert.Throws<ArgumentException>(() => new Qwen2VLImageProcessor(new Qwen2VLImageProcessorOptions { ImageStd = [1.0, 0.0, 1.0] }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Qwen2VLImageProcessor(new Qwen2VLImageProcessorOptions { PatchSize = 0 }));
    }
}
