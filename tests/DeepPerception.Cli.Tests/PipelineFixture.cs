namespace DeepPerception.Cli.Tests;

/// <summary>
/// A small KVG-Synth export (10 test items as KVG-Bench parquet), a BPE tokenizer trained by <c>tokenizer train</c> on the
/// synth knowledge corpus and a random tiny model made by <c>init</c>, all built once through the CLI.
/// </summary>
public sealed class PipelineFixture : IAsyncLifetime
{
    public string Root { get; } = CliHarness.NewTempDirectory();

    public string SynthDir => Path.Combine(Root, "synth");

    public string TokenizerDir => Path.Combine(Root, "tokenizer");

    public string ModelDir => Path.Combine(Root, "model");

    public string BenchPath => Path.Combine(SynthDir, "test.parquet");

    public CliHarness.Run Synth { get; private set; } = null!;

    public CliHarness.Run Tokenizer { get; private set; } = null!;

    public CliHarness.Run Init { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Synth = await CliHarness.RunAsync("synth", "--out", SynthDir, "--seed", "5", "--train", "2", "--test", "10", "--formats", "platform,parquet");
        Tokenizer = await CliHarness.RunAsync("tokenizer", "train", "--synth-seed", "5", "--vocab", "400", "--out", TokenizerDir);
        Init = await CliHarness.RunAsync("init", "--preset", "tiny", "--tokenizer", TokenizerDir, "--out", ModelDir, "--seed", "3", "--threads", "1");
    }

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }

        return Task.CompletedTask;
    }
}

[CollectionDefinition(Name)]
public sealed class PipelineCollection : ICollectionFixture<PipelineFixture>
{
    public const string Name = "pipeline";
}
