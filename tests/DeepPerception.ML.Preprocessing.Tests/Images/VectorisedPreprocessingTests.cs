using DeepPerception.ML.Preprocessing.Images;

namespace DeepPerception.ML.Preprocessing.Tests.Images;

/// <summary>
/// The vectorised <see cref="PillowResampler"/> and <see cref="Qwen2VLImageProcessor.Process"/> against the scalar
/// reference in <see cref="ScalarPreprocessingReference"/>, byte for byte, on random images and sizes.
/// </summary>
public sealed class VectorisedPreprocessingTests
{
    private static RgbImage RandomImage(Random random, int width, int height, bool extremes)
    {
        var pixels = new byte[width * height * 3];
        random.NextBytes(pixels);
        if (extremes)
        {
            // Hard black/white edges drive the bicubic overshoot into both clip limits.
            for (int i = 0; i < pixels.Length; i++)
            {
                pixels[i] = pixels[i] < 128 ? (byte)0 : (byte)255;
            }
        }

        return new RgbImage(width, height, pixels);
    }

    private static void AssertSameBytes(RgbImage expected, RgbImage actual, string what)
    {
        Assert.Equal((expected.Width, expected.Height), (actual.Width, actual.Height));
        int first = -1;
        for (int i = 0; i < expected.Pixels.Length; i++)
        {
            if (expected.Pixels[i] != actual.Pixels[i])
            {
                first = i;
                break;
            }
        }

        Assert.True(first < 0, $"{what}: first differing byte at {first} (expected {(first < 0 ? 0 : expected.Pixels[first])}, got {(first < 0 ? 0 : actual.Pixels[first])}).");
    }

    public static TheoryData<int, int, int, int> EdgeSizes() => new()
    {
        { 1, 1, 1, 2 },
        { 1, 1, 7, 5 },
        { 1, 9, 1, 3 },
        { 9, 1, 3, 1 },
        { 2, 2, 1, 1 },
        { 3, 5, 11, 10 },
        { 5, 3, 10, 11 },
        { 10, 10, 11, 11 },  // 30 and 33 byte rows: shorter than and just past one 256-bit vector
        { 11, 7, 10, 6 },
        { 16, 16, 5, 5 },    // 15 byte rows: below one 128-bit vector
        { 6, 6, 6, 13 },     // vertical pass only, 18 byte rows
        { 33, 20, 33, 7 },   // vertical pass only, 99 byte rows (overlapping last block)
        { 40, 17, 13, 17 },  // horizontal pass only
        { 7, 300, 301, 2 },
        { 300, 7, 2, 301 },
        { 224, 320, 224, 224 },
        { 320, 240, 196, 140 },
        { 641, 479, 28, 28 }, // strong downscale: wide kernels
        { 50, 40, 257, 199 }, // upscale
    };

    [Theory]
    [MemberData(nameof(EdgeSizes))]
    public void ResizeMatchesTheScalarReferenceOnEdgeSizes(int sw, int sh, int dw, int dh)
    {
        var random = new Random((sw * 7919) + (sh * 104729) + (dw * 31) + dh);
        foreach (bool extremes in new[] { false, true })
        {
            RgbImage source = RandomImage(random, sw, sh, extremes);
            AssertSameBytes(
                ScalarPreprocessingReference.ResizeBicubic(source, dw, dh),
                PillowResampler.ResizeBicubic(source, dw, dh),
                $"{sw}x{sh} -> {dw}x{dh} (extremes {extremes})");
        }
    }

    [Fact]
    public void ResizeMatchesTheScalarReferenceOnRandomSizes()
    {
        var random = new Random(20250311);
        for (int trial = 0; trial < 300; trial++)
        {
            int sw = random.Next(1, trial < 200 ? 70 : 400);
            int sh = random.Next(1, trial < 200 ? 70 : 400);
            int dw = random.Next(1, trial < 200 ? 90 : 300);
            int dh = random.Next(1, trial < 200 ? 90 : 300);
            RgbImage source = RandomImage(random, sw, sh, extremes: trial % 3 == 0);
            AssertSameBytes(
                ScalarPreprocessingReference.ResizeBicubic(source, dw, dh),
                PillowResampler.ResizeBicubic(source, dw, dh),
                $"trial {trial}: {sw}x{sh} -> {dw}x{dh}");
        }
    }

    [Fact]
    public void RepeatedResizesThroughPooledBuffersStayExact()
    {
        // The horizontal intermediate comes from a pool; a large resize followed by smaller ones must not see
        // stale bytes of the earlier one.
        var random = new Random(7);
        RgbImage large = RandomImage(random, 500, 400, extremes: false);
        RgbImage small = RandomImage(random, 37, 23, extremes: true);
        for (int i = 0; i < 3; i++)
        {
            AssertSameBytes(ScalarPreprocessingReference.ResizeBicubic(large, 333, 211), PillowResampler.ResizeBicubic(large, 333, 211), "large");
            AssertSameBytes(ScalarPreprocessingReference.ResizeBicubic(small, 29, 31), PillowResampler.ResizeBicubic(small, 29, 31), "small");
        }
    }

    public static TheoryData<int, int, int, int, int, int, bool> ProcessCases() => new()
    {
        // width, height, min pixels, max pixels, patch, temporal, resize
        { 84, 56, SmartResize.DefaultMinPixels, Qwen2VLImageProcessorOptions.CheckpointMaxPixels, 14, 2, true },
        { 224, 320, SmartResize.DefaultMinPixels, 224 * 224, 14, 2, true },
        { 320, 224, SmartResize.DefaultMinPixels, 224 * 224, 14, 2, true },
        { 301, 257, SmartResize.DefaultMinPixels, 224 * 224, 14, 2, true },
        { 640, 480, SmartResize.DefaultMinPixels, Qwen2VLImageProcessorOptions.TrainingMaxPixels, 14, 2, true },
        { 33, 29, 56 * 56 * 4, Qwen2VLImageProcessorOptions.CheckpointMaxPixels, 14, 2, true }, // upscale
        { 150, 97, SmartResize.DefaultMinPixels, Qwen2VLImageProcessorOptions.CheckpointMaxPixels, 14, 1, true },
        { 150, 97, SmartResize.DefaultMinPixels, Qwen2VLImageProcessorOptions.CheckpointMaxPixels, 14, 3, true },
        { 123, 77, SmartResize.DefaultMinPixels, Qwen2VLImageProcessorOptions.CheckpointMaxPixels, 5, 2, true },
        { 112, 84, SmartResize.DefaultMinPixels, Qwen2VLImageProcessorOptions.CheckpointMaxPixels, 14, 2, false },
    };

    [Theory]
    [MemberData(nameof(ProcessCases))]
    public void ProcessMatchesTheScalarResizeAndPatchify(int width, int height, int minPixels, int maxPixels, int patch, int temporal, bool resize)
    {
        var options = new Qwen2VLImageProcessorOptions
        {
            MinPixels = minPixels,
            MaxPixels = maxPixels,
            PatchSize = patch,
            TemporalPatchSize = temporal,
            DoResize = resize,
        };
        var processor = new Qwen2VLImageProcessor(options);
        var random = new Random((width * 1000) + height + patch + temporal);
        foreach (bool extremes in new[] { false, true })
        {
            RgbImage image = RandomImage(random, width, height, extremes);
            ProcessedImage result = processor.Process(image);
            float[] expected = ScalarPreprocessingReference.Process(image, options, result.ResizedHeight, result.ResizedWidth);

            Assert.Equal(processor.TargetSize(height, width), new ResizedSize(result.ResizedHeight, result.ResizedWidth));
            Assert.Equal(expected.Length, result.PixelValues.Length);
            for (int i = 0; i < expected.Length; i++)
            {
                if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(result.PixelValues[i]))
                {
                    Assert.Fail($"{width}x{height}: value {i} is {result.PixelValues[i]:R}, expected {expected[i]:R}.");
                }
            }
        }
    }

    [Fact]
    public void ProcessThroughPooledBuffersStaysExactAcrossSizes()
    {
        // The resized image lives in a pooled buffer; alternating sizes must never read bytes of an earlier image.
        var options = new Qwen2VLImageProcessorOptions { MaxPixels = Qwen2VLImageProcessorOptions.TrainingMaxPixels };
        var processor = new Qwen2VLImageProcessor(options);
        var random = new Random(11);
        RgbImage[] images = [RandomImage(random, 900, 700, false), RandomImage(random, 61, 45, true), RandomImage(random, 320, 240, false)];
        for (int round = 0; round < 2; round++)
        {
            foreach (RgbImage image in images)
            {
                ProcessedImage result = processor.Process(image);
                float[] expected = ScalarPreprocessingReference.Process(image, options, result.ResizedHeight, result.ResizedWidth);
                Assert.True(
                    expected.AsSpan().SequenceEqual(result.PixelValues),
                    $"{image.Width}x{image.Height} (round {round}) differs from the scalar reference.");
            }
        }
    }
}
