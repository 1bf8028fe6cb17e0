using System.Diagnostics;

namespace DeepPerception.ML.Runtime;

/// <summary>Options of a <see cref="DynamicBatcher{TKey, TRequest, TResult}"/>.</summary>
public sealed record DynamicBatcherOptions
{
    /// <summary>Most requests in one batch (1 turns batching off).</summary>
    public int MaxBatchSize { get; init; } = 8;

    /// <summary>
    /// How long the oldest waiting request may wait for companions before its batch starts anyway. A batch starts at
    /// once when it is full, and requests that arrive while a batch runs form the next one.
    /// </summary>
    public TimeSpan MaxWait { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// Whether the wait adapts to the load (default): a key's requests wait for companions only while fewer are queued
    /// than the key's previous batch held, so a lone client is served at once (no added latency at low load) while the
    /// clients of a large batch that has just been answered are gathered into one batch again. Off: every batch that is
    /// not full waits <see cref="MaxWait"/> for its oldest request. A key without a previous batch starts at once.
    /// </summary>
    public bool AdaptiveWait { get; init; } = true;

    /// <summary>Most requests waiting at once; more are refused with <see cref="BatcherQueueFullException"/>.</summary>
    public int MaxQueueLength { get; init; } = 4096;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first value out of range.</summary>
    public DynamicBatcherOptions Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBatchSize, 1, nameof(MaxBatchSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxWait, TimeSpan.Zero, nameof(MaxWait));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxQueueLength, 1, nameof(MaxQueueLength));
        return this;
    }
}

/// <summary>The batcher's queue is full; the caller should retry later.</summary>
public sealed class BatcherQueueFullException(int limit)
    : InvalidOperationException($"The serving queue is full ({limit} requests waiting); retry later.")
{
    /// <summary>The queue limit that was reached.</summary>
    public int Limit { get; } = limit;
}

/// <summary>A request's place in a batch, handed to the batch function.</summary>
/// <param name="Request">The request.</param>
/// <param name="QueuedFor">How long it waited before its batch started.</param>
public readonly record struct BatchEntry<TRequest>(TRequest Request, TimeSpan QueuedFor);

/// <summary>
/// Groups concurrent requests that share a key (for example the same model weights and decoding settings) into
/// batches and runs one batch at a time: a batch starts when it holds <see cref="DynamicBatcherOptions.MaxBatchSize"/>
/// requests, when its oldest request has waited <see cref="DynamicBatcherOptions.MaxWait"/>, or (with
/// <see cref="DynamicBatcherOptions.AdaptiveWait"/>) as soon as it holds as many requests as the key's previous batch. Keys are served oldest
/// request first, so no key starves. The batch function returns one result per entry, in order; if it throws, every
/// request of that batch gets the exception.
/// </summary>
public sealed class DynamicBatcher<TKey, TRequest, TResult> : IAsyncDisposable
    where TKey : notnull
{
    private readonly Func<TKey, IReadOnlyList<BatchEntry<TRequest>>, CancellationToken, Task<IReadOnlyList<TResult>>> _process;
    private readonly DynamicBatcherOptions _options;
    private readonly Dictionary<TKey, LinkedList<Pending>> _pending = [];
    private readonly Dictionary<TKey, int> _lastBatchSize = [];
    private readonly object _gate = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _queued;
    private long _batches;
    private long _requests;
    private int _largestBatch;

    /// <summary>Starts the batcher's loop.</summary>
    public DynamicBatcher(DynamicBatcherOptions options,
        Func<TKey, IReadOnlyList<BatchEntry<TRequest>>, CancellationToken, Task<IReadOnlyList<TResult>>> process)
    {
        _options = (options ?? throw new ArgumentNullException(nameof(options))).Validate();
        _process = process ?? throw new ArgumentNullException(nameof(process));
        _loop = Task.Run(RunAsync);
    }

    /// <summary>The options.</summary>
    public DynamicBatcherOptions Options => _options;

    /// <summary>Requests waiting for a batch.</summary>
    public int QueueLength => Volatile.Read(ref _queued);

    /// <summary>Batches run so far.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Requests answered or failed in batches so far.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>The largest batch run so far.</summary>
    public int LargestBatch => Volatile.Read(ref _largestBatch);

    /// <summary>Queues a request and completes with its result once its batch has run.</summary>
    /// <exception cref="BatcherQueueFullException">Too many requests are waiting.</exception>
    /// <exception cref="OperationCanceledException">The request was cancelled while it waited.</exception>
    public Task<TResult> EnqueueAsync(TKey key, TRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ObjectDisposedException.ThrowIf(_stop.IsCancellationRequested, this);
        cancellationToken.ThrowIfCancellationRequested();
        var pending = new Pending(request, Stopwatch.GetTimestamp());
        LinkedListNode<Pending> node;
        lock (_gate)
        {
            if (_queued >= _options.MaxQueueLength)
            {
                throw new BatcherQueueFullException(_options.MaxQueueLength);
            }

            if (!_pending.TryGetValue(key, out var list))
            {
                _pending[key] = list = new LinkedList<Pending>();
            }

            node = list.AddLast(pending);
            _queued++;
        }

        if (cancellationToken.CanBeCanceled)
        {
            pending.Registration = cancellationToken.Register(() => Withdraw(key, node, cancellationToken));
        }

        _signal.Release();
        return pending.Completion.Task;
    }

    /// <summary>Stops the loop; requests still waiting are cancelled.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        lock (_gate)
        {
            foreach (var pending in _pending.Values.SelectMany(l => l))
            {
                pending.Completion.TrySetCanceled();
            }

            _pending.Clear();
            _queued = 0;
        }

        _stop.Dispose();
        _signal.Dispose();
    }

    private void Withdraw(TKey key, LinkedListNode<Pending> node, CancellationToken token)
    {
        lock (_gate)
        {
            if (node.List is null)
            {
                return;
            }

            node.List.Remove(node);
            _queued--;
            if (_pending.TryGetValue(key, out var list) && list.Count == 0)
            {
                _pending.Remove(key);
            }
        }

        node.Value.Completion.TrySetCanceled(token);
    }

    private async Task RunAsync()
    {
        var stop = _stop.Token;
        while (!stop.IsCancellationRequested)
        {
            await _signal.WaitAsync(stop).ConfigureAwait(false);
            while (!stop.IsCancellationRequested)
            {
                var next = TakeBatch(out var waitFor);
                if (next is { } batch)
                {
                    await RunBatchAsync(batch.Key, batch.Entries, stop).ConfigureAwait(false);
                    continue;
                }

                if (waitFor is not { } delay)
                {
                    break;
                }

                // Wait for more companions or for the oldest request's deadline, whichever comes first.
                await _signal.WaitAsync(delay, stop).ConfigureAwait(false);
            }
        }
    }

    private (TKey Key, List<Pending> Entries)? TakeBatch(out TimeSpan? waitFor)
    {
        waitFor = null;
        lock (_gate)
        {
            if (_pending.Count == 0)
            {
                return null;
            }

            var (key, list) = _pending.MinBy(kv => kv.Value.First!.Value.Arrived);
            var age = Stopwatch.GetElapsedTime(list.First!.Value.Arrived);
            var expected = !_options.AdaptiveWait ? _options.MaxBatchSize : _lastBatchSize.TryGetValue(key, out var last) ? last : 1;
            if (list.Count < Math.Min(_options.MaxBatchSize, expected) && age < _options.MaxWait)
            {
                waitFor = _options.MaxWait - age;
                return null;
            }

            var entries = new List<Pending>(Math.Min(list.Count, _options.MaxBatchSize));
            while (entries.Count < _options.MaxBatchSize && list.First is { } first)
            {
                list.RemoveFirst();
                entries.Add(first.Value);
            }

            if (list.Count == 0)
            {
                _pending.Remove(key);
            }

            _queued -= entries.Count;
            if (_lastBatchSize.Count >= 1024 && !_lastBatchSize.ContainsKey(key))
            {
                // Keys come and go with models and decoding settings: forget old sizes rather than grow without bound.
                _lastBatchSize.Clear();
            }

            _lastBatchSize[key] = entries.Count;
            return (key, entries);
        }
    }

    private async Task RunBatchAsync(TKey key, List<Pending> entries, CancellationToken stop)
    {
        foreach (var entry in entries)
        {
            entry.Registration.Dispose();
        }

        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _requests, entries.Count);
        if (entries.Count > Volatile.Read(ref _largestBatch))
        {
            Volatile.Write(ref _largestBatch, entries.Count);
        }

        var now = Stopwatch.GetTimestamp();
        var batch = entries.Select(e => new BatchEntry<TRequest>(e.Request, Stopwatch.GetElapsedTime(e.Arrived, now))).ToList();
        try
        {
            var results = await _process(key, batch, stop).ConfigureAwait(false);
            if (results.Count != entries.Count)
            {
                throw new InvalidOperationException($"The batch function returned {results.Count} results for {entries.Count} requests.");
            }

            for (var i = 0; i < entries.Count; i++)
            {
                entries[i].Completion.TrySetResult(results[i]);
            }
        }
        catch (Exception e)
        {
            foreach (var entry in entries)
            {
                entry.Completion.TrySetException(e);
            }
        }
    }

    private sealed class Pending(TRequest request, long arrived)
    {
        public TRequest Request { get; } = request;

        public long Arrived { get; } = arrived;

        public TaskCompletionSource<TResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationTokenRegistration Registration { get; set; }
    }
}
