using System.Diagnostics;
using System.Text.Json.Nodes;
using DeepPerception.Checkpoints;

namespace DeepPerception.Cli.Tests;

public sealed class ParityTests
{
    [Theory]
    [InlineData("text_only", false)]
    [InlineData("image", true)]
    public async Task Parity_on_golden_case_is_ok(string name, bool hasRawImage)
    {
        var run = await CliHarness.RunAsync("parity", "--model", CliHarness.GoldenModel, "--case", CliHarness.GoldenCase(name), "--threads", "1");

        Assert.True(run.ExitCode == 0, run.Out + run.Error);
        var json = JsonNode.Parse(run.LastLine)!.AsObject();
        Assert.True(json["ok"]!.GetValue<bool>());
        Assert.True(json["ids_equal"]!.GetValue<bool>());
        Assert.InRange(json["max_abs_logits"]!.GetValue<double>(), 0, 1e-4);
        Assert.Equal(hasRawImage, json.ContainsKey("max_abs_pixel_values"));
        if (hasRawImage)
        {
            Assert.InRange(json["max_abs_pixel_values"]!.GetValue<double>(), 0, 1e-4);
        }
    }

    [Fact]
    public async Task Parity_fails_with_perturbed_weights()
    {
        using var temp = new TempDirectory();
        var dir = temp.Path;
        File.Copy(Path.Combine(CliHarness.GoldenModel, "config.json"), Path.Combine(dir, "config.json"));
        var tensors = new List<SafetensorsTensor>();
        using (var reader = SafetensorsReader.Open(Path.Combine(CliHarness.GoldenModel, "model.safetensors")))
        {
            foreach (var entry in reader.Entries.Values)
            {
                var bytes = reader.ReadBytes(entry.Name);
                if (entry.Name == "model.norm.weight")
                {
                    var values = reader.ReadFloat32(entry.Name).Select(v => v * 1.05f).ToArray();
                    bytes = Safetensors.FromFloat32(values, SafetensorsDType.F32);
                }

                tensors.Add(new SafetensorsTensor(entry.Name, entry.DType, entry.Shape, bytes));
            }
        }

        Safetensors.Write(Path.Combine(dir, "model.safetensors"), tensors, new Dictionary<string, string> { ["format"] = "pt" });

        var run = await CliHarness.RunAsync("parity", "--model", dir, "--case", CliHarness.GoldenCase("image"), "--threads", "1");

        Assert.Equal(1, run.ExitCode);
        var json = JsonNode.Parse(run.LastLine)!.AsObject();
        Assert.False(json["ok"]!.GetValue<bool>());
        Assert.True(json["max_abs_logits"]!.GetValue<double>() > 1e-4);
        Assert.InRange(json["max_abs_pixel_values"]!.GetValue<double>(), 0, 1e-4);
    }

    [Fact]
    public async Task Parity_runs_as_a_process_on_both_golden_cases()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "deepperception.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing");
        foreach (var name in new[] { "text_only", "image" })
        {
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in new[] { dll, "parity", "--model", CliHarness.GoldenModel, "--case", CliHarness.GoldenCase(name), "--threads", "1" })
            {
                start.ArgumentList.Add(a);
            }

            using var process = Process.Start(start)!;
            var stdoutTask = process.StandardOutput.ReadToEndAsync();
            var stderrTask = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            var stdout = await stdoutTask;
            var stderr = await stderrTask;

            Assert.True(process.ExitCode == 0, $"{name}: exit {process.ExitCode}\n{stdout}\n{stderr}");
            var last = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
            var json = JsonNode.Parse(last)!.AsObject();
            Assert.True(json["ok"]!.GetValue<bool>());
            Assert.True(json["ids_equal"]!.GetValue<bool>());
            Assert.True(json.ContainsKey("max_abs_logits"));
        }
    }

    [Fact]
    public async Task Parity_with_missing_case_file_is_a_usage_error()
    {
        var run = await CliHarness.RunAsync("parity", "--model", CliHarness.GoldenModel, "--case", "/no/such/case.safetensors");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--case", run.Error);
    }
}
