namespace DeepPerception.Storage;

/// <summary>
/// Port for the platform's artifact store: datasets, sample indexes, checkpoints, evaluation reports.
/// Keys are '/'-separated paths validated by <see cref="ArtifactKey"/> (for example
/// <c>acme/datasets/birds/v1/samples.jsonl</c>). Writes are atomic: a reader sees either the previous artifact or the
/// complete new one, never a partial write, and a write that fails part-way leaves nothing visible.
/// </summary>
public interface IArtifactStore
{
    /// <summary>
    /// Writes <paramref name="content"/> (read to its end) under <paramref name="key"/> and returns the stored
    /// artifact's description.
    /// </summary>
    /// <exception cref="InvalidArtifactKeyException">The key is not a valid artifact key.</exception>
    /// <exception cref="ArtifactAlreadyExistsException">
    /// <see cref="ArtifactWriteOptions.Overwrite"/> is false and an artifact already exists under the key.
    /// </exception>
    Task<ArtifactInfo> PutAsync(string key, Stream content, ArtifactWriteOptions? options = null,
        CancellationToken cancellationToken = default);

    /// <summary>Reads a whole artifact into memory.</summary>
    /// <exception cref="ArtifactNotFoundException">No artifact exists under the key.</exception>
    Task<ArtifactContent> GetAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Opens a read stream over an artifact; the caller disposes it.</summary>
    /// <exception cref="ArtifactNotFoundException">No artifact exists under the key.</exception>
    Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Returns an artifact's description, or null when it does not exist.</summary>
    Task<ArtifactInfo?> GetInfoAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Returns whether an artifact exists under the key.</summary>
    Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Lists the artifacts whose key starts with <paramref name="prefix"/> (a plain string prefix; an empty prefix
    /// lists everything), in ordinal key order.
    /// </summary>
    IAsyncEnumerable<ArtifactInfo> ListAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>Deletes an artifact; returns false when there was nothing to delete.</summary>
    Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default);
}
