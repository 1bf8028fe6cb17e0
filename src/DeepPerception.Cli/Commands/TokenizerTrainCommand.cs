using DeepPerception.Cli.Infrastructure;
using DeepPerception.Data.Synth;
using DeepPerception.ML.Preprocessing.Text;

namespace DeepPerception.Cli.Commands;

/// <summary>
/// <c>tokenizer train</c>: learns a byte-level BPE tokenizer with the fourteen Qwen2-VL special tokens from a text file
/// (one document per line) or from the KVG-Synth knowledge corpus of a seed, and writes <c>tokenizer.json</c> and
/// <c>tokenizer_config.json</c>.
/// </summary>
public sealed class TokenizerTrainCommand : ICliCommand
{
    /// <inheritdoc />
    public string Name => "tokenizer train";

    /// <inheritdoc />
    public string Summary => "Train a byte-level BPE tokenizer (Qwen2-VL special tokens) on a corpus or the KVG-Synth knowledge.";

    /// <inheritdoc />
    public IReadOnlyList<CliOption> Options { get; } =
    [
        new("corpus", "FILE", "UTF-8 text, one document per line (or give --synth-seed)"),
        new("synth-seed", "N", "use the KVG-Synth knowledge corpus of this world seed"),
        new("vocab", "N", "target vocabulary size including the 256 byte tokens and 14 special tokens", Required: true),
        new("out", "DIR", "output folder", Required: true),
    ];

    /// <inheritdoc />
    public async Task<int> RunAsync(CliArguments args, CliContext context, CancellationToken cancellationToken)
    {
        var hasCorpus = args.Has("corpus");
        var hasSeed = args.Has("synth-seed");
        if (hasCorpus == hasSeed)
        {
            throw new CliUsageException("--corpus", "give exactly one of --corpus FILE and --synth-seed N.");
        }

        var vocab = args.Int("vocab", 0, 256 + QwenSpecialTokens.All.Count, 1 << 24);
        var outDir = args.Required("out");
        IReadOnlyList<string> corpus = hasCorpus
            ? await File.ReadAllLinesAsync(args.ExistingFile("corpus"), cancellationToken).ConfigureAwait(false)
            : SynthWorld.Create(args.Int("synth-seed", 0, 0)).KnowledgeCorpus();
        var result = BpeTrainer.Train(corpus, vocab);
        result.SaveDirectory(outDir);
        await context.Out.WriteLineAsync(
            $"trained on {corpus.Count} line(s): {result.VocabSize} tokens ({result.Merges.Count} merges, {result.SpecialTokens.Count} special) in {outDir}").ConfigureAwait(false);
        return CliApp.Success;
    }
}
