using System.Collections.Concurrent;
using DeepPerception.ML.Runtime;

namespace DeepPerception.ML.Tests;

public sealed class DynamicBatcherTests
{
    private static Task<IReadOnlyList<string>> Echo(string key, IReadOnlyList<BatchEntry<int>> batch, ConcurrentQueue<(string Key, int[] Items)> log)
    {
        log.Enqueue((key, batch.Select(b => b.Request).ToArray()));
        return Task.FromResult<IReadOnlyList<string>>(batch.Select(b => $"{key}:{b.Request}:{batch.Count}").ToList());
    }

    [Fact]
    public async Task Concurrent_requests_of_one_key_form_one_full_batch_and_each_gets_its_own_result()
    {
        var log = new ConcurrentQueue<(string Key, int[] Items)>();
        await using var batcher = new DynamicBatcher<string, int, string>(
            new DynamicBatcherOptions { MaxBatchSize = 4, MaxWait = TimeSpan.FromSeconds(30), AdaptiveWait = false }, (k, b, _) => Echo(k, b, log));
        var answers = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => batcher.EnqueueAsync("m", i)));
        Assert.Equal(["m:0:4", "m:1:4", "m:2:4", "m:3:4"], answers);
        Assert.Single(log);
        Assert.Equal(1, batcher.Batches);
        Assert.Equal(4, batcher.LargestBatch);
    }

    [Fact]
    public async Task A_lone_request_starts_after_the_max_wait_without_companions()
    {
        var log = new ConcurrentQueue<(string Key, int[] Items)>();
        await using var batcher = new DynamicBatcher<string, int, string>(
            new DynamicBatcherOptions { MaxBatchSize = 8, MaxWait = TimeSpan.FromMilliseconds(20), AdaptiveWait = false }, (k, b, _) => Echo(k, b, log));
        Assert.Equal("m:7:1", await batcher.EnqueueAsync("m", 7).WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Requests_of_different_keys_never_share_a_batch_and_batches_respect_the_max_size()
    {
        var log = new ConcurrentQueue<(string Key, int[] Items)>();
        await using var batcher = new DynamicBatcher<string, int, string>(
            new DynamicBatcherOptions { MaxBatchSize = 3, MaxWait = TimeSpan.FromMilliseconds(50) }, (k, b, _) => Echo(k, b, log));
        var tasks = Enumerable.Range(0, 10).Select(i => batcher.EnqueueAsync(i % 2 == 0 ? "even" : "odd", i)).ToList();
        var answers = await Task.WhenAll(tasks);
        for (var i = 0; i < 10; i++)
        {
            Assert.StartsWith((i % 2 == 0 ? "even" : "odd") + ":" + i + ":", answers[i], StringComparison.Ordinal);
        }

        Assert.All(log, b => Assert.InRange(b.Items.Length, 1, 3));
        Assert.All(log, b => Assert.All(b.Items, i => Assert.Equal(b.Key == "even", i % 2 == 0)));
        Assert.Equal(10, log.Sum(b => b.Items.Length));
        Assert.Equal(10, batcher.Requests);
    }

    [Fact]
    public async Task Requests_arriving_while_a_batch_runs_form_the_next_batch()
    {
        var release = new TaskCompletionSource();
        var sizes = new ConcurrentQueue<int>();
        await using var batcher = new DynamicBatcher<string, int, int>(
            new DynamicBatcherOptions { MaxBatchSize = 8, MaxWait = TimeSpan.Zero },
            async (_, b, _) =>
            {
                sizes.Enqueue(b.Count);
                if (sizes.Count == 1)
                {
                    await release.Task;
                }

                return b.Select(e => e.Request).ToList();
            });
        var first = batcher.EnqueueAsync("m", 0);
        while (sizes.IsEmpty)
        {
            await Task.Delay(5);
        }

        var rest = Enumerable.Range(1, 5).Select(i => batcher.EnqueueAsync("m", i)).ToList();
        while (batcher.QueueLength < 5)
        {
            await Task.Delay(5);
        }

        release.SetResult();
        await first;
        var answers = await Task.WhenAll(rest);
        Assert.Equal(new[] { 1, 2, 3, 4, 5 }, answers);
        Assert.Equal(new[] { 1, 5 }, sizes.ToArray());
    }

    [Fact]
    public async Task A_failing_batch_fails_each_of_its_requests_and_the_batcher_goes_on()
    {
        var calls = 0;
        await using var batcher = new DynamicBatcher<string, int, int>(
            new DynamicBatcherOptions { MaxBatchSize = 2, MaxWait = TimeSpan.FromSeconds(30), AdaptiveWait = false },
            (_, b, _) => Interlocked.Increment(ref calls) == 1
                ? throw new InvalidDataException("bad weights")
                : Task.FromResult<IReadOnlyList<int>>(b.Select(e => e.Request * 10).ToList()));
        var failed = new[] { batcher.EnqueueAsync("m", 1), batcher.EnqueueAsync("m", 2) };
        foreach (var task in failed)
        {
            var error = await Assert.ThrowsAsync<InvalidDataException>(() => task);
            Assert.Equal("bad weights", error.Message);
        }

        var answers = await Task.WhenAll(batcher.EnqueueAsync("m", 3), batcher.EnqueueAsync("m", 4));
        Assert.Equal(new[] { 30, 40 }, answers);
    }

    [Fact]
    public async Task A_request_cancelled_while_waiting_leaves_the_queue_and_a_full_queue_refuses_more()
    {
        await using var batcher = new DynamicBatcher<string, int, int>(
            new DynamicBatcherOptions { MaxBatchSize = 8, MaxWait = TimeSpan.FromMinutes(5), MaxQueueLength = 2, AdaptiveWait = false },
            (_, b, _) => Task.FromResult<IReadOnlyList<int>>(b.Select(e => e.Request).ToList()));
        using var cts = new CancellationTokenSource();
        var cancelled = batcher.EnqueueAsync("m", 1, cts.Token);
        var waiting = batcher.EnqueueAsync("m", 2);
        var full = Assert.Throws<BatcherQueueFullException>(() => { _ = batcher.EnqueueAsync("m", 3); });
        Assert.Equal(2, full.Limit);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Equal(1, batcher.QueueLength);
        Assert.False(waiting.IsCompleted);
    }

    [Fact]
    public async Task With_adaptive_wait_a_lone_request_starts_at_once_and_later_ones_wait_for_as_many_as_the_previous_batch()
    {
        var release = new TaskCompletionSource();
        var sizes = new ConcurrentQueue<int>();
        // A 10-minute max wait: any request that waited for it would time the test out.
        await using var batcher = new DynamicBatcher<string, int, int>(
            new DynamicBatcherOptions { MaxBatchSize = 8, MaxWait = TimeSpan.FromMinutes(10) },
            async (_, b, _) =>
            {
                sizes.Enqueue(b.Count);
                if (sizes.Count == 1)
                {
                    await release.Task;
                }

                return b.Select(e => e.Request).ToList();
            });

        // No previous batch: a lone request starts at once.
        var first = batcher.EnqueueAsync("m", 0);
        while (sizes.IsEmpty)
        {
            await Task.Delay(5).WaitAsync(TimeSpan.FromSeconds(30));
        }

        // Five arrive while it runs; the previous batch held one, so they start together as soon as it ends.
        var second = Enumerable.Range(1, 5).Select(i => batcher.EnqueueAsync("m", i)).ToList();
        while (batcher.QueueLength < 5)
        {
            await Task.Delay(5);
        }

        release.SetResult();
        Assert.Equal(0, await first.WaitAsync(TimeSpan.FromMinutes(1)));
        Assert.Equal(new[] { 1, 2, 3, 4, 5 }, await Task.WhenAll(second).WaitAsync(TimeSpan.FromMinutes(1)));

        // The previous batch held five: a lone request now waits for companions instead of starting alone...
        var lone = batcher.EnqueueAsync("m", 10);
        await Task.Delay(300);
        Assert.False(lone.IsCompleted);
        // ...and starts with them once five are queued.
        var companions = Enumerable.Range(11, 4).Select(i => batcher.EnqueueAsync("m", i)).ToList();
        Assert.Equal(new[] { 10, 11, 12, 13, 14 }, await Task.WhenAll(companions.Prepend(lone)).WaitAsync(TimeSpan.FromMinutes(1)));
        Assert.Equal(new[] { 1, 5, 5 }, sizes.ToArray());
    }

    [Fact]
    public async Task Without_adaptive_wait_every_batch_that_is_not_full_waits_the_max_wait()
    {
        var log = new ConcurrentQueue<(string Key, int[] Items)>();
        await using var batcher = new DynamicBatcher<string, int, string>(
            new DynamicBatcherOptions { MaxBatchSize = 4, MaxWait = TimeSpan.FromMilliseconds(100), AdaptiveWait = false },
            (k, b, _) => Echo(k, b, log));
        Assert.Equal("m:1:1", await batcher.EnqueueAsync("m", 1).WaitAsync(TimeSpan.FromSeconds(30)));
        var started = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal("m:2:1", await batcher.EnqueueAsync("m", 2).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(started.Elapsed >= TimeSpan.FromMilliseconds(90), $"The second lone request started after {started.Elapsed.TotalMilliseconds} ms.");
    }

    [Fact]
    public void Options_out_of_range_are_refused_by_name()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new DynamicBatcherOptions { MaxBatchSize = 0 }.Validate());
        Assert.Equal("MaxBatchSize", error.ParamName);
    }
}
