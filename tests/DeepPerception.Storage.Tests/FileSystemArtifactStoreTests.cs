using DeepPerception.Storage.FileSystem;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace DeepPerception.Storage.Tests;

/// <summary>The artifact-store contract on <see cref="FileSystemArtifactStore"/>, plus its file-level guarantees.</summary>
public sealed class FileSystemArtifactStoreTests : ArtifactStoreContractTests, IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "dp-fs-store-" + Guid.NewGuid().ToString("N"));
    private readonly FileSystemArtifactStore _store;

    public FileSystemArtifactStoreTests()
    {
        _store = new FileSystemArtifactStore(new FileSystemArtifactStoreOptions { RootDirectory = _folder });
    }

    /// <inheritdoc />
    protected override IArtifactStore Store => _store;

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public async Task Nothing_is_written_outside_the_root_folder()
    {
        var parent = Path.GetDirectoryName(_folder)!;
        var before = Directory.GetFileSystemEntries(parent).Length;

        await Assert.ThrowsAsync<InvalidArtifactKeyException>(() => _store.PutTextAsync("../outside", "x"));
        await Assert.ThrowsAsync<InvalidArtifactKeyException>(() => _store.PutTextAsync("a/../../outside", "x"));

        Assert.False(File.Exists(Path.Combine(parent, "outside.dpa")));
        Assert.Equal(before, Directory.GetFileSystemEntries(parent).Length);
    }

    [Fact]
    public async Task A_temporary_file_left_by_a_crash_is_invisible_and_failed_writes_leave_no_temporary_file()
    {
        await _store.PutTextAsync($"{Root}/crash/done.txt", "done");
        var folder = Path.Combine(_folder, Root, "crash");
        // What a process killed in the middle of a write leaves behind.
        await File.WriteAllTextAsync(Path.Combine(folder, ".half.txt.dpa.0123.tmp"), "partial");

        var listed = await _store.ListAllAsync($"{Root}/crash/");
        Assert.Equal([$"{Root}/crash/done.txt"], listed.Select(i => i.Key));
        Assert.False(await _store.ExistsAsync($"{Root}/crash/half.txt"));

        await Assert.ThrowsAsync<IOException>(() => _store.PutAsync($"{Root}/crash/other.bin", new ThrowingStream()));
        Assert.Equal(2, Directory.GetFiles(folder).Length);
    }

    [Fact]
    public void Missing_root_folder_option_fails_validation_at_startup()
    {
        var services = new ServiceCollection();
        services.AddFileSystemArtifactStore(o => o.RootDirectory = "");
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() =>
            provider.GetRequiredService<IOptions<FileSystemArtifactStoreOptions>>().Value);
        Assert.Contains("RootDirectory", error.Message);
        Assert.Throws<ArgumentException>(() => new FileSystemArtifactStore(new FileSystemArtifactStoreOptions()));
    }

    [Fact]
    public async Task The_registered_store_is_the_file_system_adapter_with_retries()
    {
        var services = new ServiceCollection();
        services.AddFileSystemArtifactStore(o => o.RootDirectory = _folder);
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<IArtifactStore>();
        await store.PutTextAsync($"{Root}/di.txt", "via DI");

        Assert.IsType<FileSystemArtifactStore>(Assert.IsType<Resilience.RetryingArtifactStore>(store).Inner);
        Assert.Equal("via DI", await _store.GetTextAsync($"{Root}/di.txt"));
    }

    private sealed class ThrowingStream : MemoryStream
    {
        public ThrowingStream()
            : base(new byte[10])
        {
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            throw new IOException("source failed");

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            throw new IOException("source failed");

        public override int Read(byte[] buffer, int offset, int count) => throw new IOException("source failed");
    }
}
