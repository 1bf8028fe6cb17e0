namespace DeepPerception.Storage;

/// <summary>How an artifact is written.</summary>
public sealed record ArtifactWriteOptions
{
    /// <summary>The MIME content type stored with the artifact; defaults to <c>application/octet-stream</c>.</summary>
    public string ContentType { get; init; } = ArtifactInfo.DefaultContentType;

    /// <summary>
    /// User metadata stored with the artifact. Names match <c>[a-z][a-z0-9_]*</c> (at most 64 characters), values are
    /// printable ASCII (at most 1024 characters); see <see cref="ArtifactKey.ValidateMetadata"/>.
    /// </summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>Whether an existing artifact may be replaced (default true). When false the write is create-only.</summary>
    public bool Overwrite { get; init; } = true;
}

/// <summary>The description of a stored artifact.</summary>
/// <param name="Key">The artifact key.</param>
/// <param name="Length">The content length in bytes.</param>
/// <param name="ContentType">The MIME content type.</param>
/// <param name="Metadata">User metadata.</param>
/// <param name="LastModified">When the artifact was last written.</param>
/// <param name="ETag">An opaque version tag that changes on every write.</param>
public sealed record ArtifactInfo(
    string Key,
    long Length,
    string ContentType,
    IReadOnlyDictionary<string, string> Metadata,
    DateTimeOffset LastModified,
    string ETag)
{
    /// <summary>The content type used when none is given.</summary>
    public const string DefaultContentType = "application/octet-stream";
}

/// <summary>A whole artifact read into memory.</summary>
/// <param name="Info">The artifact's description.</param>
/// <param name="Content">The artifact's bytes.</param>
public sealed record ArtifactContent(ArtifactInfo Info, byte[] Content);
