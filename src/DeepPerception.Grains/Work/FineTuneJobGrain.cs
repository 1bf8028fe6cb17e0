using System.Collections.Immutable;
using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Compute;
using DeepPerception.Abstractions.Datasets;
using DeepPerception.Abstractions.Models;
using DeepPerception.Abstractions.Telemetry;
using DeepPerception.Abstractions.Tenancy;
using DeepPerception.Abstractions.Work;
using DeepPerception.Grains.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Utilities;

namespace DeepPerception.Grains.Work;

/// <summary>The persistent state of a fine-tuning job.</summary>
public sealed class FineTuneJobState
{
    /// <summary>The lifecycle.</summary>
    public WorkLifecycle Lifecycle { get; set; } = new();

    /// <summary>The accepted request.</summary>
    public FineTuneRequest? Request { get; set; }

    /// <summary>The engine spec (checkpoint prefix is set per attempt).</summary>
    public FineTuneSpec? Spec { get; set; }

    /// <summary>The current GPU-seconds charge id.</summary>
    public string? ChargeId { get; set; }

    /// <summary>GPU seconds charged under <see cref="ChargeId"/>.</summary>
    public double Charged { get; set; }

    /// <summary>GPU seconds used by attempts since the charge.</summary>
    public double Used { get; set; }

    /// <summary>How many times the job was resumed by a user.</summary>
    public int Resumes { get; set; }

    /// <summary>The final outcome.</summary>
    public JobOutcome? Outcome { get; set; }

    /// <summary>The model version the job produced.</summary>
    public int? ResultModelVersion { get; set; }
}

/// <summary>
/// A fine-tuning job. Submission validates the tenant, model and dataset version, reserves GPU seconds, freezes the
/// dataset version and queues the job; the scheduler dispatches attempts to GPU silos; a lost or drained silo sends
/// the job back to the queue and the next attempt resumes from the last reported checkpoint; success registers a model
/// version with its lineage.
/// </summary>
[ControlPlane]
internal sealed partial class FineTuneJobGrain(
    [PersistentState("finetune-job", PlatformStorage.Name)] IPersistentState<FineTuneJobState> state,
    TimeProvider time,
    ILogger<FineTuneJobGrain> logger) : Grain, IFineTuneJobGrain
{
    private readonly ObserverManager<IFineTuneJobObserver> _observers = new(TimeSpan.FromMinutes(10), logger);

    private string Key => this.GetPrimaryKeyString();

    private WorkLifecycle Life => state.State.Lifecycle;

    private IJobSchedulerGrain Scheduler => GrainFactory.GetGrain<IJobSchedulerGrain>(PlatformKeys.Singleton);

    async Task<FineTuneJobStatus> IFineTuneJobGrain.SubmitAsync(FineTuneRequest request)
    {
        var (tenantId, jobId) = PlatformKeys.Split(Key);
        if (Life.Submitted)
        {
            throw new ConflictException($"Job '{Key}' was already submitted.");
        }

        ValidateRequest(request);
        var tenant = GrainFactory.GetGrain<ITenantGrain>(tenantId);
        if (!await tenant.ExistsAsync())
        {
            throw new ResourceNotFoundException($"Tenant '{tenantId}' does not exist.");
        }

        var dataset = GrainFactory.GetGrain<IDatasetGrain>(PlatformKeys.Scoped(tenantId, request.DatasetId, "dataset id"));
        if (!await dataset.ExistsAsync())
        {
            throw new ResourceNotFoundException($"Dataset '{request.DatasetId}' does not exist in tenant '{tenantId}'.");
        }

        var version = await dataset.GetVersionAsync(request.DatasetVersion);
        var model = GrainFactory.GetGrain<IModelGrain>(PlatformKeys.Scoped(tenantId, request.ModelId, "model id"));
        if (!await model.ExistsAsync())
        {
            throw new ResourceNotFoundException($"Model '{request.ModelId}' does not exist in tenant '{tenantId}'.");
        }

        var startCheckpoint = await model.GetCheckpointKeyAsync(request.ParentModelVersion);
        var knowledge = await dataset.GetKnowledgeBaseAsync();

        var chargeId = Key;
        var decision = await tenant.ChargeGpuSecondsAsync(chargeId, request.EstimatedGpuSeconds);
        if (!decision.Accepted)
        {
            throw new QuotaExceededException(decision.Reason ?? "The tenant's GPU budget refuses the job.");
        }

        try
        {
            await dataset.MarkVersionUsedAsync(request.DatasetVersion, Key);
        }
        catch
        {
            await tenant.RefundGpuSecondsAsync(chargeId, request.EstimatedGpuSeconds);
            throw;
        }

        var s = state.State;
        s.Request = request;
        s.Spec = new FineTuneSpec(Key, tenantId, startCheckpoint, version.SamplesIndexKey, knowledge, request.Recipe,
            CheckpointPrefix: string.Empty, OutputKey: $"{tenantId}/jobs/{jobId}/output/model.safetensors");
        s.ChargeId = chargeId;
        s.Charged = request.EstimatedGpuSeconds;
        Life.Submit(time.GetUtcNow());
        await state.WriteStateAsync();
        PlatformMetrics.WorkSubmitted(tenantId, WorkKind.FineTune);
        await Scheduler.EnqueueAsync(new WorkItemRequest(Key, tenantId, WorkKind.FineTune, request.Recipe.Method,
            request.EstimatedGpuSeconds));
        return await StatusAsync();
    }

    Task<FineTuneJobStatus> IFineTuneJobGrain.GetStatusAsync()
    {
        RequireSubmitted();
        return StatusAsync();
    }

    async Task<FineTuneJobStatus> IFineTuneJobGrain.CancelAsync(string reason)
    {
        RequireSubmitted();
        var wasRunning = Life.State == WorkState.Running;
        var attempt = Life.Attempt;
        Life.Cancel(string.IsNullOrWhiteSpace(reason) ? "cancelled by user" : reason, time.GetUtcNow());
        PlatformMetrics.WorkFinished(PlatformKeys.Split(Key).TenantId, WorkKind.FineTune, WorkState.Cancelled);
        if (wasRunning)
        {
            await CancelWorkerAsync(attempt);
        }

        await SettleBudgetAsync();
        await state.WriteStateAsync();
        Scheduler.ReleaseAsync(Key, state.State.Resumes).Ignore();
        var status = await StatusAsync();
        _observers.Notify(o => o.OnStatusChanged(status));
        return status;
    }

    async Task<FineTuneJobStatus> IFineTuneJobGrain.ResumeAsync()
    {
        RequireSubmitted();
        var s = state.State;
        if (Life.State is not (WorkState.Failed or WorkState.Cancelled))
        {
            throw new ConflictException($"Only failed or cancelled jobs can be resumed; job '{Key}' is {Life.State}.");
        }

        var tenantId = PlatformKeys.Split(Key).TenantId;
        var chargeId = $"{Key}#resume-{s.Resumes + 1}";
        var decision = await GrainFactory.GetGrain<ITenantGrain>(tenantId)
            .ChargeGpuSecondsAsync(chargeId, s.Request!.EstimatedGpuSeconds);
        if (!decision.Accepted)
        {
            throw new QuotaExceededException(decision.Reason ?? "The tenant's GPU budget refuses the job.");
        }

        s.Resumes++;
        s.ChargeId = chargeId;
        s.Charged = s.Request.EstimatedGpuSeconds;
        s.Used = 0;
        s.Outcome = null;
        Life.Requeue(time.GetUtcNow());
        await state.WriteStateAsync();
        await Scheduler.EnqueueAsync(new WorkItemRequest(Key, tenantId, WorkKind.FineTune, s.Request.Recipe.Method,
            s.Request.EstimatedGpuSeconds, s.Resumes));
        return await StatusAsync();
    }

    Task IFineTuneJobGrain.SubscribeAsync(IFineTuneJobObserver observer)
    {
        _observers.Subscribe(observer, observer);
        return Task.CompletedTask;
    }

    Task IFineTuneJobGrain.UnsubscribeAsync(IFineTuneJobObserver observer)
    {
        _observers.Unsubscribe(observer);
        return Task.CompletedTask;
    }

    async Task<DispatchResult> IScheduledWorkGrain.DispatchAsync(string siloId)
    {
        if (WorkerAttempts.Settled(Life, "Job") is { } settled)
        {
            return settled;
        }

        var (tenantId, jobId) = PlatformKeys.Split(Key);
        var attempt = Life.BeginAttempt(siloId, time.GetUtcNow());
        var spec = state.State.Spec! with { CheckpointPrefix = $"{tenantId}/jobs/{jobId}/attempt-{attempt}/checkpoints" };
        var order = new FineTuneWorkOrder(attempt, spec, Life.LastCheckpointKey);
        var (placement, failure) = await WorkerAttempts.StartAsync(GrainFactory, Key, attempt, siloId, Life, time,
            worker => worker.StartFineTuneAsync(order), state.WriteStateAsync);
        if (failure is not null)
        {
            return failure;
        }

        var method = state.State.Request!.Recipe.Method.ToString().ToUpperInvariant();
        var resume = order.ResumeFromCheckpointKey is null ? string.Empty : $", resuming from '{order.ResumeFromCheckpointKey}'";
        Life.Touch($"Running {method} attempt {attempt} on GPU silo {placement!.SiloName}{resume}.", time.GetUtcNow());
        await state.WriteStateAsync();
        await NotifyStatusAsync();
        return new DispatchResult(true, attempt, placement.SiloId, false, null);
    }

    async Task IScheduledWorkGrain.InterruptAsync(int attempt, string reason)
    {
        if (!Life.Interrupt(attempt, reason, time.GetUtcNow()))
        {
            return;
        }

        await state.WriteStateAsync();
        await CancelWorkerAsync(attempt);
        await NotifyStatusAsync();
    }

    async Task<bool> IScheduledWorkGrain.ReportProgressAsync(int attempt, JobProgress progress)
    {
        if (!Life.AcceptProgress(attempt, progress, time.GetUtcNow()))
        {
            return false;
        }

        if (progress.CheckpointKey is not null)
        {
            PlatformKeys.RequireTenantArtifact(PlatformKeys.Split(Key).TenantId, progress.CheckpointKey, "checkpoint key");
            await state.WriteStateAsync();
        }

        _observers.Notify(o => o.OnProgress(Key, progress));
        return true;
    }

    async Task IScheduledWorkGrain.ReportStorageOutageAsync(int attempt, string reason)
    {
        if (!Life.WaitForStorage(attempt, reason, time.GetUtcNow()))
        {
            return;
        }

        LogStorageOutage(Key, attempt, reason);
        PlatformMetrics.WorkWaitingForStorage(PlatformKeys.Split(Key).TenantId, WorkKind.FineTune);
        await state.WriteStateAsync();
        Scheduler.DeferForStorageAsync(Key, attempt).Ignore();
        await NotifyStatusAsync();
    }

    async Task IFineTuneJobGrain.ReportOutcomeAsync(int attempt, JobOutcome outcome)
    {
        if (Life.State != WorkState.Running || attempt != Life.Attempt)
        {
            return;
        }

        var s = state.State;
        s.Used += Math.Max(0, outcome.GpuSeconds);
        var now = time.GetUtcNow();
        if (outcome.Kind == OutcomeKind.Succeeded)
        {
            try
            {
                s.ResultModelVersion = await RegisterModelVersionAsync(outcome);
                Life.Complete(attempt, OutcomeKind.Succeeded,
                    $"Succeeded after {attempt} attempt(s); registered model version {s.ResultModelVersion}.", now);
            }
            catch (Exception ex)
            {
                Life.Complete(attempt, OutcomeKind.Failed, $"Training finished but the model version could not be registered: {ex.Message}", now);
            }
        }
        else
        {
            Life.Complete(attempt, outcome.Kind, outcome.Kind == OutcomeKind.Cancelled
                ? "Cancelled by the engine."
                : $"Failed: {outcome.Error ?? "unknown error"}", now);
        }

        s.Outcome = outcome;
        PlatformMetrics.WorkFinished(PlatformKeys.Split(Key).TenantId, WorkKind.FineTune, Life.State);
        await SettleBudgetAsync();
        await state.WriteStateAsync();
        Scheduler.ReleaseAsync(Key, state.State.Resumes).Ignore();
        await NotifyStatusAsync();
    }

    private async Task<int> RegisterModelVersionAsync(JobOutcome outcome)
    {
        var s = state.State;
        var request = s.Request!;
        var tenantId = PlatformKeys.Split(Key).TenantId;
        var model = GrainFactory.GetGrain<IModelGrain>(PlatformKeys.Scoped(tenantId, request.ModelId, "model id"));
        var info = await model.GetAsync();
        var lineage = new ModelLineage(info.BaseModel, request.DatasetId, request.DatasetVersion, request.Recipe,
            request.ParentModelVersion, Key);
        var version = await model.RegisterVersionAsync(new RegisterModelVersionRequest(
            outcome.OutputCheckpointKey ?? throw new InvalidOperationException("The engine reported no output checkpoint."),
            lineage, outcome.Metrics));
        return version.Version;
    }

    private async Task SettleBudgetAsync()
    {
        var s = state.State;
        if (s.ChargeId is null)
        {
            return;
        }

        s.Charged -= await WorkerAttempts.RefundUnusedAsync(GrainFactory, Key, s.ChargeId, s.Charged, s.Used);
    }

    private Task CancelWorkerAsync(int attempt) =>
        WorkerAttempts.CancelAsync(GrainFactory, Key, attempt, "job left this attempt", ex => LogCancelFailed(ex, Key, attempt));

    private async Task NotifyStatusAsync()
    {
        var status = await StatusAsync();
        _observers.Notify(o => o.OnStatusChanged(status));
    }

    private async Task<FineTuneJobStatus> StatusAsync()
    {
        var s = state.State;
        var message = Life.StatusMessage;
        if (Life.State == WorkState.Queued)
        {
            try
            {
                message = (await Scheduler.GetPlacementAsync(Key)).Reason;
            }
            catch (Exception ex)
            {
                LogPlacementFailed(ex, Key);
            }
        }

        return new FineTuneJobStatus(Key, Life.State, s.Request!.Recipe.Method, Life.Attempt, Life.SiloId,
            Life.LatestProgress, Life.LastCheckpointKey, message, s.ResultModelVersion, s.Outcome, Life.SubmittedAt,
            Life.UpdatedAt, Life.RecentProgress.ToImmutableArray(), s.Request);
    }

    private void RequireSubmitted()
    {
        if (!Life.Submitted)
        {
            throw new ResourceNotFoundException($"Job '{Key}' does not exist.");
        }
    }

    private static void ValidateRequest(FineTuneRequest request)
    {
        var r = request.Recipe ?? throw new InvalidRequestException("A training recipe is required.");
        if (!Enum.IsDefined(r.Method) || r.MaxSteps <= 0 || r.BatchSize <= 0 || r.CheckpointEverySteps <= 0
            || !double.IsFinite(r.LearningRate) || r.LearningRate <= 0)
        {
            throw new InvalidRequestException(
                "The recipe needs a known method and positive max steps, batch size, checkpoint interval and learning rate.");
        }

        if (!double.IsFinite(request.EstimatedGpuSeconds) || request.EstimatedGpuSeconds <= 0)
        {
            throw new InvalidRequestException("The estimated GPU seconds must be a positive number.");
        }

        if (request.DatasetVersion <= 0)
        {
            throw new InvalidRequestException("A dataset version (1 or more) is required.");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cancelling attempt {Attempt} of {JobKey} failed")]
    private partial void LogCancelFailed(Exception exception, string jobKey, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobKey} attempt {Attempt} waits for storage: {Reason}")]
    private partial void LogStorageOutage(string jobKey, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Reading the placement of {JobKey} failed")]
    private partial void LogPlacementFailed(Exception exception, string jobKey);
}
