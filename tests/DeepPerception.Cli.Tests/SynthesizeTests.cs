using System.Text.Json;
using DeepPerception.Data.Synth;
using DeepPerception.Data.Synthesis;
using DeepPerception.Data.Tests;
using DeepPerception.Data.Validation;

namespace DeepPerception.Cli.Tests;

/// <summary><c>synthesize</c> on a platform dataset folder: templated, with the local OpenAI-compatible teacher, with the RL filter.</summary>
[Collection(PipelineCollection.Name)]
public sealed class SynthesizeTests(PipelineFixture fixture) : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A platform-format dataset of 40 KVG-Synth records (each: image, target entity, pixel box) with its knowledge.</summary>
    private string Data()
    {
        var path = _dir.File("data");
        if (!Directory.Exists(path))
        {
            var world = SynthWorld.Create(5);
            var split = SynthSplits.Build(world, 40, 0, 5);
            SynthExporter.ExportPlatform(split.Train, world.Knowledge, path);
        }

        return path;
    }

    private static JsonElement Report(string outDir) => JsonDocument.Parse(File.ReadAllBytes(Path.Combine(outDir, SynthesisExporter.ReportFile))).RootElement;

    [Fact]
    public async Task Templated_rationales_give_a_valid_sft_dataset()
    {
        var outDir = _dir.File("out");
        var run = await CliHarness.RunAsync("synthesize", "--data", Data(), "--out", outDir, "--composites", "6", "--max-canvas", "448", "--seed", "1");
        Assert.True(run.ExitCode == 0, run.Out + run.Error);
        Assert.Contains("teacher: templated", run.Out);
        Assert.Contains("kept 6", run.Out);
        Assert.Equal(6, Report(outDir).GetProperty("kept").GetInt32());
        var validation = new DatasetValidator().Validate(Path.Combine(outDir, SynthesisExporter.PlatformFolder));
        Assert.True(validation.IsValid, string.Join("\n", validation.Issues));
        Assert.Equal(6, validation.RecordCount);
        using var share = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(outDir, SynthesisExporter.ShareGptFolder, SynthesisExporter.ShareGptFile)));
        Assert.Equal(6, share.RootElement.GetArrayLength());
        Assert.All(share.RootElement.EnumerateArray(), r => Assert.Contains("Visual Analysis:", r.GetProperty("messages")[1].GetProperty("content").GetString()));
    }

    [Fact]
    public async Task External_teacher_rationales_are_gated_by_iou()
    {
        await using var server = await OpenAICompatibleServer.StartAsync();
        Environment.SetEnvironmentVariable("DP_SYNTHESIZE_TEST_KEY", "cli-key");
        var echoDir = _dir.File("echo");
        var echo = await CliHarness.RunAsync("synthesize", "--data", Data(), "--out", echoDir, "--composites", "4", "--max-canvas", "448",
            "--teacher-endpoint", server.Endpoint.ToString(), "--teacher-model", "echo", "--teacher-key-env", "DP_SYNTHESIZE_TEST_KEY");
        Assert.True(echo.ExitCode == 0, echo.Out + echo.Error);
        Assert.Contains("teacher: echo", echo.Out);
        Assert.Equal(4, Report(echoDir).GetProperty("kept").GetInt32());
        Assert.Equal(4, server.Counts["echo"]);
        Assert.All(server.Authorizations, a => Assert.Equal("Bearer cli-key", a));
        Assert.All(server.Requests, r => Assert.StartsWith("data:image/png;base64,", OpenAICompatibleServer.ImageUrlOf(r)));

        var wrongDir = _dir.File("wrong");
        var wrong = await CliHarness.RunAsync("synthesize", "--data", Data(), "--out", wrongDir, "--composites", "4", "--max-canvas", "448",
            "--teacher-endpoint", server.Endpoint.ToString(), "--teacher-model", "wrong");
        Assert.Equal(1, wrong.ExitCode);
        Assert.Contains("low-iou 4", wrong.Out);
        Assert.Equal(4, Report(wrongDir).GetProperty("rejectedByReason").GetProperty("low-iou").GetInt32());
    }

    [Fact]
    public async Task Rl_filter_samples_the_kept_prompts_with_the_model()
    {
        var outDir = _dir.File("rl");
        var run = await CliHarness.RunAsync("synthesize", "--data", Data(), "--out", outDir, "--composites", "3", "--max-canvas", "224",
            "--rl-model", fixture.ModelDir, "--rl-generations", "2", "--rl-max-new-tokens", "4", "--threads", "1");
        Assert.True(run.ExitCode == 0, run.Out + run.Error);
        Assert.Contains("rl filter: 3 prompts x 2 samples", run.Out);
        using var report = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(outDir, "rl", "report.json")));
        var histogram = report.RootElement.GetProperty("correctHistogram").EnumerateArray().Select(e => e.GetInt32()).ToList();
        Assert.Equal(3, histogram.Count);
        Assert.Equal(3, histogram.Sum());
        Assert.Equal(histogram[1], report.RootElement.GetProperty("kept").GetInt32());
        Assert.Equal(histogram[1], File.ReadAllLines(Path.Combine(outDir, "rl", SynthExporter.RecordsFile)).Count(l => l.Length > 0));
    }

    [Fact]
    public async Task Bad_teacher_options_are_usage_errors()
    {
        var noEndpoint = await CliHarness.RunAsync("synthesize", "--data", Data(), "--out", _dir.File("a"), "--teacher-model", "m");
        Assert.Equal(2, noEndpoint.ExitCode);
        Assert.Contains("--teacher-model", noEndpoint.Error);
        var noKey = await CliHarness.RunAsync("synthesize", "--data", Data(), "--out", _dir.File("b"), "--teacher-endpoint", "http://127.0.0.1:9/v1",
            "--teacher-model", "m", "--teacher-key-env", "DP_SYNTHESIZE_UNSET_VARIABLE");
        Assert.Equal(2, noKey.ExitCode);
        Assert.Contains("DP_SYNTHESIZE_UNSET_VARIABLE", noKey.Error);
        var noData = await CliHarness.RunAsync("synthesize", "--data", _dir.File("missing"), "--out", _dir.File("c"));
        Assert.Equal(2, noData.ExitCode);
    }
}
