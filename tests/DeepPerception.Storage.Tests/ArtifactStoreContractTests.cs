using System.Text;

namespace DeepPerception.Storage.Tests;

/// <summary>
/// The behaviour every <see cref="IArtifactStore"/> adapter must have. Each adapter's test class derives from this
/// class, so the file-system and Azure Blob adapters are held to exactly the same contract.
/// </summary>
public abstract class ArtifactStoreContractTests
{
    /// <summary>A key prefix unique to the running test, so tests can share one store.</summary>
    protected string Root { get; } = $"t{Guid.NewGuid():N}"[..13];

    /// <summary>The store under test (block size 64 KiB where the adapter has one).</summary>
    protected abstract IArtifactStore Store { get; }

    private string Key(string relative) => $"{Root}/{relative}";

    [Fact]
    public async Task Put_then_get_round_trips_content_content_type_and_metadata()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"samples\":3}");
        var options = new ArtifactWriteOptions
        {
            ContentType = "application/json",
            Metadata = new Dictionary<string, string> { ["dataset"] = "birds", ["version"] = "1" },
        };

        var written = await Store.PutBytesAsync(Key("datasets/birds/v1/index.json"), bytes, options);
        var read = await Store.GetAsync(Key("datasets/birds/v1/index.json"));

        Assert.Equal(bytes, read.Content);
        Assert.Equal(bytes.Length, written.Length);
        Assert.Equal(bytes.Length, read.Info.Length);
        Assert.Equal("application/json", read.Info.ContentType);
        Assert.Equal("birds", read.Info.Metadata["dataset"]);
        Assert.Equal("1", read.Info.Metadata["version"]);
        Assert.Equal(written.ETag, read.Info.ETag);
        Assert.True(await Store.ExistsAsync(Key("datasets/birds/v1/index.json")));
        var info = await Store.GetInfoAsync(Key("datasets/birds/v1/index.json"));
        Assert.NotNull(info);
        Assert.Equal("application/json", info.ContentType);
        Assert.Equal(bytes.Length, info.Length);
    }

    [Fact]
    public async Task Default_content_type_is_octet_stream_and_empty_content_round_trips()
    {
        await Store.PutBytesAsync(Key("empty.bin"), []);
        var read = await Store.GetAsync(Key("empty.bin"));
        Assert.Empty(read.Content);
        Assert.Equal(0, read.Info.Length);
        Assert.Equal(ArtifactInfo.DefaultContentType, read.Info.ContentType);
    }

    [Fact]
    public async Task Overwrite_replaces_content_and_changes_etag()
    {
        var first = await Store.PutTextAsync(Key("model/config.json"), "one");
        var second = await Store.PutTextAsync(Key("model/config.json"), "two, longer");

        Assert.NotEqual(first.ETag, second.ETag);
        Assert.Equal("two, longer", await Store.GetTextAsync(Key("model/config.json")));
    }

    [Fact]
    public async Task Create_only_write_refuses_an_existing_artifact_and_keeps_it()
    {
        await Store.PutTextAsync(Key("v1/samples.jsonl"), "original");
        var createOnly = new ArtifactWriteOptions { Overwrite = false };

        var error = await Assert.ThrowsAsync<ArtifactAlreadyExistsException>(() =>
            Store.PutBytesAsync(Key("v1/samples.jsonl"), "replacement"u8.ToArray(), createOnly));

        Assert.Equal(Key("v1/samples.jsonl"), error.Key);
        Assert.Equal("original", await Store.GetTextAsync(Key("v1/samples.jsonl")));
        await Store.PutBytesAsync(Key("v1/other.jsonl"), "new"u8.ToArray(), createOnly);
        Assert.Equal("new", await Store.GetTextAsync(Key("v1/other.jsonl")));
    }

    [Fact]
    public async Task Missing_artifacts_are_reported_as_not_found()
    {
        var missing = Key("nothing/here.bin");
        var getError = await Assert.ThrowsAsync<ArtifactNotFoundException>(() => Store.GetAsync(missing));
        Assert.Equal(missing, getError.Key);
        await Assert.ThrowsAsync<ArtifactNotFoundException>(() => Store.OpenReadAsync(missing));
        Assert.Null(await Store.GetInfoAsync(missing));
        Assert.False(await Store.ExistsAsync(missing));
        Assert.False(await Store.DeleteAsync(missing));
    }

    [Fact]
    public async Task Open_read_streams_a_multi_block_artifact()
    {
        var bytes = new byte[300_001];
        new Random(7).NextBytes(bytes);
        await Store.PutBytesAsync(Key("checkpoints/step-100.bin"), bytes);

        await using var stream = await Store.OpenReadAsync(Key("checkpoints/step-100.bin"));
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);

        Assert.Equal(bytes, copy.ToArray());
    }

    [Fact]
    public async Task List_returns_artifacts_under_a_prefix_in_ordinal_order()
    {
        await Store.PutTextAsync(Key("ds/b.txt"), "b");
        await Store.PutTextAsync(Key("ds/a.txt"), "a");
        await Store.PutTextAsync(Key("ds/sub/c.txt"), "c");
        await Store.PutTextAsync(Key("dx/d.txt"), "d");
        await Store.PutTextAsync(Key("ds-other/e.txt"), "e");

        var underFolder = (await Store.ListAllAsync(Key("ds/"))).Select(i => i.Key).ToList();
        var partial = (await Store.ListAllAsync(Key("ds"))).Select(i => i.Key).ToList();
        var none = await Store.ListAllAsync(Key("zz/"));

        Assert.Equal([Key("ds/a.txt"), Key("ds/b.txt"), Key("ds/sub/c.txt")], underFolder);
        Assert.Equal([Key("ds-other/e.txt"), Key("ds/a.txt"), Key("ds/b.txt"), Key("ds/sub/c.txt")], partial);
        Assert.Empty(none);
        var listed = (await Store.ListAllAsync(Key("ds/a"))).Single();
        Assert.Equal(1, listed.Length);
        Assert.StartsWith("text/plain", listed.ContentType);
    }

    [Fact]
    public async Task A_key_and_a_key_below_it_coexist()
    {
        await Store.PutTextAsync(Key("a/b"), "file");
        await Store.PutTextAsync(Key("a/b/c"), "nested");

        Assert.Equal("file", await Store.GetTextAsync(Key("a/b")));
        Assert.Equal("nested", await Store.GetTextAsync(Key("a/b/c")));
    }

    [Fact]
    public async Task Delete_removes_the_artifact()
    {
        await Store.PutTextAsync(Key("tmp/x.txt"), "x");

        Assert.True(await Store.DeleteAsync(Key("tmp/x.txt")));
        Assert.False(await Store.ExistsAsync(Key("tmp/x.txt")));
        Assert.Empty(await Store.ListAllAsync(Key("tmp/")));
    }

    [Theory]
    [InlineData("")]
    [InlineData("../escape")]
    [InlineData("a/../../escape")]
    [InlineData("a/./b")]
    [InlineData("/absolute")]
    [InlineData("trailing/")]
    [InlineData("double//slash")]
    [InlineData("back\\slash")]
    [InlineData("space here")]
    [InlineData("a/.hidden")]
    [InlineData("reserved.dpa")]
    [InlineData("caf\u00e9")]
    [InlineData("nul\u0000byte")]
    public async Task Invalid_keys_are_rejected_with_a_typed_error(string key)
    {
        await Assert.ThrowsAsync<InvalidArtifactKeyException>(() => Store.PutTextAsync(key, "x"));
        await Assert.ThrowsAsync<InvalidArtifactKeyException>(() => Store.GetAsync(key));
        await Assert.ThrowsAsync<InvalidArtifactKeyException>(() => Store.ExistsAsync(key));
        await Assert.ThrowsAsync<InvalidArtifactKeyException>(() => Store.DeleteAsync(key));
    }

    [Fact]
    public async Task Invalid_prefixes_and_metadata_are_rejected_with_a_typed_error()
    {
        await Assert.ThrowsAsync<InvalidArtifactKeyException>(() => Store.ListAllAsync("../"));
        await Assert.ThrowsAsync<InvalidArtifactKeyException>(() => Store.ListAllAsync("/root"));
        var badName = new ArtifactWriteOptions { Metadata = new Dictionary<string, string> { ["Bad-Name"] = "x" } };
        var badValue = new ArtifactWriteOptions { Metadata = new Dictionary<string, string> { ["ok"] = "line\nbreak" } };
        await Assert.ThrowsAsync<InvalidArtifactKeyException>(() => Store.PutBytesAsync(Key("m1"), [1], badName));
        await Assert.ThrowsAsync<InvalidArtifactKeyException>(() => Store.PutBytesAsync(Key("m2"), [1], badValue));
        Assert.False(await Store.ExistsAsync(Key("m1")));
    }

    [Fact]
    public async Task A_write_that_fails_part_way_leaves_nothing_visible()
    {
        var source = new FailingStream(totalBytes: 200_000, failAfter: 150_000);

        await Assert.ThrowsAsync<IOException>(() => Store.PutAsync(Key("crash/ckpt.bin"), source));

        Assert.False(await Store.ExistsAsync(Key("crash/ckpt.bin")));
        Assert.Null(await Store.GetInfoAsync(Key("crash/ckpt.bin")));
        Assert.Empty(await Store.ListAllAsync(Key("crash/")));
    }

    [Fact]
    public async Task A_write_that_fails_part_way_keeps_the_previous_version()
    {
        await Store.PutTextAsync(Key("crash/weights.bin"), "previous");

        await Assert.ThrowsAsync<IOException>(() =>
            Store.PutAsync(Key("crash/weights.bin"), new FailingStream(totalBytes: 200_000, failAfter: 100_000)));

        Assert.Equal("previous", await Store.GetTextAsync(Key("crash/weights.bin")));
        Assert.Single(await Store.ListAllAsync(Key("crash/")));
    }

    [Fact]
    public async Task A_cancelled_write_leaves_nothing_visible()
    {
        using var cts = new CancellationTokenSource();
        var source = new FailingStream(totalBytes: 200_000, failAfter: 100_000, onFail: cts.Cancel);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            Store.PutAsync(Key("cancel/ckpt.bin"), source, cancellationToken: cts.Token));

        Assert.False(await Store.ExistsAsync(Key("cancel/ckpt.bin")));
    }

    [Fact]
    public async Task Readers_see_either_the_old_or_the_new_content_during_overwrites()
    {
        var versions = Enumerable.Range(0, 4).Select(v => Enumerable.Repeat((byte)('a' + v), 150_000 + v).ToArray()).ToArray();
        await Store.PutBytesAsync(Key("race/blob.bin"), versions[0]);

        var writer = Task.Run(async () =>
        {
            for (var i = 1; i <= 12; i++)
            {
                await Store.PutBytesAsync(Key("race/blob.bin"), versions[i % versions.Length]);
            }
        });
        var reads = 0;
        while (!writer.IsCompleted || reads < 5)
        {
            var content = (await Store.GetAsync(Key("race/blob.bin"))).Content;
            Assert.Contains(versions, v => v.AsSpan().SequenceEqual(content));
            reads++;
        }

        await writer;
    }

    /// <summary>A source stream that throws (or cancels) after a given number of bytes, like a dropped upload.</summary>
    private sealed class FailingStream(int totalBytes, int failAfter, Action? onFail = null) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => totalBytes;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_position >= failAfter)
            {
                if (onFail is not null)
                {
                    onFail();
                    throw new OperationCanceledException("The upload was cancelled.");
                }

                throw new IOException("The upload source failed part-way.");
            }

            var count = Math.Min(buffer.Length, Math.Min(totalBytes, failAfter) - _position);
            buffer[..count].Fill((byte)'z');
            _position += count;
            return count;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(buffer.AsSpan(offset, count)));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
