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

/// <summary>
/// The artifact store cannot be reached (network, server or volume outage). Thrown by <c>RetryingArtifactStore</c>
/// when a transient failure outlasted its retries, and by adapters that detect an outage themselves (the file-system
/// store whose root folder has gone). Work that meets it waits and is retried later instead of failing.
/// </summary>
public sealed class ArtifactStoreUnavailableException : ArtifactStoreException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="operation">The store operation, e.g. "PutAsync".</param>
    /// <param name="key">The artifact key or prefix involved, if any.</param>
    /// <param name="attempts">How many attempts were made.</param>
    /// <param name="innerException">The last failure.</param>
    public ArtifactStoreUnavailableException(string operation, string? key, int attempts, Exception? innerException = null)
        : base($"The artifact store is unavailable: {operation}{(key is null ? string.Empty : $" '{key}'")} failed"
               + (attempts > 1 ? $" after {attempts} attempts" : string.Empty)
               + (innerException is null ? "." : $" ({innerException.GetType().Name}: {innerException.Message})."), innerException)
    {
        Operation = operation;
        Key = key;
        Attempts = attempts;
    }

    /// <summary>The store operation.</summary>
    public string Operation { get; }

    /// <summary>The key or prefix involved, if any.</summary>
    public string? Key { get; }

    /// <summary>How many attempts were made.</summary>
    public int Attempts { get; }
}
