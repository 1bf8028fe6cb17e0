using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Compute;
using DeepPerception.Abstractions.Evaluation;
using DeepPerception.Abstractions.Models;
using DeepPerception.Abstractions.Telemetry;
using DeepPerception.Abstractions.Tenancy;
using DeepPerception.Abstractions.Work;
using DeepPerception.Grains.Hosting;
using Microsoft.Extensions.Logging;

namespace DeepPerception.Grains.Work;

/// <summary>The persistent state of an evaluation run.</summary>
public sealed class EvaluationRunState
{
    /// <summary>The lifecycle.</summary>
    public WorkLifecycle Lifecycle { get; set; } = new();

    /// <summary>The accepted request.</summary>
    public EvaluationRequest? Request { get; set; }

    /// <summary>The checkpoint of the evaluated model version.</summary>
    public string? ModelCheckpointKey { get; set; }

    /// <summary>GPU seconds charged.</summary>
    public double Charged { get; set; }

    /// <summary>GPU seconds used.</summary>
    public double Used { get; set; }

    /// <summary>The final outcome.</summary>
    public EvaluationOutcome? Outcome { get; set; }
}

/// <summary>An evaluation run the platform executes on a GPU silo with a pinned harness.</summary>
[ControlPlane]
internal sealed partial class EvaluationRunGrain(
    [PersistentState("evaluation-run", PlatformStorage.Name)] IPersistentState<EvaluationRunState> state,
    TimeProvider time,
    ILogger<EvaluationRunGrain> logger) : Grain, IEvaluationRunGrain
{
    private string Key => this.GetPrimaryKeyString();

    private WorkLifecycle Life => state.State.Lifecycle;

    private IJobSchedulerGrain Scheduler => GrainFactory.GetGrain<IJobSchedulerGrain>(PlatformKeys.Singleton);

    async Task<EvaluationRunStatus> IEvaluationRunGrain.SubmitAsync(EvaluationRequest request)
    {
        var tenantId = PlatformKeys.Split(Key).TenantId;
        if (Life.Submitted)
        {
            throw new ConflictException($"Evaluation run '{Key}' was already submitted.");
        }

        ValidateHarness(tenantId, request.Harness);
        if (!double.IsFinite(request.EstimatedGpuSeconds) || request.EstimatedGpuSeconds <= 0)
        {
            throw new InvalidRequestException("The estimated GPU seconds must be a positive number.");
        }

        var tenant = GrainFactory.GetGrain<ITenantGrain>(tenantId);
        if (!await tenant.ExistsAsync())
        {
            throw new ResourceNotFoundException($"Tenant '{tenantId}' does not exist.");
        }

        var model = GrainFactory.GetGrain<IModelGrain>(PlatformKeys.Scoped(tenantId, request.ModelId, "model id"));
        if (!await model.ExistsAsync())
        {
            throw new ResourceNotFoundException($"Model '{request.ModelId}' does not exist in tenant '{tenantId}'.");
        }

        var checkpoint = (await model.GetVersionAsync(request.ModelVersion)).CheckpointKey;
        var decision = await tenant.ChargeGpuSecondsAsync(Key, request.EstimatedGpuSeconds);
        if (!decision.Accepted)
        {
            throw new QuotaExceededException(decision.Reason ?? "The tenant's GPU budget refuses the evaluation.");
        }

        var s = state.State;
        s.Request = request;
        s.ModelCheckpointKey = checkpoint;
        s.Charged = request.EstimatedGpuSeconds;
        Life.Submit(time.GetUtcNow());
        PlatformMetrics.WorkSubmitted(tenantId, WorkKind.Evaluation);
        await state.WriteStateAsync();
        await Scheduler.EnqueueAsync(new WorkItemRequest(Key, tenantId, WorkKind.Evaluation, null, request.EstimatedGpuSeconds));
        return await StatusAsync();
    }

    Task<EvaluationRunStatus> IEvaluationRunGrain.GetStatusAsync()
    {
        RequireSubmitted();
        return StatusAsync();
    }

    async Task<EvaluationRunStatus> IEvaluationRunGrain.CancelAsync(string reason)
    {
        RequireSubmitted();
        var wasRunning = Life.State == WorkState.Running;
        Life.Cancel(string.IsNullOrWhiteSpace(reason) ? "cancelled by user" : reason, time.GetUtcNow());
        PlatformMetrics.WorkFinished(PlatformKeys.Split(Key).TenantId, WorkKind.Evaluation, WorkState.Cancelled);
        if (wasRunning)
        {
            await CancelWorkerAsync(Life.Attempt);
        }

        await SettleBudgetAsync();
        await state.WriteStateAsync();
        Scheduler.ReleaseAsync(Key, 0).Ignore();
        return await StatusAsync();
    }

    async Task<DispatchResult> IScheduledWorkGrain.DispatchAsync(string siloId)
    {
        if (WorkerAttempts.Settled(Life, "Run") is { } settled)
        {
            return settled;
        }

        var (tenantId, runId) = PlatformKeys.Split(Key);
        var attempt = Life.BeginAttempt(siloId, time.GetUtcNow());
        var s = state.State;
        var spec = new EvaluationSpec(Key, tenantId, s.ModelCheckpointKey!, s.Request!.Harness,
            $"{tenantId}/evaluations/{runId}/attempt-{attempt}");
        var (placement, failure) = await WorkerAttempts.StartAsync(GrainFactory, Key, attempt, siloId, Life, time,
            worker => worker.StartEvaluationAsync(new EvaluationWorkOrder(attempt, spec)), state.WriteStateAsync);
        if (failure is not null)
        {
            return failure;
        }

        Life.Touch($"Evaluating (attempt {attempt}) on GPU silo {placement!.SiloName}.", time.GetUtcNow());
        await state.WriteStateAsync();
        return new DispatchResult(true, attempt, placement.SiloId, false, null);
    }

    async Task IScheduledWorkGrain.InterruptAsync(int attempt, string reason)
    {
        if (Life.Interrupt(attempt, reason, time.GetUtcNow()))
        {
            await state.WriteStateAsync();
            await CancelWorkerAsync(attempt);
        }
    }

    Task<bool> IScheduledWorkGrain.ReportProgressAsync(int attempt, JobProgress progress) =>
        Task.FromResult(Life.AcceptProgress(attempt, progress, time.GetUtcNow()));

    async Task IScheduledWorkGrain.ReportStorageOutageAsync(int attempt, string reason)
    {
        if (Life.WaitForStorage(attempt, reason, time.GetUtcNow()))
        {
            LogStorageOutage(Key, attempt, reason);
            PlatformMetrics.WorkWaitingForStorage(PlatformKeys.Split(Key).TenantId, WorkKind.Evaluation);
            await state.WriteStateAsync();
            Scheduler.DeferForStorageAsync(Key, attempt).Ignore();
        }
    }

    async Task IEvaluationRunGrain.ReportOutcomeAsync(int attempt, EvaluationOutcome outcome)
    {
        if (Life.State != WorkState.Running || attempt != Life.Attempt)
        {
            return;
        }

        var s = state.State;
        s.Used += Math.Max(0, outcome.GpuSeconds);
        var metric = s.Request!.Harness.PrimaryMetric;
        var message = outcome.Kind switch
        {
            OutcomeKind.Succeeded when outcome.Metrics.ContainsKey(metric) =>
                $"Succeeded: {metric} = {outcome.Metrics[metric]:0.####}.",
            OutcomeKind.Succeeded => $"Failed: the harness reported no '{metric}' metric.",
            OutcomeKind.Cancelled => "Cancelled by the engine.",
            _ => $"Failed: {outcome.Error ?? "unknown error"}",
        };
        var kind = outcome.Kind == OutcomeKind.Succeeded && !outcome.Metrics.ContainsKey(metric)
            ? OutcomeKind.Failed
            : outcome.Kind;
        Life.Complete(attempt, kind, message, time.GetUtcNow());
        PlatformMetrics.WorkFinished(PlatformKeys.Split(Key).TenantId, WorkKind.Evaluation, Life.State);
        s.Outcome = outcome;
        await SettleBudgetAsync();
        await state.WriteStateAsync();
        Scheduler.ReleaseAsync(Key, 0).Ignore();
    }

    private async Task SettleBudgetAsync()
    {
        var s = state.State;
        s.Charged -= await WorkerAttempts.RefundUnusedAsync(GrainFactory, Key, Key, s.Charged, s.Used);
    }

    private Task CancelWorkerAsync(int attempt) =>
        WorkerAttempts.CancelAsync(GrainFactory, Key, attempt, "run left this attempt", ex => LogCancelFailed(ex, Key, attempt));

    private async Task<EvaluationRunStatus> StatusAsync()
    {
        var s = state.State;
        var message = Life.StatusMessage;
        if (Life.State == WorkState.Queued)
        {
            message = (await Scheduler.GetPlacementAsync(Key)).Reason;
        }

        return new EvaluationRunStatus(Key, Life.State, Life.Attempt, Life.SiloId, s.Request!, Life.LatestProgress,
            s.Outcome, message, Life.SubmittedAt, Life.UpdatedAt);
    }

    private void RequireSubmitted()
    {
        if (!Life.Submitted)
        {
            throw new ResourceNotFoundException($"Evaluation run '{Key}' does not exist.");
        }
    }

    private static void ValidateHarness(string tenantId, HarnessDescriptor? harness)
    {
        if (harness is null || string.IsNullOrWhiteSpace(harness.HarnessId) || string.IsNullOrWhiteSpace(harness.Version)
            || string.IsNullOrWhiteSpace(harness.PrimaryMetric) || harness.Settings is null
            || harness.BenchmarkSha256 is not { Length: 64 } || !harness.BenchmarkSha256.All(char.IsAsciiHexDigit))
        {
            throw new InvalidRequestException(
                "A pinned harness needs an id, a version, a primary metric, settings and the benchmark's SHA-256 (64 hex digits).");
        }

        PlatformKeys.RequireTenantArtifact(tenantId, harness.BenchmarkKey, "benchmark key");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Evaluation {RunKey} attempt {Attempt} waits for storage: {Reason}")]
    private partial void LogStorageOutage(string runKey, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cancelling attempt {Attempt} of {RunKey} failed")]
    private partial void LogCancelFailed(Exception exception, string runKey, int attempt);
}
