using System.Net.Http;
using Azure;

namespace DeepPerception.Storage.Resilience;

/// <summary>Tells transient storage failures (worth retrying) from permanent ones.</summary>
public static class StorageFailures
{
    /// <summary>
    /// Whether <paramref name="exception"/> is a transient storage failure: the store could not be reached or answered
    /// with a server error. Transient: <see cref="ArtifactStoreUnavailableException"/>, Azure
    /// <see cref="RequestFailedException"/> with status 0 (no response), 408, 429 or 5xx, <see cref="IOException"/>
    /// other than file/folder not found, <see cref="HttpRequestException"/>, <see cref="TimeoutException"/>, and a
    /// cancellation that the caller did not ask for (a client-side timeout). Not transient: not found, already exists,
    /// invalid keys or content, other 4xx answers, <see cref="UnauthorizedAccessException"/> and everything else. An
    /// <see cref="ArtifactStoreException"/> of no more specific type is judged by its inner exception.
    /// </summary>
    public static bool IsTransient(Exception exception, CancellationToken callerToken = default)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception switch
        {
            ArtifactStoreUnavailableException => true,
            ArtifactNotFoundException or ArtifactAlreadyExistsException or InvalidArtifactKeyException => false,
            RequestFailedException r => r.Status is 0 or 408 or 429 or >= 500,
            FileNotFoundException or DirectoryNotFoundException => false,
            IOException => true,
            HttpRequestException or TimeoutException => true,
            OperationCanceledException => !callerToken.IsCancellationRequested,
            AggregateException a => a.InnerExceptions.Count > 0 && a.InnerExceptions.All(e => IsTransient(e, callerToken)),
            ArtifactStoreException { InnerException: { } inner } => IsTransient(inner, callerToken),
            _ => false,
        };
    }

    /// <summary>
    /// Finds an <see cref="ArtifactStoreUnavailableException"/> in <paramref name="exception"/> or its inner exceptions
    /// (work that failed because storage stayed unavailable after the retries), or null.
    /// </summary>
    public static ArtifactStoreUnavailableException? FindOutage(Exception? exception)
    {
        for (var depth = 0; exception is not null && depth < 16; depth++)
        {
            switch (exception)
            {
                case ArtifactStoreUnavailableException outage:
                    return outage;
                case AggregateException aggregate:
                    foreach (var inner in aggregate.InnerExceptions)
                    {
                        if (FindOutage(inner) is { } found)
                        {
                            return found;
                        }
                    }

                    return null;
                default:
                    exception = exception.InnerException;
                    break;
            }
        }

        return null;
    }
}
