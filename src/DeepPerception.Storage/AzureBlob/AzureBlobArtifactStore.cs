using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using Azure;
using Azure.Core;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace DeepPerception.Storage.AzureBlob;

/// <summary>
/// <see cref="IArtifactStore"/> on Azure Blob Storage (or the Azurite emulator). A write stages the content as
/// uncommitted blocks and then commits the block list in one request; the commit is atomic, so a write that fails
/// part-way leaves no visible blob and the previous version intact. Transient failures are retried by the SDK with
/// exponential backoff.
/// </summary>
public sealed class AzureBlobArtifactStore : IArtifactStore
{
    private readonly BlobContainerClient _container;
    private readonly string _prefix;
    private readonly int _blockSize;
    private readonly bool _createContainer;
    private readonly SemaphoreSlim _containerGate = new(1, 1);
    private volatile bool _containerReady;

    /// <summary>Creates the store.</summary>
    /// <exception cref="ArgumentException">The options are not valid.</exception>
    public AzureBlobArtifactStore(AzureBlobArtifactStoreOptions options)
    {
        var errors = AzureBlobArtifactStoreOptions.Validate(options);
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }

        var service = options.ServiceClient ?? new BlobServiceClient(options.ConnectionString, CreateClientOptions(options));
        _container = service.GetBlobContainerClient(options.ContainerName);
        _prefix = options.KeyPrefix is null ? string.Empty : options.KeyPrefix + "/";
        _blockSize = options.BlockSizeBytes;
        _createContainer = options.CreateContainerIfNotExists;
    }

    /// <summary>The container used by this store.</summary>
    public string ContainerName => _container.Name;

    /// <summary>Builds the client options (pinned service version, exponential retries) from store options.</summary>
    public static BlobClientOptions CreateClientOptions(AzureBlobArtifactStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var clientOptions = new BlobClientOptions(options.ServiceVersion);
        clientOptions.Retry.Mode = RetryMode.Exponential;
        clientOptions.Retry.MaxRetries = options.MaxRetries;
        clientOptions.Retry.Delay = options.RetryDelay;
        clientOptions.Retry.MaxDelay = options.MaxRetryDelay;
        clientOptions.Retry.NetworkTimeout = options.NetworkTimeout;
        return clientOptions;
    }

    /// <inheritdoc />
    public async Task<ArtifactInfo> PutAsync(string key, Stream content, ArtifactWriteOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        options ??= new ArtifactWriteOptions();
        var blob = BlockBlobFor(key);
        ArtifactKey.ValidateMetadata(options.ContentType, options.Metadata);
        await EnsureContainerAsync(cancellationToken).ConfigureAwait(false);

        var uploadId = Guid.NewGuid().ToString("N");
        var blockIds = new List<string>();
        long length = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(_blockSize);
        try
        {
            while (true)
            {
                var read = await FillAsync(content, buffer, _blockSize, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                var blockId = Convert.ToBase64String(Encoding.ASCII.GetBytes($"{uploadId}-{blockIds.Count:D6}"));
                using (var block = new MemoryStream(buffer, 0, read, writable: false))
                {
                    await blob.StageBlockAsync(blockId, block, options: null, cancellationToken).ConfigureAwait(false);
                }

                blockIds.Add(blockId);
                length += read;
                if (read < _blockSize)
                {
                    break;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        var commitOptions = new CommitBlockListOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = options.ContentType },
            Metadata = new Dictionary<string, string>(options.Metadata),
            Conditions = options.Overwrite ? null : new BlobRequestConditions { IfNoneMatch = ETag.All },
        };
        try
        {
            var response = await blob.CommitBlockListAsync(blockIds, commitOptions, cancellationToken).ConfigureAwait(false);
            return new ArtifactInfo(key, length, options.ContentType, new Dictionary<string, string>(options.Metadata),
                response.Value.LastModified, response.Value.ETag.ToString());
        }
        catch (RequestFailedException ex) when (!options.Overwrite && ex.Status is 409 or 412)
        {
            throw new ArtifactAlreadyExistsException(key, ex);
        }
    }

    /// <inheritdoc />
    public async Task<ArtifactContent> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        var blob = BlobFor(key);
        try
        {
            var response = await blob.DownloadContentAsync(cancellationToken).ConfigureAwait(false);
            var details = response.Value.Details;
            var bytes = response.Value.Content.ToArray();
            var info = new ArtifactInfo(key, bytes.LongLength, details.ContentType ?? ArtifactInfo.DefaultContentType,
                Copy(details.Metadata), details.LastModified, details.ETag.ToString());
            return new ArtifactContent(info, bytes);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw new ArtifactNotFoundException(key, ex);
        }
    }

    /// <inheritdoc />
    public async Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default)
    {
        var blob = BlobFor(key);
        try
        {
            var response = await blob.DownloadStreamingAsync(options: null, cancellationToken).ConfigureAwait(false);
            return response.Value.Content;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw new ArtifactNotFoundException(key, ex);
        }
    }

    /// <inheritdoc />
    public async Task<ArtifactInfo?> GetInfoAsync(string key, CancellationToken cancellationToken = default)
    {
        var blob = BlobFor(key);
        try
        {
            var properties = (await blob.GetPropertiesAsync(conditions: null, cancellationToken).ConfigureAwait(false)).Value;
            return new ArtifactInfo(key, properties.ContentLength, properties.ContentType ?? ArtifactInfo.DefaultContentType,
                Copy(properties.Metadata), properties.LastModified, properties.ETag.ToString());
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public async Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default)
    {
        var blob = BlobFor(key);
        try
        {
            return (await blob.ExistsAsync(cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ArtifactInfo> ListAsync(string prefix,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArtifactKey.ValidatePrefix(prefix);
        var pages = _container.GetBlobsAsync(new GetBlobsOptions { Traits = BlobTraits.Metadata, Prefix = _prefix + prefix },
            cancellationToken);
        var enumerator = pages.GetAsyncEnumerator(cancellationToken);
        try
        {
            while (true)
            {
                BlobItem item;
                try
                {
                    if (!await enumerator.MoveNextAsync().ConfigureAwait(false))
                    {
                        yield break;
                    }

                    item = enumerator.Current;
                }
                catch (RequestFailedException ex) when (ex.Status == 404)
                {
                    yield break;
                }

                var key = item.Name[_prefix.Length..];
                if (!ArtifactKey.IsValid(key))
                {
                    continue;
                }

                var properties = item.Properties;
                yield return new ArtifactInfo(key, properties.ContentLength ?? 0,
                    properties.ContentType ?? ArtifactInfo.DefaultContentType, Copy(item.Metadata),
                    properties.LastModified ?? DateTimeOffset.MinValue, properties.ETag?.ToString() ?? string.Empty);
            }
        }
        finally
        {
            await enumerator.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        var blob = BlobFor(key);
        try
        {
            return (await blob.DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, conditions: null,
                cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return false;
        }
    }

    private BlobClient BlobFor(string key)
    {
        ArtifactKey.Validate(key);
        return _container.GetBlobClient(_prefix + key);
    }

    private BlockBlobClient BlockBlobFor(string key)
    {
        ArtifactKey.Validate(key);
        return _container.GetBlockBlobClient(_prefix + key);
    }

    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (_containerReady || !_createContainer)
        {
            return;
        }

        await _containerGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_containerReady)
            {
                await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                _containerReady = true;
            }
        }
        finally
        {
            _containerGate.Release();
        }
    }

    private static async Task<int> FillAsync(Stream source, byte[] buffer, int count, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < count)
        {
            var read = await source.ReadAsync(buffer.AsMemory(total, count - total), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    private static Dictionary<string, string> Copy(IDictionary<string, string>? metadata) =>
        metadata is null ? new Dictionary<string, string>() : new Dictionary<string, string>(metadata, StringComparer.Ordinal);
}
