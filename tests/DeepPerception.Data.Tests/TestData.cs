using DeepPerception.Data.Synth;

namespace DeepPerception.Data.Tests;

/// <summary>Shared helpers: a cached world and temporary folders.</summary>
internal static class TestData
{
    private static readonly Lazy<SynthWorld> LazyWorld = new(() => SynthWorld.Create(7));

    public static SynthWorld World => LazyWorld.Value;

    public static IEnumerable<SynthSample> Samples(int count, int stream = 99)
    {
        var generator = new SynthGenerator(World);
        for (var i = 0; i < count; i++)
        {
            yield return generator.Generate(SynthDomains.All[i % SynthDomains.All.Count], stream, i);
        }
    }
}

/// <summary>A temporary directory removed on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "dp-data-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

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
