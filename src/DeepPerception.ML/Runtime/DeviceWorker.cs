using System.Collections.Concurrent;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepPerception.ML.Runtime;

/// <summary>
/// The one thread that does all tensor work of a device. Callers (hosts, grains, the CLI) enqueue work and await a plain
/// result; each work item runs inside its own dispose scope, so no tensor escapes to the caller's thread. Dispose scopes are
/// thread-local in TorchSharp, which is why all work of a device is serialised here.
/// </summary>
public sealed class DeviceWorker : IDisposable
{
    private readonly BlockingCollection<WorkItem> _queue = new();
    private readonly Thread _thread;
    private int _busy;
    private long _busyTicks;
    private long _completed;

    /// <summary>Starts the worker thread for <paramref name="device"/> with <paramref name="threads"/> intra-op threads.</summary>
    public DeviceWorker(Device device, int threads = 1, string name = "device-worker")
    {
        Device = device;
        Threads = threads;
        NativeHeap.KeepFreedMemory();
        _thread = new Thread(Loop) { IsBackground = true, Name = $"{name}:{device}" };
        _thread.Start();
    }

    /// <summary>The device whose work this thread owns.</summary>
    public Device Device { get; }

    /// <summary>Intra-op threads used by tensor kernels.</summary>
    public int Threads { get; }

    /// <summary>Managed id of the worker thread.</summary>
    public int ThreadId => _thread.ManagedThreadId;

    /// <summary>Work items waiting (not counting the one running).</summary>
    public int QueueLength => _queue.Count;

    /// <summary>Whether an item is running.</summary>
    public bool IsBusy => Volatile.Read(ref _busy) == 1;

    /// <summary>Total time the thread spent running work items.</summary>
    public TimeSpan BusyTime => System.Diagnostics.Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _busyTicks));

    /// <summary>Work items run so far (completed, failed or cancelled).</summary>
    public long CompletedItems => Interlocked.Read(ref _completed);

    /// <summary>Creates a worker on CUDA when available, else on the CPU.</summary>
    public static DeviceWorker CreateDefault(int threads = 1) => new(torch.cuda.is_available() ? CUDA : CPU, threads);

    /// <summary>
    /// Runs <paramref name="work"/> on the worker thread inside a dispose scope and returns its result. The result must not
    /// be or contain a tensor (it would be disposed with the scope); copy values out instead.
    /// </summary>
    public Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_queue.IsAddingCompleted, this);
        var item = new WorkItem<T>(work, cancellationToken);
        _queue.Add(item, CancellationToken.None);
        return item.Task;
    }

    /// <summary>Runs an action on the worker thread inside a dispose scope.</summary>
    public Task RunAsync(Action work, CancellationToken cancellationToken = default) =>
        RunAsync(() =>
        {
            work();
            return true;
        }, cancellationToken);

    private void Loop()
    {
        torch.set_num_threads(Threads);
        foreach (var item in _queue.GetConsumingEnumerable())
        {
            Volatile.Write(ref _busy, 1);
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            Action publish;
            try
            {
                publish = item.Execute();
            }
            finally
            {
                Interlocked.Add(ref _busyTicks, System.Diagnostics.Stopwatch.GetTimestamp() - started);
                Interlocked.Increment(ref _completed);
                Volatile.Write(ref _busy, 0);
            }

            // The caller sees the outcome only after the usage counters include this item.
            publish();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_queue.IsAddingCompleted)
        {
            return;
        }

        _queue.CompleteAdding();
        _thread.Join();
        _queue.Dispose();
    }

    private abstract class WorkItem
    {
        /// <summary>Runs the work and returns the action that hands its outcome to the caller.</summary>
        public abstract Action Execute();
    }

    private sealed class WorkItem<T>(Func<T> work, CancellationToken cancellationToken) : WorkItem
    {
        private readonly TaskCompletionSource<T> _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<T> Task => _tcs.Task;

        public override Action Execute()
        {
            if (cancellationToken.IsCancellationRequested)
            {
                return () => _tcs.TrySetCanceled(cancellationToken);
            }

            try
            {
                T result;
                using (NewDisposeScope())
                {
                    result = work();
                }

                return () => _tcs.TrySetResult(result);
            }
            catch (OperationCanceledException e) when (cancellationToken.IsCancellationRequested)
            {
                return () => _tcs.TrySetCanceled(e.CancellationToken);
            }
            catch (Exception e)
            {
                return () => _tcs.TrySetException(e);
            }
        }
    }
}
