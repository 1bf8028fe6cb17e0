namespace DeepPerception.Storage;

/// <summary>Base type of the errors raised by an <see cref="IArtifactStore"/>.</summary>
public class ArtifactStoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ArtifactStoreException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}

/// <summary>An artifact key, key prefix, content type or metadata entry is not valid.</summary>
public sealed class InvalidArtifactKeyException : ArtifactStoreException
{
    /// <summary>Creates the exception for the offending value.</summary>
    public InvalidArtifactKeyException(string? key, string reason)
        : base($"Invalid artifact key '{key}': {reason}")
    {
        Key = key;
        Reason = reason;
    }

    /// <summary>The rejected value.</summary>
    public string? Key { get; }

    /// <summary>Why it was rejected.</summary>
    public string Reason { get; }
}

/// <summary>No artifact exists under the requested key.</summary>
public sealed class ArtifactNotFoundException : ArtifactStoreException
{
    /// <summary>Creates the exception.</summary>
    public ArtifactNotFoundException(string key, Exception? innerException = null)
        : base($"Artifact '{key}' was not found.", innerException)
    {
        Key = key;
    }

    /// <summary>The key that was not found.</summary>
    public string Key { get; }
}

/// <summary>A create-only write found an artifact already stored under the key.</summary>
public sealed class ArtifactAlreadyExistsException : ArtifactStoreException
{
    /// <summary>Creates the exception.</summary>
    public ArtifactAlreadyExistsException(string key, Exception? innerException = null)
        : base($"Artifact '{key}' already exists and overwriting was not allowed.", innerException)
    {
        Key = key;
    }

    /// <summary>The key that already exists.</summary>
    public string Key { get; }
}
