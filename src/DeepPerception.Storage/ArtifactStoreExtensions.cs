using System.Text;

namespace DeepPerception.Storage;

/// <summary>Convenience helpers over <see cref="IArtifactStore"/>.</summary>
public static class ArtifactStoreExtensions
{
    /// <summary>Writes a byte array as an artifact.</summary>
    public static async Task<ArtifactInfo> PutBytesAsync(this IArtifactStore store, string key, byte[] content,
        ArtifactWriteOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        using var stream = new MemoryStream(content, writable: false);
        return await store.PutAsync(key, stream, options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes a UTF-8 text artifact (content type <c>text/plain; charset=utf-8</c> unless given).</summary>
    public static Task<ArtifactInfo> PutTextAsync(this IArtifactStore store, string key, string text,
        ArtifactWriteOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        options ??= new ArtifactWriteOptions { ContentType = "text/plain; charset=utf-8" };
        return store.PutBytesAsync(key, Encoding.UTF8.GetBytes(text), options, cancellationToken);
    }

    /// <summary>Reads a UTF-8 text artifact.</summary>
    public static async Task<string> GetTextAsync(this IArtifactStore store, string key,
        CancellationToken cancellationToken = default)
    {
        var content = await store.GetAsync(key, cancellationToken).ConfigureAwait(false);
        return Encoding.UTF8.GetString(content.Content);
    }

    /// <summary>Collects the result of <see cref="IArtifactStore.ListAsync"/> into a list.</summary>
    public static async Task<IReadOnlyList<ArtifactInfo>> ListAllAsync(this IArtifactStore store, string prefix,
        CancellationToken cancellationToken = default)
    {
        var result = new List<ArtifactInfo>();
        await foreach (var info in store.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            result.Add(info);
        }

        return result;
    }
}
