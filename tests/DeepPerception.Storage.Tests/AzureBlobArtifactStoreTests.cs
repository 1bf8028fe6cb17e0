using Azure.Storage.Blobs;
using DeepPerception.Storage.AzureBlob;
using DeepPerception.Tests.Shared;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace DeepPerception.Storage.Tests;

/// <summary>
/// The artifact-store contract on <see cref="AzureBlobArtifactStore"/> against the Azurite emulator, plus its
/// block-commit guarantee and option validation.
/// </summary>
public sealed class AzureBlobArtifactStoreTests : ArtifactStoreContractTests, IClassFixture<AzuriteEmulator>
{
    private readonly AzuriteEmulator _azurite;
    private readonly AzureBlobArtifactStore _store;

    public AzureBlobArtifactStoreTests(AzuriteEmulator azurite)
    {
        _azurite = azurite;
        _store = new AzureBlobArtifactStore(Options(azurite));
    }

    /// <inheritdoc />
    protected override IArtifactStore Store => _store;

    private static AzureBlobArtifactStoreOptions Options(AzuriteEmulator azurite) => new()
    {
        ConnectionString = azurite.ConnectionString,
        ContainerName = "contract",
        BlockSizeBytes = 64 * 1024,
        MaxRetries = 2,
    };

    [Fact]
    public async Task A_failed_upload_leaves_only_uncommitted_blocks()
    {
        await Assert.ThrowsAsync<IOException>(() =>
            _store.PutAsync($"{Root}/blocks/ckpt.bin", new PartialStream(failAfter: 200_000)));

        var client = new BlobServiceClient(_azurite.ConnectionString,
            AzureBlobArtifactStore.CreateClientOptions(Options(_azurite)));
        var blob = client.GetBlobContainerClient("contract").GetBlobClient($"{Root}/blocks/ckpt.bin");
        Assert.False((await blob.ExistsAsync()).Value);
    }

    [Fact]
    public async Task A_key_prefix_isolates_stores_in_one_container()
    {
        var prefixed = new AzureBlobArtifactStore(new AzureBlobArtifactStoreOptions
        {
            ConnectionString = _azurite.ConnectionString,
            ContainerName = "contract",
            KeyPrefix = "env-a",
        });

        await prefixed.PutTextAsync($"{Root}/x.txt", "in env-a");

        Assert.Equal("in env-a", await _store.GetTextAsync($"env-a/{Root}/x.txt"));
        Assert.Equal([$"{Root}/x.txt"], (await prefixed.ListAllAsync($"{Root}/")).Select(i => i.Key));
    }

    [Fact]
    public void Invalid_options_fail_validation_at_startup()
    {
        var services = new ServiceCollection();
        services.AddAzureBlobArtifactStore(o =>
        {
            o.ConnectionString = null;
            o.ContainerName = "Bad_Name";
            o.BlockSizeBytes = 10;
        });
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() =>
            provider.GetRequiredService<IOptions<AzureBlobArtifactStoreOptions>>().Value);
        Assert.Contains("ConnectionString", error.Message);
        Assert.Contains("ContainerName", error.Message);
        Assert.Contains("BlockSizeBytes", error.Message);
    }

    [Fact]
    public void The_service_version_is_pinned_for_the_emulator()
    {
        Assert.Equal(BlobClientOptions.ServiceVersion.V2026_06_06, new AzureBlobArtifactStoreOptions().ServiceVersion);
    }

    private sealed class PartialStream(int failAfter) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_position >= failAfter)
            {
                throw new IOException("connection dropped");
            }

            var n = Math.Min(count, failAfter - _position);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
