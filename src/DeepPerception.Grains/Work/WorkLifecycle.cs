using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Work;

namespace DeepPerception.Grains.Work;

/// <summary>
/// The state machine shared by fine-tuning jobs and evaluation runs:
/// queued → running (attempt n on a silo) → succeeded / failed / cancelled, with running → queued when the attempt's
/// silo is lost or drained and running → waiting-for-storage when the attempt met a storage outage (the scheduler
/// starts the next attempt from there later). Every report carries its attempt number, so reports from a stale attempt (a silo that
/// was declared dead but kept running for a while) are rejected.
/// </summary>
public sealed class WorkLifecycle
{
    private const int MaxRecentProgress = 20;

    /// <summary>Whether the work was submitted.</summary>
    public bool Submitted { get; set; }

    /// <summary>The current state.</summary>
    public WorkState State { get; set; } = WorkState.Queued;

    /// <summary>The current (or last) attempt number; 0 before the first dispatch.</summary>
    public int Attempt { get; set; }

    /// <summary>The silo of the running attempt.</summary>
    public string? SiloId { get; set; }

    /// <summary>The newest durable checkpoint reported by any attempt.</summary>
    public string? LastCheckpointKey { get; set; }

    /// <summary>A human-readable status line.</summary>
    public string StatusMessage { get; set; } = string.Empty;

    /// <summary>The newest progress snapshot.</summary>
    public JobProgress? LatestProgress { get; set; }

    /// <summary>The most recent progress snapshots (bounded).</summary>
    public List<JobProgress> RecentProgress { get; set; } = [];

    /// <summary>When the work was submitted.</summary>
    public DateTimeOffset SubmittedAt { get; set; }

    /// <summary>When the state last changed.</summary>
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Whether the work reached a final state.</summary>
    public bool IsTerminal => State is WorkState.Succeeded or WorkState.Failed or WorkState.Cancelled;

    /// <summary>Marks the work submitted and queued.</summary>
    public void Submit(DateTimeOffset now)
    {
        if (Submitted)
        {
            throw new ConflictException("The work was already submitted.");
        }

        Submitted = true;
        State = WorkState.Queued;
        SubmittedAt = now;
        Touch("Queued: waiting for the scheduler.", now);
    }

    /// <summary>Starts a new attempt on a silo; only from <see cref="WorkState.Queued"/> or <see cref="WorkState.WaitingForStorage"/>.</summary>
    public int BeginAttempt(string siloId, DateTimeOffset now)
    {
        if (!Submitted || State is not (WorkState.Queued or WorkState.WaitingForStorage))
        {
            throw new ConflictException($"Cannot start an attempt while the work is {State}.");
        }

        Attempt++;
        State = WorkState.Running;
        SiloId = siloId;
        Touch($"Starting attempt {Attempt}.", now);
        return Attempt;
    }

    /// <summary>Reverts an attempt whose start failed back to the queue.</summary>
    public void AbortAttempt(int attempt, string reason, DateTimeOffset now)
    {
        if (State == WorkState.Running && attempt == Attempt)
        {
            State = WorkState.Queued;
            SiloId = null;
            Touch($"Queued: attempt {attempt} could not start ({reason}).", now);
        }
    }

    /// <summary>Records progress of the current attempt; false when the attempt is stale or not running.</summary>
    public bool AcceptProgress(int attempt, JobProgress progress, DateTimeOffset now)
    {
        if (State != WorkState.Running || attempt != Attempt)
        {
            return false;
        }

        LatestProgress = progress;
        RecentProgress.Add(progress);
        if (RecentProgress.Count > MaxRecentProgress)
        {
            RecentProgress.RemoveRange(0, RecentProgress.Count - MaxRecentProgress);
        }

        if (progress.CheckpointKey is not null)
        {
            LastCheckpointKey = progress.CheckpointKey;
        }

        UpdatedAt = now;
        return true;
    }

    /// <summary>Sends the running attempt back to the queue (silo lost or drained); false when stale.</summary>
    public bool Interrupt(int attempt, string reason, DateTimeOffset now)
    {
        if (State != WorkState.Running || attempt != Attempt)
        {
            return false;
        }

        State = WorkState.Queued;
        SiloId = null;
        var resume = LastCheckpointKey is null ? "from the start" : $"from checkpoint '{LastCheckpointKey}'";
        Touch($"Queued again after attempt {attempt} was interrupted ({reason}); will resume {resume}.", now);
        return true;
    }

    /// <summary>
    /// Stops the running attempt because of a storage outage: the work waits for storage and keeps its last checkpoint;
    /// false when stale.
    /// </summary>
    public bool WaitForStorage(int attempt, string reason, DateTimeOffset now)
    {
        if (State != WorkState.Running || attempt != Attempt)
        {
            return false;
        }

        State = WorkState.WaitingForStorage;
        SiloId = null;
        var resume = LastCheckpointKey is null ? "from the start" : $"from checkpoint '{LastCheckpointKey}'";
        Touch($"Waiting for storage: attempt {attempt} stopped because the artifact store is unavailable ({reason}). "
              + $"The scheduler retries with backoff and will resume {resume}.", now);
        return true;
    }

    /// <summary>Ends the current attempt with a final state; false when stale.</summary>
    public bool Complete(int attempt, OutcomeKind kind, string message, DateTimeOffset now)
    {
        if (State != WorkState.Running || attempt != Attempt)
        {
            return false;
        }

        State = kind switch
        {
            OutcomeKind.Succeeded => WorkState.Succeeded,
            OutcomeKind.Cancelled => WorkState.Cancelled,
            _ => WorkState.Failed,
        };
        Touch(message, now);
        return true;
    }

    /// <summary>Cancels queued or running work.</summary>
    public void Cancel(string reason, DateTimeOffset now)
    {
        if (!Submitted || IsTerminal)
        {
            throw new ConflictException($"Cannot cancel work that is {(Submitted ? State.ToString() : "not submitted")}.");
        }

        State = WorkState.Cancelled;
        Touch($"Cancelled: {reason}", now);
    }

    /// <summary>Queues failed or cancelled work again (it resumes from the last checkpoint).</summary>
    public void Requeue(DateTimeOffset now)
    {
        if (State is not (WorkState.Failed or WorkState.Cancelled))
        {
            throw new ConflictException($"Only failed or cancelled work can be resumed; this work is {State}.");
        }

        State = WorkState.Queued;
        SiloId = null;
        Touch("Queued again to resume" + (LastCheckpointKey is null ? "." : $" from checkpoint '{LastCheckpointKey}'."), now);
    }

    /// <summary>Sets the status line.</summary>
    public void Touch(string message, DateTimeOffset now)
    {
        StatusMessage = message;
        UpdatedAt = now;
    }
}
