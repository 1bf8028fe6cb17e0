using System.Runtime.CompilerServices;

namespace DeepPerception.Storage.Resilience;

/// <summary>Describes one retry of <see cref="RetryingArtifactStore"/>.</summary>
/// <param name="Operation">The store operation, e.g. "GetAsync".</param>
/// <param name="Key">The artifact key or prefix.</param>
/// <param name="Attempt">The attempt that failed (1 = the first).</param>
/// <param name="Delay">How long the store waits before the next attempt.</param>
/// <param name="Error">The transient failure.</param>
public sealed record ArtifactStoreRetry(string Operation, string? Key, int Attempt, TimeSpan Delay, Exception Error);

/// <summary>
/// An <see cref="IArtifactStore"/> decorator that retries transient failures (<see cref="StorageFailures.IsTransient"/>)
/// with exponential backoff and jitter, bounded by <see cref="ArtifactStoreRetryOptions.MaxAttempts"/> and
/// <see cref="ArtifactStoreRetryOptions.MaxElapsed"/>. When a transient failure outlasts the retries it throws
/// <see cref="ArtifactStoreUnavailableException"/>; permanent failures (not found, already exists, bad keys) pass through
/// unchanged at once.
/// </summary>
/// <remarks>
/// A write is retried only when its content stream can seek (it is rewound to where it started); a non-seekable stream
/// gets one attempt. <see cref="OpenReadAsync"/> retries the opening, not later reads of the returned stream.
/// <see cref="ListAsync"/> restarts a failed listing after the last key it already returned (listings are in ordinal key
/// order), so no artifact is returned twice.
/// </remarks>
public sealed class RetryingArtifactStore : IArtifactStore
{
    private readonly IArtifactStore _inner;
    private readonly ArtifactStoreRetryOptions _options;
    private readonly TimeProvider _time;

    /// <summary>Creates the decorator.</summary>
    /// <exception cref="ArgumentException">The options are not valid.</exception>
    public RetryingArtifactStore(IArtifactStore inner, ArtifactStoreRetryOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(options);
        var errors = ArtifactStoreRetryOptions.Validate(options);
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }

        _inner = inner;
        _options = options;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Raised before each retry (after the failed attempt, before the backoff delay).</summary>
    public event Action<ArtifactStoreRetry>? Retrying;

    /// <summary>The decorated store.</summary>
    public IArtifactStore Inner => _inner;

    /// <inheritdoc />
    public Task<ArtifactInfo> PutAsync(string key, Stream content, ArtifactWriteOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (!content.CanSeek)
        {
            return RunAsync(nameof(PutAsync), key, maxAttempts: 1, () => _inner.PutAsync(key, content, options, cancellationToken),
                cancellationToken);
        }

        var start = content.Position;
        var first = true;
        return RunAsync(nameof(PutAsync), key, _options.MaxAttempts, () =>
        {
            if (!first)
            {
                content.Position = start;
            }

            first = false;
            return _inner.PutAsync(key, content, options, cancellationToken);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<ArtifactContent> GetAsync(string key, CancellationToken cancellationToken = default) =>
        RunAsync(nameof(GetAsync), key, _options.MaxAttempts, () => _inner.GetAsync(key, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default) =>
        RunAsync(nameof(OpenReadAsync), key, _options.MaxAttempts, () => _inner.OpenReadAsync(key, cancellationToken),
            cancellationToken);

    /// <inheritdoc />
    public Task<ArtifactInfo?> GetInfoAsync(string key, CancellationToken cancellationToken = default) =>
        RunAsync(nameof(GetInfoAsync), key, _options.MaxAttempts, () => _inner.GetInfoAsync(key, cancellationToken),
            cancellationToken);

    /// <inheritdoc />
    public Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default) =>
        RunAsync(nameof(ExistsAsync), key, _options.MaxAttempts, () => _inner.ExistsAsync(key, cancellationToken),
            cancellationToken);

    /// <inheritdoc />
    public Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default) =>
        RunAsync(nameof(DeleteAsync), key, _options.MaxAttempts, () => _inner.DeleteAsync(key, cancellationToken),
            cancellationToken);

    /// <inheritdoc />
    public async IAsyncEnumerable<ArtifactInfo> ListAsync(string prefix,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var started = _time.GetTimestamp();
        string? lastKey = null;
        var attempt = 1;
        while (true)
        {
            Exception? failure = null;
            var enumerator = _inner.ListAsync(prefix, cancellationToken).GetAsyncEnumerator(cancellationToken);
            try
            {
                while (true)
                {
                    ArtifactInfo current;
                    try
                    {
                        if (!await enumerator.MoveNextAsync().ConfigureAwait(false))
                        {
                            break;
                        }

                        current = enumerator.Current;
                    }
                    catch (Exception ex) when (StorageFailures.IsTransient(ex, cancellationToken))
                    {
                        failure = ex;
                        break;
                    }

                    if (lastKey is not null && string.CompareOrdinal(current.Key, lastKey) <= 0)
                    {
                        continue;
                    }

                    lastKey = current.Key;
                    yield return current;
                }
            }
            finally
            {
                await enumerator.DisposeAsync().ConfigureAwait(false);
            }

            if (failure is null)
            {
                yield break;
            }

            await BackoffOrThrowAsync(nameof(ListAsync), prefix, attempt, _options.MaxAttempts, started, failure, cancellationToken)
                .ConfigureAwait(false);
            attempt++;
        }
    }

    private async Task<T> RunAsync<T>(string operation, string? key, int maxAttempts, Func<Task<T>> call,
        CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call().ConfigureAwait(false);
            }
            catch (Exception ex) when (StorageFailures.IsTransient(ex, cancellationToken))
            {
                await BackoffOrThrowAsync(operation, key, attempt, maxAttempts, started, ex, cancellationToken)
                    .ConfigureAwait(false);
            }
        }
    }

    private async Task BackoffOrThrowAsync(string operation, string? key, int attempt, int maxAttempts, long started,
        Exception failure, CancellationToken cancellationToken)
    {
        var tag = new KeyValuePair<string, object?>("operation", operation);
        var delay = Delay(attempt);
        if (attempt >= maxAttempts || _time.GetElapsedTime(started) + delay >= _options.MaxElapsed)
        {
            StorageMetrics.Outages.Add(1, tag);
            if (failure is ArtifactStoreUnavailableException { Attempts: > 1 })
            {
                throw failure;
            }

            throw new ArtifactStoreUnavailableException(operation, key, attempt, failure);
        }

        StorageMetrics.Retries.Add(1, tag);
        Retrying?.Invoke(new ArtifactStoreRetry(operation, key, attempt, delay, failure));
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Exponential backoff with "equal jitter": half the capped exponential delay plus a random part of the other half.</summary>
    private TimeSpan Delay(int attempt)
    {
        var exponential = _options.InitialDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 30));
        var capped = Math.Min(exponential, _options.MaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped / 2 + Random.Shared.NextDouble() * capped / 2);
    }
}
