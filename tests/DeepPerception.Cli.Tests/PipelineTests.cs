using System.Text.Json.Nodes;
using DeepPerception.Kvg;
using DeepPerception.ML.Preprocessing.Images;
using DeepPerception.ML.Preprocessing.Text;
using DeepPerception.ML.Qwen2VL;

namespace DeepPerception.Cli.Tests;

[Collection(PipelineCollection.Name)]
public sealed class PipelineTests(PipelineFixture fixture)
{
    [Fact]
    public void Synth_tokenizer_and_init_write_their_folders()
    {
        Assert.True(fixture.Synth.ExitCode == 0, fixture.Synth.Error);
        Assert.True(fixture.Tokenizer.ExitCode == 0, fixture.Tokenizer.Error);
        Assert.True(fixture.Init.ExitCode == 0, fixture.Init.Error);
        Assert.True(File.Exists(Path.Combine(fixture.SynthDir, "train", "records.jsonl")));
        Assert.Equal(10, File.ReadAllLines(Path.Combine(fixture.SynthDir, "test", "records.jsonl")).Length);
        Assert.True(File.Exists(Path.Combine(fixture.SynthDir, "knowledge.txt")));
        Assert.False(Directory.Exists(Path.Combine(fixture.SynthDir, "sharegpt")));
        foreach (var file in new[] { "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json" })
        {
            Assert.True(File.Exists(Path.Combine(fixture.ModelDir, file)), file);
        }
    }

    [Fact]
    public void Init_takes_vocabulary_and_special_ids_from_the_tokenizer()
    {
        var tokenizer = QwenTokenizer.FromDirectory(fixture.TokenizerDir);
        var config = Qwen2VLConfig.FromFile(Path.Combine(fixture.ModelDir, "config.json"));

        Assert.Equal(400, tokenizer.VocabSize);
        Assert.Equal(tokenizer.VocabSize, config.VocabSize);
        Assert.Equal(tokenizer.ImagePadId, config.ImageTokenId);
        Assert.Equal(tokenizer.VideoPadId, config.VideoTokenId);
        Assert.Equal(tokenizer.VisionStartId, config.VisionStartTokenId);
        Assert.Equal(tokenizer.VisionEndId, config.VisionEndTokenId);
        Assert.Equal(tokenizer.TokenToId(QwenSpecialTokens.VisionPad), config.VisionTokenId);
        Assert.Equal(tokenizer.ImEndId, config.EosTokenId);
        Assert.Equal(tokenizer.EndOfTextId, config.BosTokenId);
        Assert.Equal(64, config.HiddenSize);
    }

    [Fact]
    public async Task Eval_scores_all_items_and_counts_parse_failures()
    {
        var outDir = Path.Combine(fixture.Root, "eval-out");
        var jsonPath = Path.Combine(fixture.Root, "score.json");

        var run = await CliHarness.RunAsync("eval", "--model", fixture.ModelDir, "--bench", fixture.BenchPath, "--json", jsonPath, "--out-dir", outDir,
            "--batch", "4", "--max-new-tokens", "8", "--threads", "1");

        Assert.True(run.ExitCode == 0, run.Out + run.Error);
        Assert.Contains("10/10", run.Error);
        Assert.Contains("| Acc@0.5 (%) |", run.Out);
        var json = JsonNode.Parse(await File.ReadAllTextAsync(jsonPath))!.AsObject();
        Assert.Equal(10, json["items"]!.GetValue<int>());
        Assert.Equal(10, json["overall"]!["count"]!.GetValue<int>());
        Assert.Equal(5, json["seen"]!["count"]!.GetValue<int>());
        Assert.Equal(5, json["unseen"]!["count"]!.GetValue<int>());
        var categories = json["categories"]!.AsObject();
        Assert.Equal(KvgCategorySplit.Default.All.Order(), categories.Select(c => c.Key).Order());
        Assert.Equal(10, categories.Sum(c => c.Value!["count"]!.GetValue<int>()));

        // Parse failures are counted from the decoded answers: they equal the records whose match pattern is 0 or whose
        // conversion failed, as written per category in the evaluate.py layout.
        var records = categories.Select(c => c.Key)
            .SelectMany(c => JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, c + ".json")))!.AsArray())
            .ToList();
        Assert.Equal(10, records.Count);
        var unmatched = records.Count(r => r!["match pattern"]!.GetValue<int>() == 0);
        Assert.Equal(unmatched, json["overall"]!["unmatched"]!.GetValue<int>());
        Assert.Equal(json["overall"]!["unmatched"]!.GetValue<int>() + json["overall"]!["conversion_failures"]!.GetValue<int>(),
            json["parse_failures"]!.GetValue<int>());
        Assert.Equal(10, json["overall"]!["pattern_counts"]!.AsArray().Sum(n => n!.GetValue<int>()));
        var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "metrics.json")))!;
        Assert.Equal(10, metrics["all"]!["all"]!["Num"]!.GetValue<int>());
    }

    [Fact]
    public async Task Eval_limit_scores_only_the_first_items()
    {
        var jsonPath = Path.Combine(fixture.Root, "score-limit.json");

        var run = await CliHarness.RunAsync("eval", "--model", fixture.ModelDir, "--bench", fixture.BenchPath, "--json", jsonPath, "--limit", "3",
            "--max-new-tokens", "2", "--threads", "1");

        Assert.True(run.ExitCode == 0, run.Out + run.Error);
        var json = JsonNode.Parse(await File.ReadAllTextAsync(jsonPath))!;
        Assert.Equal(3, json["overall"]!["count"]!.GetValue<int>());
    }

    [Fact]
    public async Task Ground_streams_text_and_draws_a_png_of_the_image_size()
    {
        var imagePath = Directory.GetFiles(Path.Combine(fixture.SynthDir, "test", "images"), "*.png").Order().First();
        var source = SafeImageDecoder.Default.DecodeFile(imagePath);
        var drawPath = Path.Combine(fixture.Root, "drawn", "box.png");

        var run = await CliHarness.RunAsync("ground", "--model", fixture.ModelDir, "--image", imagePath, "--query", "Some Entity",
            "--draw", drawPath, "--max-new-tokens", "8", "--threads", "1");

        Assert.True(run.ExitCode == 0, run.Out + run.Error);
        Assert.Contains("parse: ", run.Out);
        Assert.Contains("tokens: prompt ", run.Out);
        var drawn = SafeImageDecoder.Default.DecodeFile(drawPath);
        Assert.Equal(source.Width, drawn.Width);
        Assert.Equal(source.Height, drawn.Height);
    }

    [Fact]
    public async Task Ground_with_a_bad_prompt_style_names_the_argument()
    {
        var imagePath = Directory.GetFiles(Path.Combine(fixture.SynthDir, "test", "images"), "*.png").Order().First();

        var run = await CliHarness.RunAsync("ground", "--model", fixture.ModelDir, "--image", imagePath, "--query", "x", "--prompt", "cot");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--prompt", run.Error);
    }
}
