using System.Text.Json;
using DeepPerception.ML.Preprocessing.Images;

namespace DeepPerception.ML.Preprocessing.Tests.Images;

public sealed class SmartResizeTests
{
    [Fact]
    public void MatchesPythonTranscriptionOnTheWholeTable()
    {
        using JsonDocument doc = ImageFixtures.ReadJson("smart_resize.json");
        var failures = new List<string>();
        int checkedRows = 0;
        int errorRows = 0;
        foreach (JsonElement row in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            int h = row.GetProperty("height").GetInt32();
            int w = row.GetProperty("width").GetInt32();
            int factor = row.GetProperty("factor").GetInt32();
            int min = row.GetProperty("minPixels").GetInt32();
            int max = row.GetProperty("maxPixels").GetInt32();
            string label = $"({h}, {w}, factor {factor}, min {min}, max {max})";
            checkedRows++;
            if (row.TryGetProperty("error", out JsonElement error))
            {
                errorRows++;
                var ex = Record.Exception(() => SmartResize.Compute(h, w, factor, min, max));
                if (ex is not ArgumentOutOfRangeException)
                {
                    failures.Add($"{label}: expected an error like '{error.GetString()}', got {ex?.GetType().Name ?? "a result"}");
                }

                continue;
            }

            var expected = new ResizedSize(row.GetProperty("resizedHeight").GetInt32(), row.GetProperty("resizedWidth").GetInt32());
            try
            {
                ResizedSize actual = SmartResize.Compute(h, w, factor, min, max);
                if (actual != expected)
                {
                    failures.Add($"{label}: expected {expected}, got {actual}");
                }
            }
            catch (Exception ex)
            {
                failures.Add($"{label}: expected {expected}, threw {ex.GetType().Name}: {ex.Message}");
            }
        }

        Assert.True(checkedRows > 600, $"only {checkedRows} rows");
        Assert.True(errorRows > 10, $"only {errorRows} error rows");
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures.Take(20)));
    }

    [Theory]
    [InlineData(56, 84, 56, 84)]          // golden image: unchanged
    [InlineData(42, 70, 56, 56)]          // round(1.5)=2, round(2.5)=2 (half-to-even), then area 3136 is fine
    [InlineData(70, 42, 56, 56)]
    [InlineData(480, 640, 476, 644)]
    [InlineData(28, 28, 56, 56)]          // below min_pixels: ceil branch
    public void KnownValuesWithDefaults(int h, int w, int expectedH, int expectedW)
    {
        Assert.Equal(new ResizedSize(expectedH, expectedW), SmartResize.Compute(h, w));
    }

    [Fact]
    public void LargeImagesUseTheFloorBranch()
    {
        ResizedSize r = SmartResize.Compute(4000, 3000, 28, 3136, 401408);
        Assert.True(r.Height * r.Width <= 401408);
        Assert.Equal(0, r.Height % 28);
        Assert.Equal(0, r.Width % 28);
    }

    [Theory]
    [InlineData(27, 100)]
    [InlineData(100, 27)]
    [InlineData(10, 10)]
    [InlineData(28, 5601)]
    public void RejectsWhatHuggingFaceRejects(int h, int w)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => SmartResize.Compute(h, w));
        Assert.Contains(h < 28 || w < 28 ? "must be larger than factor" : "aspect ratio", ex.Message);
    }
}
