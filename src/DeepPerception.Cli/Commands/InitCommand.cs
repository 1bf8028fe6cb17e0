using DeepPerception.Cli.Infrastructure;
using DeepPerception.ML.Preprocessing.Text;
using DeepPerception.ML.Qwen2VL;

namespace DeepPerception.Cli.Commands;

/// <summary>
/// <c>init</c>: creates a randomly initialised model folder from a preset shape and a tokenizer: config.json whose
/// vocabulary and special-token ids come from the tokenizer, the weights, and copies of the tokenizer files.
/// </summary>
public sealed class InitCommand : ICliCommand
{
    /// <summary>Presets a fresh model may use.</summary>
    public static IReadOnlyList<string> Presets { get; } = ["tiny", "small-30m"];

    /// <inheritdoc />
    public string Name => "init";

    /// <inheritdoc />
    public string Summary => "Create a randomly initialised model folder (preset shape, the tokenizer's vocabulary and special ids).";

    /// <inheritdoc />
    public IReadOnlyList<CliOption> Options { get; } =
    [
        new("preset", "tiny|small-30m", "model shape", Required: true),
        new("tokenizer", "DIR", "folder with tokenizer.json (and tokenizer_config.json)", Required: true),
        new("out", "DIR", "output model folder", Required: true),
        new("seed", "N", "initialisation seed (default 0)"),
        .. DeviceOptions.Options,
    ];

    /// <inheritdoc />
    public async Task<int> RunAsync(CliArguments args, CliContext context, CancellationToken cancellationToken)
    {
        var preset = args.Choice("preset", "tiny", [.. Presets]);
        var outDir = args.Required("out");
        var seed = args.Int("seed", 0, 0);
        var device = DeviceOptions.Read(args);
        var tokenizerDir = args.ExistingDirectory("tokenizer");
        var tokenizer = QwenTokenizer.FromDirectory(tokenizerDir);
        var config = ConfigFor(preset, tokenizer, tokenizerDir);

        using var worker = device.CreateWorker();
        var parameters = await worker.RunAsync(() =>
        {
            using var model = new Qwen2VLForConditionalGeneration(config);
            model.InitializeWeights(seed);
            Qwen2VLCheckpoint.Save(model, outDir);
            return model.parameters().Sum(p => p.numel());
        }, cancellationToken).ConfigureAwait(false);

        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json" })
        {
            var source = Path.Combine(tokenizerDir, file);
            if (File.Exists(source))
            {
                File.Copy(source, Path.Combine(outDir, file), overwrite: true);
            }
        }

        await context.Out.WriteLineAsync(
            $"initialised {preset} model ({parameters:N0} parameters, vocabulary {config.VocabSize}, seed {seed}) in {outDir}").ConfigureAwait(false);
        return CliApp.Success;
    }

    /// <summary>
    /// The preset's config with the tokenizer's vocabulary size and ids: vision start/end, image, video and vision pad,
    /// eos = <c>&lt;|im_end|&gt;</c>, bos = <c>&lt;|endoftext|&gt;</c>.
    /// </summary>
    /// <exception cref="TokenizerLoadException">The tokenizer lacks one of these special tokens.</exception>
    public static Qwen2VLConfig ConfigFor(string preset, QwenTokenizer tokenizer, string source)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        int Id(string token) => tokenizer.TokenToId(token) ?? throw new TokenizerLoadException(source, $"the special token '{token}' is not in the vocabulary.");
        return Qwen2VLConfig.Preset(preset, tokenizer.VocabSize) with
        {
            BosTokenId = Id(QwenSpecialTokens.EndOfText),
            EosTokenId = Id(QwenSpecialTokens.ImEnd),
            VisionStartTokenId = Id(QwenSpecialTokens.VisionStart),
            VisionEndTokenId = Id(QwenSpecialTokens.VisionEnd),
            VisionTokenId = Id(QwenSpecialTokens.VisionPad),
            ImageTokenId = Id(QwenSpecialTokens.ImagePad),
            VideoTokenId = Id(QwenSpecialTokens.VideoPad),
        };
    }
}
