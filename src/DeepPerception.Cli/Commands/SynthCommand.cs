using DeepPerception.Cli.Infrastructure;
using DeepPerception.Data.Synth;

namespace DeepPerception.Cli.Commands;

/// <summary>
/// <c>synth</c>: exports the KVG-Synth splits of one seed. <c>platform</c> writes <c>train/</c> and <c>test/</c>
/// (records.jsonl, images, knowledge.json); <c>sharegpt</c> writes <c>sharegpt/</c> with CoT and direct training files;
/// <c>parquet</c> writes <c>test.parquet</c> in the KVG-Bench layout. The knowledge corpus always goes to
/// <c>knowledge.txt</c> and <c>knowledge.json</c>.
/// </summary>
public sealed class SynthCommand : ICliCommand
{
    /// <summary>Export formats.</summary>
    public static IReadOnlyList<string> Formats { get; } = ["platform", "sharegpt", "parquet"];

    /// <inheritdoc />
    public string Name => "synth";

    /// <inheritdoc />
    public string Summary => "Export the KVG-Synth benchmark and training data (platform, ShareGPT, KVG-Bench parquet).";

    /// <inheritdoc />
    public IReadOnlyList<CliOption> Options { get; } =
    [
        new("out", "DIR", "output folder", Required: true),
        new("seed", "N", "world and split seed (default 0)"),
        new("train", "N", "training samples, seen domains only (default 1000)"),
        new("test", "N", "test samples, all ten domains (default 200)"),
        new("formats", "LIST", "comma-separated: platform,sharegpt,parquet (default: all three)"),
    ];

    /// <inheritdoc />
    public async Task<int> RunAsync(CliArguments args, CliContext context, CancellationToken cancellationToken)
    {
        var outDir = args.Required("out");
        var seed = args.Int("seed", 0, 0);
        var train = args.Int("train", 1000, 0);
        var test = args.Int("test", 200, 0);
        var formats = (args.String("formats") ?? string.Join(',', Formats))
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(f => f.ToLowerInvariant())
            .Distinct()
            .ToList();
        var bad = formats.Where(f => !Formats.Contains(f)).ToList();
        if (formats.Count == 0 || bad.Count > 0)
        {
            throw new CliUsageException("--formats", $"'{string.Join(',', bad)}' is not a format; use a comma-separated list of {string.Join(", ", Formats)}.");
        }

        Directory.CreateDirectory(outDir);
        var world = SynthWorld.Create(seed);
        var split = SynthSplits.Build(world, train, test, seed);
        SynthExporter.WriteKnowledgeCorpus(world, Path.Combine(outDir, "knowledge.txt"));
        SynthExporter.WriteKnowledge(world.Knowledge, Path.Combine(outDir, SynthExporter.KnowledgeFile));
        await context.Out.WriteLineAsync($"KVG-Synth seed {seed}: {world.Entities.Count} entities; knowledge corpus in {Path.Combine(outDir, "knowledge.txt")}").ConfigureAwait(false);

        if (formats.Contains("platform"))
        {
            var trainCount = SynthExporter.ExportPlatform(split.Train, world.Knowledge, Path.Combine(outDir, "train"));
            var testCount = SynthExporter.ExportPlatform(split.Test, world.Knowledge, Path.Combine(outDir, "test"));
            await context.Out.WriteLineAsync($"platform: {trainCount} train records in train/, {testCount} test records in test/").ConfigureAwait(false);
        }

        if (formats.Contains("sharegpt"))
        {
            var folder = Path.Combine(outDir, "sharegpt");
            var cot = SynthExporter.ExportShareGpt(split.Train, folder, SynthTargetKind.Cot, "train-cot.json");
            SynthExporter.ExportShareGpt(split.Train, folder, SynthTargetKind.Direct, "train-direct.json");
            await context.Out.WriteLineAsync($"sharegpt: {cot} records in sharegpt/train-cot.json and sharegpt/train-direct.json").ConfigureAwait(false);
        }

        if (formats.Contains("parquet"))
        {
            var path = Path.Combine(outDir, "test.parquet");
            await SynthExporter.ExportKvgParquetAsync(split.Test, path, cancellationToken).ConfigureAwait(false);
            await context.Out.WriteLineAsync($"parquet: {split.Test.Count} KVG-Bench rows in test.parquet").ConfigureAwait(false);
        }

        return CliApp.Success;
    }
}
