using System.Globalization;
using DeepPerception.Cli.Infrastructure;
using DeepPerception.Kvg;
using DeepPerception.ML.Kvg;
using DeepPerception.ML.Preprocessing.Images;
using DeepPerception.ML.Preprocessing.Text;

namespace DeepPerception.Cli.Commands;

/// <summary>
/// <c>ground</c>: asks a model where an entity is in an image. Streams the reasoning as tokens arrive, then prints the
/// parsed box in original-image pixels and on the model's 0–1000 grid, and the parse status; <c>--draw</c> writes the
/// image with the box outlined as PNG.
/// </summary>
public sealed class GroundCommand : ICliCommand
{
    /// <inheritdoc />
    public string Name => "ground";

    /// <inheritdoc />
    public string Summary => "Ground an entity or question in one image; stream the reasoning and print the box.";

    /// <inheritdoc />
    public IReadOnlyList<CliOption> Options { get; } =
    [
        new("model", "DIR", "model folder (config.json, safetensors, tokenizer.json)", Required: true),
        new("image", "FILE", "image (PNG, JPEG, GIF or WebP)", Required: true),
        new("query", "TEXT", "entity name (wrapped into the KVG query) or a full question", Required: true),
        new("draw", "OUT.png", "write the image with the predicted box drawn"),
        new("max-new-tokens", "N", "generation budget (default 256)"),
        new("prompt", "r1|none", "r1: DeepPerception's think/answer instruction (default); none: the raw question"),
        new("max-pixels", "N", $"image processor max_pixels (default {Qwen2VLImageProcessorOptions.CheckpointMaxPixels}; the paper trains at {Qwen2VLImageProcessorOptions.TrainingMaxPixels})"),
        .. DeviceOptions.Options,
    ];

    /// <inheritdoc />
    public async Task<int> RunAsync(CliArguments args, CliContext context, CancellationToken cancellationToken)
    {
        var query = args.Required("query");
        if (string.IsNullOrWhiteSpace(query))
        {
            throw new CliUsageException("--query", "must not be empty.");
        }

        var draw = args.String("draw");
        var options = new GroundOptions
        {
            MaxNewTokens = args.Int("max-new-tokens", 256, 1, 1 << 20),
            Prompt = args.Choice("prompt", "r1", "r1", "none") == "r1" ? KvgPromptStyle.R1 : KvgPromptStyle.None,
        };
        var maxPixels = args.IntOrNull("max-pixels", 56 * 56);
        var device = DeviceOptions.Read(args);
        var modelDir = args.ExistingDirectory("model");
        var imagePath = args.ExistingFile("image");
        var image = SafeImageDecoder.Default.DecodeFile(imagePath);

        using var worker = device.CreateWorker();
        var result = await worker.RunAsync(() =>
        {
            using var model = KvgModel.Load(modelDir, worker.Device, maxPixels: maxPixels);
            var stream = new TokenStreamDecoder(model.Tokenizer, skipSpecialTokens: true);
            var answer = model.Ground([new GroundRequest(image, query)], options, (_, token) =>
            {
                context.Out.Write(stream.Append(token));
                context.Out.Flush();
            }, cancellationToken)[0];
            context.Out.Write(stream.Flush());
            return answer;
        }, cancellationToken).ConfigureAwait(false);

        var o = context.Out;
        await o.WriteLineAsync().ConfigureAwait(false);
        await o.WriteLineAsync("---").ConfigureAwait(false);
        var parsed = result.Parsed;
        await o.WriteLineAsync($"parse: {parsed.Status}{(parsed.MatchPattern > 0 ? $" (pattern {parsed.MatchPattern})" : string.Empty)}").ConfigureAwait(false);
        if (result.PixelBox is { } px && result.ModelBox is { } grid)
        {
            await o.WriteLineAsync(Invariant($"box (pixels, {image.Width}x{image.Height}): ({px.X1:F1}, {px.Y1:F1}, {px.X2:F1}, {px.Y2:F1})")).ConfigureAwait(false);
            await o.WriteLineAsync($"box (grid 0-1000): {grid.ToAnswerText()}").ConfigureAwait(false);
        }
        else
        {
            await o.WriteLineAsync("box: none (the answer holds no usable box)").ConfigureAwait(false);
        }

        await o.WriteLineAsync(Invariant(
            $"tokens: prompt {result.PromptTokens}, generated {result.GeneratedTokens} ({result.FinishReason}); prefill {result.PrefillTime.TotalMilliseconds:F0} ms, decode {result.DecodeTime.TotalMilliseconds:F0} ms")).ConfigureAwait(false);

        if (draw is not null)
        {
            var canvas = image.Clone();
            if (result.PixelBox is { } box)
            {
                BoxDrawing.DrawRectangle(canvas, box, BoxDrawing.DefaultThickness(canvas), (255, 0, 0));
            }

            var directory = Path.GetDirectoryName(Path.GetFullPath(draw));
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }

            await File.WriteAllBytesAsync(draw, canvas.EncodePng(), cancellationToken).ConfigureAwait(false);
            await o.WriteLineAsync($"drawn: {draw}{(result.PixelBox is null ? " (no box to draw)" : string.Empty)}").ConfigureAwait(false);
        }

        return CliApp.Success;
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
