using System.Text.Json.Nodes;
using DeepPerception.Checkpoints;

namespace DeepPerception.Cli.Tests;

/// <summary>
/// A batched case assembled from the two golden cases: the text-only prompt left-padded to the image prompt's length,
/// followed by the image prompt twice (two raw images). Under left padding the unmasked logits and greedy ids of each row
/// equal those of the row alone, so the golden values are the reference.
/// </summary>
public sealed class BatchedParityTests
{
    private const int Vocab = 300;

    [Fact]
    public async Task Parity_handles_left_padding_and_several_images()
    {
        using var temp = new TempDirectory();
        var path = temp.File("batched.safetensors");
        WriteBatchedCase(path, corruptLastRowIds: false);

        var run = await CliHarness.RunAsync("parity", "--model", CliHarness.GoldenModel, "--case", path, "--threads", "1");

        Assert.True(run.ExitCode == 0, run.Out + run.Error);
        var json = JsonNode.Parse(run.LastLine)!.AsObject();
        Assert.True(json["ok"]!.GetValue<bool>());
        Assert.Equal(3, json["batch"]!.GetValue<int>());
        Assert.InRange(json["max_abs_pixel_values"]!.GetValue<double>(), 0, 1e-4);
        Assert.Equal([198, 217, 91, 205, 295, 109, 182, 98], json["generated_ids"]![0]!.AsArray().Select(n => n!.GetValue<int>()));
    }

    [Fact]
    public async Task Parity_reports_different_ids_in_one_row()
    {
        using var temp = new TempDirectory();
        var path = temp.File("batched-bad.safetensors");
        WriteBatchedCase(path, corruptLastRowIds: true);

        var run = await CliHarness.RunAsync("parity", "--model", CliHarness.GoldenModel, "--case", path, "--threads", "1");

        Assert.Equal(1, run.ExitCode);
        var json = JsonNode.Parse(run.LastLine)!.AsObject();
        Assert.False(json["ok"]!.GetValue<bool>());
        Assert.False(json["ids_equal"]!.GetValue<bool>());
        Assert.InRange(json["max_abs_logits"]!.GetValue<double>(), 0, 1e-4);
    }

    private static void WriteBatchedCase(string path, bool corruptLastRowIds)
    {
        using var text = SafetensorsReader.Open(CliHarness.GoldenCase("text_only"));
        using var image = SafetensorsReader.Open(CliHarness.GoldenCase("image"));
        var textIds = text.ReadInt64("input_ids");
        var imageIds = image.ReadInt64("input_ids");
        var length = imageIds.Length;
        var pad = length - textIds.Length;
        const long padId = 0;

        var ids = new List<long>();
        var mask = new List<long>();
        ids.AddRange(Enumerable.Repeat(padId, pad).Concat(textIds));
        mask.AddRange(Enumerable.Repeat(0L, pad).Concat(Enumerable.Repeat(1L, textIds.Length)));
        for (var r = 0; r < 2; r++)
        {
            ids.AddRange(imageIds);
            mask.AddRange(Enumerable.Repeat(1L, length));
        }

        var logits = new float[3 * length * Vocab];
        text.ReadFloat32("logits").CopyTo(logits, pad * Vocab);
        var imageLogits = image.ReadFloat32("logits");
        imageLogits.CopyTo(logits, length * Vocab);
        imageLogits.CopyTo(logits, 2 * length * Vocab);

        var generated = text.ReadInt64("generated_ids").Concat(image.ReadInt64("generated_ids")).Concat(image.ReadInt64("generated_ids")).ToArray();
        if (corruptLastRowIds)
        {
            generated[^1] += 1;
        }

        var pixels = image.ReadFloat32("pixel_values");
        var grid = image.ReadInt64("image_grid_thw");
        var raw = image.ReadBytes("raw_image_hwc_u8");
        var rawShape = image.Entries["raw_image_hwc_u8"].Shape;
        var pixelShape = image.Entries["pixel_values"].Shape;

        Safetensors.Write(path,
        [
            Long("input_ids", [3, length], ids),
            Long("attention_mask", [3, length], mask),
            Long("generated_ids", [3, generated.Length / 3], generated),
            Long("image_grid_thw", [2, 3], grid.Concat(grid)),
            Float("pixel_values", [2 * pixelShape[0], pixelShape[1]], pixels.Concat(pixels).ToArray()),
            Float("logits", [3, length, Vocab], logits),
            new SafetensorsTensor("raw_image0_hwc_u8", SafetensorsDType.U8, rawShape, raw),
            new SafetensorsTensor("raw_image1_hwc_u8", SafetensorsDType.U8, rawShape, raw),
        ], new Dictionary<string, string> { ["format"] = "pt" });
    }

    private static SafetensorsTensor Float(string name, long[] shape, float[] values) =>
        new(name, SafetensorsDType.F32, shape, Safetensors.FromFloat32(values, SafetensorsDType.F32));

    private static SafetensorsTensor Long(string name, long[] shape, IEnumerable<long> values) =>
        new(name, SafetensorsDType.I64, shape, values.SelectMany(BitConverter.GetBytes).ToArray());
}
