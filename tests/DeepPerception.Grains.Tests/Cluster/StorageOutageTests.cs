using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Compute;
using DeepPerception.Abstractions.Work;
using DeepPerception.Grains.Tests.Infrastructure;
using DeepPerception.Storage;

namespace DeepPerception.Grains.Tests.Cluster;

/// <summary>
/// Storage outages during GPU work: the silos' artifact store (a real file-system store behind the retrying decorator)
/// loses its root folder while a job runs. Each test owns its cluster because it takes the storage away.
/// </summary>
public sealed class StorageOutageTests
{
    [Fact]
    public async Task A_job_whose_checkpoint_upload_meets_an_outage_waits_for_storage_then_resumes_from_its_checkpoint()
    {
        await using var p = await PlatformCluster.StartAsync(2);
        var setup = await p.CreateTenantAsync("outage");
        var away = p.ArtifactFolder + ".away";

        // Paused at step 6, after the checkpoint at step 4; the checkpoint at step 8 will meet the outage.
        var pause = TestRunnerControl.PauseAt("outage/job", 6);
        await p.Client.GetGrain<IFineTuneJobGrain>("outage/job").SubmitAsync(PlatformCluster.Request(setup));
        await PlatformCluster.Within(pause.Reached);
        await p.WaitForJobAsync("outage/job", s => s.LastCheckpointKey?.EndsWith("step-000004.json") == true);

        Directory.Move(p.ArtifactFolder, away);
        pause.Release();

        var waiting = await p.WaitForJobAsync("outage/job", s => s.State is WorkState.WaitingForStorage or WorkState.Failed
            or WorkState.Succeeded);
        Assert.Equal(WorkState.WaitingForStorage, waiting.State);
        Assert.Equal("waitingforstorage", waiting.Phase);
        Assert.StartsWith("Waiting for storage", waiting.StatusMessage);
        Assert.Contains("artifact store is unavailable", waiting.StatusMessage);
        Assert.EndsWith("step-000004.json", waiting.LastCheckpointKey);
        Assert.Null(waiting.Outcome);

        // While storage is away the scheduler keeps retrying with backoff; the job never fails.
        var snapshot = await p.Client.GetGrain<IJobSchedulerGrain>(PlatformKeys.Singleton).GetSnapshotAsync();
        Assert.Contains(snapshot.Queued.Concat(snapshot.Running), w => w.WorkKey == "outage/job");
        var retried = await p.WaitForJobAsync("outage/job", s => s.Attempt >= 2 && s.State == WorkState.WaitingForStorage);
        Assert.Equal(WorkState.WaitingForStorage, retried.State);

        Directory.Move(away, p.ArtifactFolder);
        var done = await p.WaitForJobAsync("outage/job", s => s.State is WorkState.Succeeded or WorkState.Failed or WorkState.Cancelled);

        Assert.Equal(WorkState.Succeeded, done.State);
        Assert.True(done.Attempt >= 3);
        Assert.Equal(5, done.Outcome!.Metrics["first_step_this_attempt"]);
        Assert.Equal(FineTuneJobTests.Expected(42, 12), done.Outcome.Metrics["final_value"]);
        Assert.Equal(FineTuneJobTests.Expected(42, 12).ToString(System.Globalization.CultureInfo.InvariantCulture),
            await p.Artifacts.GetTextAsync(done.Outcome.OutputCheckpointKey!));
        Assert.NotNull(done.ResultModelVersion);
    }

    [Fact]
    public async Task A_job_waiting_for_storage_can_be_cancelled()
    {
        await using var p = await PlatformCluster.StartAsync(2, o =>
        {
            o.StorageRetryDelay = TimeSpan.FromMinutes(5);
            o.StorageRetryMaxDelay = TimeSpan.FromMinutes(5);
        });
        var setup = await p.CreateTenantAsync("outage-cancel");
        var pause = TestRunnerControl.PauseAt("outage-cancel/job", 2);
        await p.Client.GetGrain<IFineTuneJobGrain>("outage-cancel/job").SubmitAsync(PlatformCluster.Request(setup));
        await PlatformCluster.Within(pause.Reached);
        Directory.Move(p.ArtifactFolder, p.ArtifactFolder + ".away");
        pause.Release();
        await p.WaitForJobAsync("outage-cancel/job", s => s.State == WorkState.WaitingForStorage);

        var job = p.Client.GetGrain<IFineTuneJobGrain>("outage-cancel/job");
        var cancelled = await job.CancelAsync("storage is down for maintenance");

        Assert.Equal(WorkState.Cancelled, cancelled.State);
        var scheduler = p.Client.GetGrain<IJobSchedulerGrain>(PlatformKeys.Singleton);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await scheduler.GetSnapshotAsync()).Queued.Any(w => w.WorkKey == "outage-cancel/job"))
        {
            Assert.True(DateTime.UtcNow < deadline, "The cancelled job stayed in the scheduler's queue.");
            await Task.Delay(50);
        }

        Assert.Equal(WorkState.Cancelled, (await job.GetStatusAsync()).State);
        Directory.Move(p.ArtifactFolder + ".away", p.ArtifactFolder);
    }
}
