using DeepPerception.Checkpoints;
using DeepPerception.ML.Qwen2VL;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepPerception.ML.Tests;

/// <summary>Paths and readers for the golden tiny Qwen2-VL produced by Hugging Face transformers.</summary>
internal static class Golden
{
    public static string Root
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

    public static string ModelDir => Path.Combine(Root, "qwen2vl-tiny");

    public static string CasePath(string name) => Path.Combine(ModelDir, "cases", name + ".safetensors");

    public static Qwen2VLForConditionalGeneration LoadModel()
    {
        torch.set_num_threads(1);
        return Qwen2VLCheckpoint.Load(ModelDir);
    }
}

/// <summary>One golden case file with its tensors as TorchSharp tensors.</summary>
internal sealed class GoldenCase : IDisposable
{
    private readonly SafetensorsReader _reader;

    public GoldenCase(string name)
    {
        _reader = SafetensorsReader.Open(Golden.CasePath(name));
    }

    public bool Has(string name) => _reader.Entries.ContainsKey(name);

    public Tensor Float(string name)
    {
        var e = _reader.Entries[name];
        return torch.tensor(_reader.ReadFloat32(name), e.Shape);
    }

    public Tensor Long(string name)
    {
        var e = _reader.Entries[name];
        return torch.tensor(_reader.ReadInt64(name), e.Shape);
    }

    public long[] Longs(string name) => _reader.ReadInt64(name);

    /// <summary>The case's prompt: ids, pixel rows and image grids (none for the text-only case).</summary>
    public PromptInput Prompt()
    {
        var ids = Longs("input_ids");
        if (!Has("pixel_values"))
        {
            return new PromptInput(ids, null, []);
        }

        var g = Longs("image_grid_thw");
        return new PromptInput(ids, Float("pixel_values"), [new ImageGrid((int)g[0], (int)g[1], (int)g[2])]);
    }

    public void Dispose() => _reader.Dispose();

    public static double MaxAbs(Tensor a, Tensor b)
    {
        Assert.Equal(b.shape, a.shape);
        return a.to(ScalarType.Float64).sub(b.to(ScalarType.Float64)).abs().max().item<double>();
    }

    public static void Close(Tensor expected, Tensor actual, double tol = 1e-4, string what = "")
    {
        var diff = MaxAbs(actual, expected);
        Assert.True(diff <= tol, $"{what}: max |diff| = {diff:E3} > {tol:E1}");
    }
}
