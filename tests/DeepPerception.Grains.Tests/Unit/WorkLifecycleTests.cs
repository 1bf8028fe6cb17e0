using System.Collections.Immutable;
using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Work;
using DeepPerception.Grains.Work;

namespace DeepPerception.Grains.Tests.Unit;

/// <summary>The job state machine and its fencing of stale attempts.</summary>
public sealed class WorkLifecycleTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UnixEpoch;

    private static JobProgress Progress(int step, string? checkpoint = null) =>
        new(step, 10, ImmutableDictionary<string, double>.Empty, checkpoint, null);

    [Fact]
    public void Queued_running_succeeded()
    {
        var life = new WorkLifecycle();
        life.Submit(Now);
        var attempt = life.BeginAttempt("silo-a", Now);

        Assert.True(life.AcceptProgress(attempt, Progress(4, "t/ck/4"), Now));
        Assert.True(life.Complete(attempt, OutcomeKind.Succeeded, "done", Now));
        Assert.Equal(WorkState.Succeeded, life.State);
        Assert.Equal("t/ck/4", life.LastCheckpointKey);
        Assert.Throws<ConflictException>(() => life.Cancel("late", Now));
        Assert.Throws<ConflictException>(() => life.BeginAttempt("silo-a", Now));
    }

    [Fact]
    public void An_interrupted_attempt_is_fenced_off_and_the_next_one_keeps_the_checkpoint()
    {
        var life = new WorkLifecycle();
        life.Submit(Now);
        var first = life.BeginAttempt("silo-a", Now);
        life.AcceptProgress(first, Progress(8, "t/ck/8"), Now);

        Assert.True(life.Interrupt(first, "silo lost", Now));
        Assert.Equal(WorkState.Queued, life.State);
        Assert.Contains("t/ck/8", life.StatusMessage);
        var second = life.BeginAttempt("silo-b", Now);

        Assert.Equal(2, second);
        Assert.False(life.AcceptProgress(first, Progress(9, "t/ck/9-stale"), Now));
        Assert.False(life.Complete(first, OutcomeKind.Succeeded, "stale", Now));
        Assert.False(life.Interrupt(first, "stale", Now));
        Assert.Equal("t/ck/8", life.LastCheckpointKey);
        Assert.Equal(WorkState.Running, life.State);
    }

    [Fact]
    public void Failed_and_cancelled_work_can_be_requeued_but_running_work_cannot()
    {
        var life = new WorkLifecycle();
        Assert.Throws<ConflictException>(() => life.Cancel("not submitted", Now));
        life.Submit(Now);
        Assert.Throws<ConflictException>(() => life.Submit(Now));
        var attempt = life.BeginAttempt("s", Now);
        Assert.Throws<ConflictException>(() => life.Requeue(Now));

        life.Complete(attempt, OutcomeKind.Failed, "oom", Now);
        life.Requeue(Now);

        Assert.Equal(WorkState.Queued, life.State);
        life.Cancel("stop", Now);
        Assert.Equal(WorkState.Cancelled, life.State);
        life.Requeue(Now);
        Assert.Equal(WorkState.Queued, life.State);
    }

    [Fact]
    public void A_failed_start_returns_the_attempt_to_the_queue()
    {
        var life = new WorkLifecycle();
        life.Submit(Now);
        var attempt = life.BeginAttempt("s", Now);

        life.AbortAttempt(attempt, "silo unreachable", Now);

        Assert.Equal(WorkState.Queued, life.State);
        Assert.Null(life.SiloId);
        Assert.Contains("silo unreachable", life.StatusMessage);
    }

    [Fact]
    public void A_storage_outage_moves_the_attempt_to_waiting_for_storage_and_the_next_attempt_keeps_the_checkpoint()
    {
        var life = new WorkLifecycle();
        life.Submit(Now);
        var first = life.BeginAttempt("silo-a", Now);
        life.AcceptProgress(first, Progress(4, "t/ck/4"), Now);

        Assert.False(life.WaitForStorage(first + 1, "stale", Now));
        Assert.True(life.WaitForStorage(first, "GetAsync failed", Now));

        Assert.Equal(WorkState.WaitingForStorage, life.State);
        Assert.False(life.IsTerminal);
        Assert.Null(life.SiloId);
        Assert.Contains("GetAsync failed", life.StatusMessage);
        Assert.Contains("t/ck/4", life.StatusMessage);
        Assert.False(life.AcceptProgress(first, Progress(5), Now));
        Assert.False(life.Complete(first, OutcomeKind.Failed, "late failure", Now));

        var second = life.BeginAttempt("silo-b", Now);
        Assert.Equal(WorkState.Running, life.State);
        Assert.Equal(first + 1, second);
        Assert.Equal("t/ck/4", life.LastCheckpointKey);
    }

    [Fact]
    public void Work_waiting_for_storage_can_be_cancelled_but_not_resumed()
    {
        var life = new WorkLifecycle();
        life.Submit(Now);
        var attempt = life.BeginAttempt("silo-a", Now);
        life.WaitForStorage(attempt, "outage", Now);

        Assert.Throws<ConflictException>(() => life.Requeue(Now));
        life.Cancel("no longer needed", Now);
        Assert.Equal(WorkState.Cancelled, life.State);
    }
}
