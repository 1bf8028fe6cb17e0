using TorchSharp;

namespace DeepPerception.Cli.Tests;

/// <summary>Runs the CLI in-process and captures its output.</summary>
public static class CliHarness
{
    public sealed record Run(int ExitCode, string Out, string Error)
    {
        public string LastLine => Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
    }

    public static async Task<Run> RunAsync(params string[] args)
    {
        torch.set_num_threads(1);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await CliApp.RunAsync(args, stdout, stderr);
        return new Run(code, stdout.ToString(), stderr.ToString());
    }

    public static string FixturesRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "tests", "fixtures", "qwen2vl-tiny")))
            {
                dir = dir.Parent;
            }

            return dir is null
                ? throw new DirectoryNotFoundException("tests/fixtures/qwen2vl-tiny not found above the test binaries.")
                : Path.Combine(dir.FullName, "tests", "fixtures");
        }
    }

    public static string GoldenModel => Path.Combine(FixturesRoot, "qwen2vl-tiny");

    public static string GoldenCase(string name) => Path.Combine(GoldenModel, "cases", name + ".safetensors");

    public static string NewTempDirectory()
    {
        var path = Path.Combine(Path.GetTempPath(), "deepperception-cli-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }
}

/// <summary>A temporary folder removed on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public string Path { get; } = CliHarness.NewTempDirectory();

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
