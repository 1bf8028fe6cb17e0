using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Compute;
using DeepPerception.Abstractions.Datasets;
using DeepPerception.Abstractions.Models;
using DeepPerception.Abstractions.Tenancy;
using DeepPerception.Abstractions.Work;
using DeepPerception.Grains.Tests.Infrastructure;
using DeepPerception.Storage;

namespace DeepPerception.Grains.Tests.Cluster;

/// <summary>Fine-tuning jobs end to end on a 3-silo cluster (1 control, 2 GPU).</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class FineTuneJobTests(SharedClusterFixture fixture)
{
    private PlatformCluster P => fixture.Platform;

    [Fact]
    public async Task A_job_runs_on_a_gpu_silo_and_registers_a_model_version_with_lineage()
    {
        var setup = await P.CreateTenantAsync("ft-ok");
        var job = P.Client.GetGrain<IFineTuneJobGrain>("ft-ok/job-1");

        var submitted = await job.SubmitAsync(PlatformCluster.Request(setup));
        var done = await P.WaitForJobAsync("ft-ok/job-1", s => s.State is WorkState.Succeeded or WorkState.Failed);

        Assert.Equal(WorkState.Queued, submitted.State);
        Assert.Equal(WorkState.Succeeded, done.State);
        Assert.Equal(1, done.Attempt);
        var gpuSilos = P.Cluster.Silos.Where(s => s.Name != "Silo_0").Select(s => s.SiloAddress.ToParsableString());
        Assert.Contains(done.SiloId, gpuSilos);
        Assert.Equal(Expected(42, 12), done.Outcome!.Metrics["final_value"]);
        Assert.EndsWith("step-000012.json", done.LastCheckpointKey);
        var model = await P.Client.GetGrain<IModelGrain>("ft-ok/grounder").GetAsync();
        var version = Assert.Single(model.Versions);
        Assert.Equal(done.ResultModelVersion, version.Version);
        Assert.Equal("birds", version.Lineage.DatasetId);
        Assert.Equal(1, version.Lineage.DatasetVersion);
        Assert.Equal("ft-ok/job-1", version.Lineage.JobKey);
        Assert.Equal(FineTuneMethod.Sft, version.Lineage.Recipe!.Method);
        Assert.Equal(Expected(42, 12).ToString(System.Globalization.CultureInfo.InvariantCulture),
            await P.Artifacts.GetTextAsync(version.CheckpointKey));
        var datasetVersion = await P.Client.GetGrain<IDatasetGrain>("ft-ok/birds").GetVersionAsync(1);
        Assert.True(datasetVersion.IsLocked);
        await Assert.ThrowsAsync<ConflictException>(() =>
            P.Client.GetGrain<IDatasetGrain>("ft-ok/birds").DeleteVersionAsync(1));
        var quota = (await P.Client.GetGrain<ITenantGrain>("ft-ok").GetProfileAsync()).Quota;
        Assert.Equal(12, quota.GpuSecondsCharged);
    }

    [Fact]
    public async Task A_job_over_the_tenant_budget_is_refused_with_a_reason_and_changes_nothing()
    {
        var setup = await P.CreateTenantAsync("ft-budget", gpuBudget: 100);
        var job = P.Client.GetGrain<IFineTuneJobGrain>("ft-budget/job-1");

        var error = await Assert.ThrowsAsync<QuotaExceededException>(() =>
            job.SubmitAsync(PlatformCluster.Request(setup, gpuSeconds: 500)));

        Assert.Contains("GPU budget exceeded", error.Message);
        Assert.Contains("500", error.Message);
        Assert.Equal("quota_exceeded", error.Code);
        var tenant = P.Client.GetGrain<ITenantGrain>("ft-budget");
        Assert.Equal(0, (await tenant.GetProfileAsync()).Quota.GpuSecondsCharged);
        Assert.False((await P.Client.GetGrain<IDatasetGrain>("ft-budget/birds").GetVersionAsync(1)).IsLocked);
        await Assert.ThrowsAsync<ResourceNotFoundException>(() => job.GetStatusAsync());
    }

    [Fact]
    public async Task A_job_naming_a_missing_dataset_or_version_is_refused()
    {
        var setup = await P.CreateTenantAsync("ft-missing");
        var request = PlatformCluster.Request(setup);

        var noDataset = await Assert.ThrowsAsync<ResourceNotFoundException>(() =>
            P.Client.GetGrain<IFineTuneJobGrain>("ft-missing/job-1").SubmitAsync(request with { DatasetId = "nope" }));
        var noVersion = await Assert.ThrowsAsync<ResourceNotFoundException>(() =>
            P.Client.GetGrain<IFineTuneJobGrain>("ft-missing/job-2").SubmitAsync(request with { DatasetVersion = 7 }));
        var noTenant = await Assert.ThrowsAsync<ResourceNotFoundException>(() =>
            P.Client.GetGrain<IFineTuneJobGrain>("ghost/job-1").SubmitAsync(request));

        Assert.Contains("Dataset 'nope' does not exist", noDataset.Message);
        Assert.Contains("no version 7", noVersion.Message);
        Assert.Contains("Tenant 'ghost' does not exist", noTenant.Message);
        Assert.Equal(0, (await P.Client.GetGrain<ITenantGrain>("ft-missing").GetProfileAsync()).Quota.GpuSecondsCharged);
    }

    [Fact]
    public async Task A_cancelled_job_refunds_its_budget_and_can_be_resumed_from_its_checkpoint()
    {
        var setup = await P.CreateTenantAsync("ft-cancel");
        var pause = TestRunnerControl.PauseAt("ft-cancel/job-1", 6);
        var job = P.Client.GetGrain<IFineTuneJobGrain>("ft-cancel/job-1");
        await job.SubmitAsync(PlatformCluster.Request(setup, gpuSeconds: 100));
        await PlatformCluster.Within(pause.Reached);
        await P.WaitForJobAsync("ft-cancel/job-1", s => s.LastCheckpointKey is not null);

        var cancelled = await job.CancelAsync("changed my mind");
        pause.Release();

        Assert.Equal(WorkState.Cancelled, cancelled.State);
        Assert.Contains("changed my mind", cancelled.StatusMessage);
        Assert.Equal(0, (await P.Client.GetGrain<ITenantGrain>("ft-cancel").GetProfileAsync()).Quota.GpuSecondsCharged);
        await Assert.ThrowsAsync<ConflictException>(() => job.CancelAsync("again"));

        await job.ResumeAsync();
        var done = await P.WaitForJobAsync("ft-cancel/job-1", s => s.State is WorkState.Succeeded or WorkState.Failed);
        Assert.Equal(WorkState.Succeeded, done.State);
        Assert.Equal(5, done.Outcome!.Metrics["first_step_this_attempt"]);
        Assert.Equal(Expected(42, 12), done.Outcome.Metrics["final_value"]);
    }

    [Fact]
    public async Task Observers_receive_progress_and_the_final_status()
    {
        var setup = await P.CreateTenantAsync("ft-observe");
        var observer = new RecordingObserver();
        var reference = P.Client.CreateObjectReference<IFineTuneJobObserver>(observer);
        var job = P.Client.GetGrain<IFineTuneJobGrain>("ft-observe/job-1");
        var pause = TestRunnerControl.PauseAt("ft-observe/job-1", 1);
        await job.SubscribeAsync(reference);
        await job.SubmitAsync(PlatformCluster.Request(setup, maxSteps: 8));
        await PlatformCluster.Within(pause.Reached);
        pause.Release();

        var final = await PlatformCluster.Within(observer.Finished.Task);
        // Observer notifications are one-way messages and may arrive in any order; wait (bounded) for the rest.
        for (var i = 0; i < 400 && !(observer.Progress.Any(p => p.Step == 8) && observer.Statuses.Any(s => s.Phase == "running(SFT)")); i++)
        {
            await Task.Delay(50);
        }

        Assert.Equal(WorkState.Succeeded, final.State);
        Assert.Contains(observer.Progress, p => p.Step == 8);
        Assert.Contains(observer.Statuses, s => s.Phase == "running(SFT)");
        await job.UnsubscribeAsync(reference);
    }

    [Fact]
    public async Task Work_is_placed_only_on_gpu_silos_even_when_a_control_silo_is_hinted()
    {
        var gpu = P.Cluster.Silos.Where(s => s.Name != "Silo_0").Select(s => s.SiloAddress.ToParsableString()).ToHashSet();
        var control = P.Cluster.Silos.Single(s => s.Name == "Silo_0").SiloAddress;
        var placements = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            RequestContext.Set(Orleans.Runtime.Placement.IPlacementDirector.PlacementHintKey, control);
            try
            {
                placements.Add((await P.Client.GetGrain<IGpuWorkerGrain>($"placement/probe-{i}/attempt-1").GetPlacementAsync()).SiloId);
            }
            finally
            {
                RequestContext.Remove(Orleans.Runtime.Placement.IPlacementDirector.PlacementHintKey);
            }
        }

        Assert.All(placements, p => Assert.Contains(p, gpu));
        var registry = await P.Client.GetGrain<IGpuSiloRegistryGrain>(PlatformKeys.Singleton).GetSilosAsync();
        Assert.Equal(gpu, registry.Select(s => s.Descriptor.SiloId).ToHashSet());
        Assert.All(registry, s => Assert.Equal("test-accelerator", s.Descriptor.DeviceName));
        Assert.All(registry, s => Assert.True(s.AcceptsWork));
    }

    internal static double Expected(long seed, int steps)
    {
        var value = seed;
        for (var step = 1; step <= steps; step++)
        {
            value = DeterministicTestRunner.Next(value, step);
        }

        return value;
    }

    private sealed class RecordingObserver : IFineTuneJobObserver
    {
        public System.Collections.Concurrent.ConcurrentBag<JobProgress> Progress { get; } = [];

        public System.Collections.Concurrent.ConcurrentBag<FineTuneJobStatus> Statuses { get; } = [];

        public TaskCompletionSource<FineTuneJobStatus> Finished { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void OnProgress(string jobKey, JobProgress progress) => Progress.Add(progress);

        public void OnStatusChanged(FineTuneJobStatus status)
        {
            Statuses.Add(status);
            if (status.State is WorkState.Succeeded or WorkState.Failed or WorkState.Cancelled)
            {
                Finished.TrySetResult(status);
            }
        }
    }
}
