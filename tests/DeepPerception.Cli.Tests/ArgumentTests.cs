using DeepPerception.Cli.Commands;
using DeepPerception.Cli.Infrastructure;
using DeepPerception.Kvg;
using DeepPerception.ML.Preprocessing.Images;

namespace DeepPerception.Cli.Tests;

public sealed class ArgumentTests
{
    [Theory]
    [InlineData("--max-new-tokens", "ground", "--model", ".", "--image", "x.png", "--query", "q", "--max-new-tokens", "abc")]
    [InlineData("--bogus", "eval", "--model", ".", "--bench", "b.parquet", "--bogus", "1")]
    [InlineData("--query", "ground", "--model", ".", "--image", "x.png")]
    [InlineData("--batch", "eval", "--model", ".", "--bench", "b.parquet", "--batch", "0")]
    [InlineData("--case", "parity", "--model", ".", "--case")]
    [InlineData("--formats", "synth", "--out", "/tmp/never-written", "--formats", "platform,csv")]
    [InlineData("--preset", "init", "--preset", "huge", "--tokenizer", ".", "--out", "/tmp/never-written")]
    [InlineData("--device", "parity", "--model", ".", "--case", "x", "--device", "tpu")]
    [InlineData("--corpus", "tokenizer", "train", "--vocab", "400", "--out", "/tmp/never-written")]
    [InlineData("--vocab", "tokenizer", "train", "--synth-seed", "1", "--vocab", "10", "--out", "/tmp/never-written")]
    [InlineData("--limit", "eval", "--model", ".", "--bench", "b.parquet", "--limit", "2", "--limit", "3")]
    [InlineData("--preset", "experiment", "kvg-synth", "--out", "/tmp/never-written", "--preset", "huge")]
    [InlineData("--out", "experiment", "kvg-synth", "--quick")]
    [InlineData("--reward", "experiment", "kvg-synth", "--out", "/tmp/never-written", "--reward", "binary")]
    public async Task Bad_arguments_exit_with_2_and_name_the_argument(string argument, params string[] args)
    {
        var run = await CliHarness.RunAsync(args);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains($"error: {argument}", run.Error);
        Assert.Empty(run.Out);
    }

    [Fact]
    public async Task Missing_model_directory_is_a_clear_error()
    {
        using var temp = new TempDirectory();
        var image = temp.File("i.png");
        await File.WriteAllBytesAsync(image, RgbImage.Filled(56, 56, 1, 2, 3).EncodePng());

        var run = await CliHarness.RunAsync("ground", "--model", "/no/such/model", "--image", image, "--query", "x");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--model: directory '/no/such/model' does not exist", run.Error);
    }

    [Fact]
    public async Task Model_directory_without_weights_is_reported_without_a_stack_trace()
    {
        using var temp = new TempDirectory();
        var dir = temp.Path;
        File.Copy(Path.Combine(CliHarness.GoldenModel, "config.json"), Path.Combine(dir, "config.json"));

        var run = await CliHarness.RunAsync("parity", "--model", dir, "--case", CliHarness.GoldenCase("text_only"), "--threads", "1");

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("error: ", run.Error);
        Assert.DoesNotContain("   at ", run.Error);
        var json = System.Text.Json.Nodes.JsonNode.Parse(run.LastLine)!;
        Assert.False(json["ok"]!.GetValue<bool>());
        Assert.Contains("model.safetensors", json["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task Unknown_command_and_no_command_exit_with_2()
    {
        Assert.Equal(2, (await CliHarness.RunAsync("train-everything")).ExitCode);
        var none = await CliHarness.RunAsync();
        Assert.Equal(2, none.ExitCode);
        Assert.Contains("commands:", none.Error);
    }

    [Theory]
    [InlineData("ground")]
    [InlineData("eval")]
    [InlineData("parity")]
    [InlineData("synth")]
    [InlineData("tokenizer train")]
    [InlineData("init")]
    public async Task Every_verb_has_help(string verb)
    {
        var run = await CliHarness.RunAsync([.. verb.Split(' '), "--help"]);

        Assert.Equal(0, run.ExitCode);
        Assert.StartsWith($"usage: deepperception {verb} ", run.Out);
        var command = CliApp.Commands.Single(c => c.Name == verb);
        foreach (var option in command.Options)
        {
            Assert.Contains("--" + option.Name, run.Out);
        }
    }

    [Fact]
    public void Parser_accepts_inline_values_and_flags_and_reads_typed_values()
    {
        CliOption[] options = [new("n", "N", "a number", Required: true), new("name", "TEXT", "text"), new("flag", null, "a flag")];

        var args = CliArguments.Parse(["--n=12", "--name", "-5 is text", "--flag"], options);

        Assert.Equal(12, args.Int("n", 0, 1, 100));
        Assert.Equal("-5 is text", args.String("name"));
        Assert.True(args.Has("flag"));
        var ex = Assert.Throws<CliUsageException>(() => args.Int("n", 0, 20));
        Assert.Equal("--n", ex.Argument);
        Assert.Throws<CliUsageException>(() => CliArguments.Parse(["--flag=1", "--n", "1"], options));
        Assert.Throws<CliUsageException>(() => CliArguments.Parse(["stray", "--n", "1"], options));
    }

    [Fact]
    public void Box_outline_is_drawn_on_the_edges_only()
    {
        var image = RgbImage.Filled(40, 30, 0, 0, 0);

        BoxDrawing.DrawRectangle(image, new BoundingBox(10, 5, 30, 25), 2, (255, 0, 0));

        Assert.Equal(255, image[10, 5, 0]);
        Assert.Equal(255, image[29, 24, 0]);
        Assert.Equal(255, image[11, 15, 0]);
        Assert.Equal(255, image[20, 23, 0]);
        Assert.Equal(0, image[12, 15, 0]);
        Assert.Equal(0, image[20, 15, 0]);
        Assert.Equal(0, image[30, 25, 0]);
        Assert.Equal(0, image[9, 5, 0]);
        Assert.Equal(0, image[10, 5, 1]);
    }

    [Fact]
    public void Eval_table_has_the_paper_columns()
    {
        var scorer = new KvgScorer();
        scorer.Add(new KvgCase("a/0", "aircraft", "<|box_start|>(0,0),(500,500)<|box_end|>", [new BoundingBox(0, 0, 500, 500)]));
        scorer.Add(new KvgCase("d/0", "dog", "nothing", [new BoundingBox(0, 0, 500, 500)]));

        var table = EvalCommand.FormatTable(scorer.Compute(), KvgCategorySplit.Default);

        var header = table.Split('\n')[0];
        Assert.Equal("| metric | aircraft | car | reptilia | bird | food | seen | dog | mollusca | mammal | flower | landmark | unseen | overall |", header);
        Assert.Contains("| Acc@0.5 (%) | 100.00 | - | - | - | - | 100.00 | 0.00 | - | - | - | - | 0.00 | 50.00 |", table);
        Assert.Contains("1 parse failure(s)", table);
    }
}
