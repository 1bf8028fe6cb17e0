using DeepPerception.Grains.Gpu;
using DeepPerception.Storage;
using DeepPerception.Storage.FileSystem;

namespace DeepPerception.Grains.Gpu.Tests;

/// <summary>Folder artifacts: manifest last, verified downloads, plain prefixes without a manifest.</summary>
public sealed class ArtifactFoldersTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"dp-folders-{Guid.NewGuid():N}");
    private readonly FileSystemArtifactStore _store;

    public ArtifactFoldersTests() =>
        _store = new FileSystemArtifactStore(new FileSystemArtifactStoreOptions { RootDirectory = Path.Combine(_root, "store"), FlushToDisk = false });

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task Upload_then_download_round_trips_and_a_changed_file_is_detected()
    {
        var source = Path.Combine(_root, "source");
        Directory.CreateDirectory(Path.Combine(source, "adapter"));
        await File.WriteAllTextAsync(Path.Combine(source, "config.json"), "{\"a\":1}");
        await File.WriteAllBytesAsync(Path.Combine(source, "adapter", "weights.bin"), [1, 2, 3, 4]);

        var manifest = await ArtifactFolders.UploadAsync(_store, source, "t/models/m/v1");
        Assert.Equal(["adapter/weights.bin", "config.json"], manifest.Files.Select(f => f.Path).ToArray());
        Assert.True(await ArtifactFolders.IsCompleteAsync(_store, "t/models/m/v1"));

        var copy = Path.Combine(_root, "copy");
        await ArtifactFolders.DownloadAsync(_store, "t/models/m/v1", copy);
        Assert.Equal([1, 2, 3, 4], await File.ReadAllBytesAsync(Path.Combine(copy, "adapter", "weights.bin")));
        Assert.Equal("{\"a\":1}", await File.ReadAllTextAsync(Path.Combine(copy, "config.json")));

        await _store.PutBytesAsync("t/models/m/v1/adapter/weights.bin", [9, 9, 9, 9]);
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ArtifactFolders.DownloadAsync(_store, "t/models/m/v1", Path.Combine(_root, "bad")));
        Assert.Contains("adapter/weights.bin", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_folder_without_manifest_is_read_by_prefix_and_a_missing_one_is_not_found()
    {
        await _store.PutTextAsync("t/models/base/config.json", "{}");
        await _store.PutTextAsync("t/models/base/tokenizer.json", "{\"model\":{}}");
        await _store.PutTextAsync("t/models/base-other/config.json", "{\"other\":true}");
        Assert.False(await ArtifactFolders.IsCompleteAsync(_store, "t/models/base"));

        var copy = Path.Combine(_root, "copy");
        await ArtifactFolders.DownloadAsync(_store, "t/models/base", copy);
        Assert.Equal(["config.json", "tokenizer.json"], Directory.GetFiles(copy).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray());
        Assert.Equal("{}", await File.ReadAllTextAsync(Path.Combine(copy, "config.json")));

        await Assert.ThrowsAsync<ArtifactNotFoundException>(() => ArtifactFolders.DownloadAsync(_store, "t/models/none", Path.Combine(_root, "none")));
    }

    [Theory]
    [InlineData("Sheku Quodorian", "sheku-quodorian")]
    [InlineData("  Baque  Kaekrariath! ", "baque-kaekrariath")]
    [InlineData("A-7 (mk 2)", "a-7-mk-2")]
    public void Entity_ids_are_platform_ids(string name, string id) => Assert.Equal(id, SynthDatasetPublisher.EntityId(name));
}
