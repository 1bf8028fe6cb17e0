using System.Globalization;
using System.Text.Json.Nodes;
using DeepPerception.Checkpoints;
using DeepPerception.Cli.Infrastructure;
using DeepPerception.ML.Preprocessing.Images;
using DeepPerception.ML.Qwen2VL;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepPerception.Cli.Commands;

/// <summary>
/// <c>parity</c>: checks the engine against a reference case file (named tensors as in
/// <c>tests/fixtures/qwen2vl-tiny/cases/</c>): image preprocessing when raw images are present (against
/// <c>pixel_values</c>), the forward pass (against <c>logits</c> where the attention mask is 1) and greedy generation of
/// as many tokens as <c>generated_ids</c> holds, ignoring eos (ids must be equal). The last output line is one JSON
/// object; the exit code is 0 exactly when every check passes. Needs no tokenizer.
/// </summary>
public sealed class ParityCommand : ICliCommand
{
    /// <summary>Default absolute tolerance on logits and pixel values.</summary>
    public const double DefaultTolerance = 1e-4;

    /// <inheritdoc />
    public string Name => "parity";

    /// <inheritdoc />
    public string Summary => "Compare preprocessing, logits and greedy ids with a reference case file (.safetensors).";

    /// <inheritdoc />
    public IReadOnlyList<CliOption> Options { get; } =
    [
        new("model", "DIR", "model folder (config.json + safetensors; no tokenizer needed)", Required: true),
        new("case", "FILE", "case file: input_ids, [attention_mask], [pixel_values, image_grid_thw], logits, generated_ids, [raw_image{i}_hwc_u8]", Required: true),
        new("min-pixels", "N", "image processor min_pixels for raw images (default 3136)"),
        new("max-pixels", "N", "image processor max_pixels for raw images (default 12845056)"),
        new("tolerance", "X", "absolute tolerance on logits and pixel values (default 1e-4)"),
        .. DeviceOptions.Options,
    ];

    /// <inheritdoc />
    public async Task<int> RunAsync(CliArguments args, CliContext context, CancellationToken cancellationToken)
    {
        var defaults = new Qwen2VLImageProcessorOptions();
        var processorOptions = defaults with
        {
            MinPixels = args.Int("min-pixels", defaults.MinPixels, 1),
            MaxPixels = args.Int("max-pixels", defaults.MaxPixels, 1),
        };
        var tolerance = args.PositiveDouble("tolerance", DefaultTolerance);
        var device = DeviceOptions.Read(args);
        var modelDir = args.ExistingDirectory("model");
        var casePath = args.ExistingFile("case");
        try
        {
            return await RunChecksAsync(modelDir, casePath, processorOptions, tolerance, device, context, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is CheckpointFormatException or IOException or ArgumentException or InvalidOperationException
            or System.Text.Json.JsonException)
        {
            // A case or model that cannot be checked still ends with the JSON line, so that scripts always find one.
            await context.Error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            var json = new JsonObject
            {
                ["ok"] = false,
                ["case"] = Path.GetFileName(casePath),
                ["max_abs_logits"] = null,
                ["ids_equal"] = false,
                ["error"] = e.Message,
            };
            await context.Out.WriteLineAsync(json.ToJsonString()).ConfigureAwait(false);
            return CliApp.Failure;
        }
    }

    private static async Task<int> RunChecksAsync(string modelDir, string casePath, Qwen2VLImageProcessorOptions processorOptions, double tolerance,
        DeviceSettings device, CliContext context, CancellationToken cancellationToken)
    {
        var parityCase = ParityCase.Read(casePath);
        var pixelCheck = CheckPreprocessing(parityCase, processorOptions);

        using var worker = device.CreateWorker();
        var (maxLogits, generated) = await worker.RunAsync(() =>
        {
            using var model = Qwen2VLCheckpoint.Load(modelDir, worker.Device);
            return RunModel(model, parityCase);
        }, cancellationToken).ConfigureAwait(false);
        var idsEqual = generated.Length == parityCase.GeneratedIds.Length
            && generated.Zip(parityCase.GeneratedIds).All(p => p.First.SequenceEqual(p.Second));
        var logitsOk = maxLogits <= tolerance;
        var pixelsOk = pixelCheck is null || (pixelCheck.Error is null && pixelCheck.MaxAbs <= tolerance);
        var ok = logitsOk && idsEqual && pixelsOk;

        await context.Out.WriteLineAsync($"case {Path.GetFileName(casePath)}: batch {parityCase.Batch}, prompt length {parityCase.Length}, {parityCase.Grids.Count} image(s)").ConfigureAwait(false);
        if (pixelCheck is not null)
        {
            await context.Out.WriteLineAsync(pixelCheck.Error is null
                ? $"pixel_values   max |diff| {Format(pixelCheck.MaxAbs)}  {(pixelsOk ? "ok" : "FAIL")}"
                : $"pixel_values   FAIL: {pixelCheck.Error}").ConfigureAwait(false);
        }

        await context.Out.WriteLineAsync($"logits         max |diff| {Format(maxLogits)}  {(logitsOk ? "ok" : "FAIL")}").ConfigureAwait(false);
        for (var r = 0; r < generated.Length; r++)
        {
            var expected = parityCase.GeneratedIds[r];
            await context.Out.WriteLineAsync($"generated[{r}]   [{string.Join(',', generated[r])}] expected [{string.Join(',', expected)}]  {(generated[r].SequenceEqual(expected) ? "ok" : "FAIL")}").ConfigureAwait(false);
        }

        var json = new JsonObject
        {
            ["ok"] = ok,
            ["case"] = Path.GetFileName(casePath),
            ["max_abs_logits"] = Finite(maxLogits),
            ["ids_equal"] = idsEqual,
            ["tolerance"] = tolerance,
            ["batch"] = parityCase.Batch,
            ["generated_ids"] = new JsonArray(generated.Select(g => (JsonNode)new JsonArray(g.Select(t => (JsonNode)JsonValue.Create(t)).ToArray())).ToArray()),
        };
        if (pixelCheck is not null)
        {
            json["max_abs_pixel_values"] = pixelCheck.Error is null ? Finite(pixelCheck.MaxAbs) : null;
            if (pixelCheck.Error is not null)
            {
                json["pixel_values_error"] = pixelCheck.Error;
            }
        }

        await context.Out.WriteLineAsync(json.ToJsonString()).ConfigureAwait(false);
        return ok ? CliApp.Success : CliApp.Failure;
    }

    /// <summary>A JSON number, or null for NaN or infinity (which JSON cannot hold).</summary>
    private static JsonNode? Finite(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;

    private static string Format(double v) => v.ToString("E3", CultureInfo.InvariantCulture);

    /// <summary>The result of the preprocessing check: the max difference, or why the outputs could not be compared.</summary>
    private sealed record PixelCheck(double MaxAbs, string? Error);

    private static PixelCheck? CheckPreprocessing(ParityCase c, Qwen2VLImageProcessorOptions options)
    {
        if (c.RawImages.Count == 0)
        {
            return null;
        }

        if (c.PixelValues is null)
        {
            throw new CheckpointFormatException($"{c.Path}: raw images are present but 'pixel_values' is missing.");
        }

        var processor = new Qwen2VLImageProcessor(options);
        var batch = processor.ProcessBatch(c.RawImages);
        var grids = batch.Images.Select(i => new ImageGrid(i.GridT, i.GridH, i.GridW)).ToList();
        if (c.Grids.Count > 0 && !grids.SequenceEqual(c.Grids))
        {
            return new PixelCheck(double.NaN,
                $"image grids [{string.Join(' ', grids)}] differ from image_grid_thw [{string.Join(' ', c.Grids)}]");
        }

        if (batch.PixelValues.Length != c.PixelValues.Length)
        {
            return new PixelCheck(double.NaN, $"{batch.Rows}x{batch.RowLength} pixel rows, but the case holds {c.PixelValues.Length} values");
        }

        var max = 0.0;
        for (var i = 0; i < batch.PixelValues.Length; i++)
        {
            var d = Math.Abs((double)batch.PixelValues[i] - c.PixelValues[i]);
            if (double.IsNaN(d))
            {
                return new PixelCheck(double.NaN, $"NaN at value {i}");
            }

            max = Math.Max(max, d);
        }

        return new PixelCheck(max, null);
    }

    /// <summary>Forward pass (max |Δlogits| over unmasked positions) and greedy generation; runs on the worker thread.</summary>
    private static (double MaxLogits, long[][] Generated) RunModel(Qwen2VLForConditionalGeneration model, ParityCase c)
    {
        var device = model.Device;
        var config = model.Config;
        if (c.Logits.Length != (long)c.Batch * c.Length * config.VocabSize)
        {
            throw new CheckpointFormatException($"{c.Path}: 'logits' holds {c.Logits.Length} values, but batch {c.Batch} × length {c.Length} × vocab {config.VocabSize} are expected.");
        }

        var inputIds = torch.tensor(c.InputIds, [c.Batch, c.Length], device: device);
        var mask = c.AttentionMask is null ? null : torch.tensor(c.AttentionMask, [c.Batch, c.Length], device: device);
        var pixels = c.PixelValues is null ? null : torch.tensor(c.PixelValues, [c.PixelValues.Length / config.Vision.PatchInputSize, config.Vision.PatchInputSize], device: device);
        double maxLogits;
        using (no_grad())
        {
            var logits = model.Forward(new ModelInput { InputIds = inputIds, AttentionMask = mask, PixelValues = pixels, ImageGrids = c.Grids }).Logits;
            var expected = torch.tensor(c.Logits, [c.Batch, c.Length, config.VocabSize], device: device);
            var diff = logits.to(ScalarType.Float64).sub(expected.to(ScalarType.Float64)).abs().amax([2]);
            if (mask is not null)
            {
                // Padded positions are not compared (a NaN there does not count either).
                diff = torch.where(mask.ne(0), diff, torch.zeros_like(diff));
            }

            // max propagates NaN, so a NaN logit at a compared position fails the check.
            maxLogits = diff.max().cpu().item<double>();
        }

        var prompts = SplitPrompts(c, pixels, config);
        var result = Generation.Generate(model, new GenerationRequest
        {
            Prompts = prompts,
            Options = new GenerationOptions
            {
                MaxNewTokens = c.GeneratedIds.Length == 0 ? 0 : c.GeneratedIds[0].Length,
                StopTokenIds = [],
                SuppressTokenIds = [],
                PadTokenId = (int)c.PadTokenId,
            },
        });
        return (maxLogits, result.Sequences.Select(s => s.Tokens.Select(t => (long)t).ToArray()).ToArray());
    }

    /// <summary>Rows without their left padding, each with the pixel rows and grids of its own images (in order).</summary>
    private static List<PromptInput> SplitPrompts(ParityCase c, Tensor? pixels, Qwen2VLConfig config)
    {
        var merge = config.Vision.SpatialMergeSize * config.Vision.SpatialMergeSize;
        var prompts = new List<PromptInput>();
        var nextGrid = 0;
        var nextRow = 0L;
        for (var r = 0; r < c.Batch; r++)
        {
            var ids = new List<long>();
            for (var j = 0; j < c.Length; j++)
            {
                var keep = c.AttentionMask is null || c.AttentionMask[r * c.Length + j] != 0;
                if (keep)
                {
                    ids.Add(c.InputIds[r * c.Length + j]);
                }
                else if (ids.Count > 0)
                {
                    throw new CheckpointFormatException($"{c.Path}: row {r} of 'attention_mask' has a 0 after a 1; only left padding is supported.");
                }
            }

            var imageTokens = ids.Count(t => t == config.ImageTokenId);
            var grids = new List<ImageGrid>();
            while (imageTokens > 0)
            {
                if (nextGrid >= c.Grids.Count)
                {
                    throw new CheckpointFormatException($"{c.Path}: row {r} has more image tokens than 'image_grid_thw' describes.");
                }

                var g = c.Grids[nextGrid++];
                grids.Add(g);
                imageTokens -= g.T * g.H * g.W / merge;
            }

            if (imageTokens < 0)
            {
                throw new CheckpointFormatException($"{c.Path}: the image tokens of row {r} do not match whole images of 'image_grid_thw'.");
            }

            var rows = grids.Sum(g => (long)g.T * g.H * g.W);
            var rowPixels = rows == 0 || pixels is null ? null : pixels.narrow(0, nextRow, rows);
            nextRow += rows;
            prompts.Add(new PromptInput(ids.ToArray(), rowPixels, grids));
        }

        return prompts;
    }
}
