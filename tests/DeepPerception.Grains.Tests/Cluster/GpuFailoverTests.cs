using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Compute;
using DeepPerception.Abstractions.Work;
using DeepPerception.Grains.Gpu;
using Microsoft.Extensions.DependencyInjection;
using DeepPerception.Grains.Tests.Infrastructure;
using DeepPerception.Storage;

namespace DeepPerception.Grains.Tests.Cluster;

/// <summary>
/// Losing, draining or lacking GPU silos. Each test owns its cluster because it stops or adds silos.
/// </summary>
public sealed class GpuFailoverTests
{
    [Fact]
    public async Task A_job_whose_gpu_silo_is_killed_resumes_on_the_other_gpu_silo_from_its_checkpoint_with_the_same_result()
    {
        await using var p = await PlatformCluster.StartAsync(3);
        var setup = await p.CreateTenantAsync("kill");

        // Reference: an uninterrupted run of the same spec.
        await p.Client.GetGrain<IFineTuneJobGrain>("kill/reference").SubmitAsync(PlatformCluster.Request(setup));
        var reference = await p.WaitForJobAsync("kill/reference", s => s.State is WorkState.Succeeded or WorkState.Failed);
        Assert.Equal(WorkState.Succeeded, reference.State);

        // The interrupted run: paused at step 10, after the checkpoint at step 8.
        var pause = TestRunnerControl.PauseAt("kill/job", 10);
        await p.Client.GetGrain<IFineTuneJobGrain>("kill/job").SubmitAsync(PlatformCluster.Request(setup));
        var pausedOn = await PlatformCluster.Within(pause.Reached);
        var running = await p.WaitForJobAsync("kill/job", s => s.LastCheckpointKey?.EndsWith("step-000008.json") == true);
        Assert.Equal(WorkState.Running, running.State);
        var victim = p.SiloById(running.SiloId!);
        Assert.Equal(pausedOn, victim.Name);
        Assert.NotEqual("Silo_0", victim.Name);

        await p.Cluster.KillSiloAsync(victim);
        pause.Release();

        var done = await p.WaitForJobAsync("kill/job", s => s.State is WorkState.Succeeded or WorkState.Failed);
        Assert.Equal(WorkState.Succeeded, done.State);
        Assert.Equal(2, done.Attempt);
        var survivor = p.SiloById(done.SiloId!);
        Assert.NotEqual(victim.Name, survivor.Name);
        Assert.NotEqual("Silo_0", survivor.Name);
        Assert.Equal(9, done.Outcome!.Metrics["first_step_this_attempt"]);
        Assert.Equal(reference.Outcome!.Metrics["final_value"], done.Outcome.Metrics["final_value"]);
        Assert.Equal(FineTuneJobTests.Expected(42, 12), done.Outcome.Metrics["final_value"]);
        Assert.Equal(await p.Artifacts.GetTextAsync(reference.Outcome.OutputCheckpointKey!),
            await p.Artifacts.GetTextAsync(done.Outcome.OutputCheckpointKey!));
        Assert.Contains(TestRunnerControl.StepsOf("kill/job"), s => s.Silo == survivor.Name && s.Step == 9);
        Assert.DoesNotContain(TestRunnerControl.StepsOf("kill/job"), s => s.Silo == survivor.Name && s.Step < 9);
    }

    [Fact]
    public async Task An_attempt_that_stops_without_reporting_is_requeued_and_resumes_from_its_checkpoint()
    {
        await using var p = await PlatformCluster.StartAsync(3);
        var setup = await p.CreateTenantAsync("vanish");
        var pause = TestRunnerControl.PauseAt("vanish/job", 6);
        await p.Client.GetGrain<IFineTuneJobGrain>("vanish/job").SubmitAsync(PlatformCluster.Request(setup));
        await PlatformCluster.Within(pause.Reached);
        var running = await p.WaitForJobAsync("vanish/job", s => s.LastCheckpointKey is not null);

        // The run disappears on its silo without a word to the job (as after a runner crash in the executor).
        p.SiloById(running.SiloId!).ServiceProvider.GetRequiredService<GpuWorkExecutor>().Cancel("vanish/job/attempt-1");
        var done = await p.WaitForJobAsync("vanish/job", s => s.State is WorkState.Succeeded or WorkState.Failed);
        pause.Release();

        Assert.Equal(WorkState.Succeeded, done.State);
        Assert.Equal(2, done.Attempt);
        Assert.Equal(5, done.Outcome!.Metrics["first_step_this_attempt"]);
        Assert.Equal(FineTuneJobTests.Expected(42, 12), done.Outcome.Metrics["final_value"]);
    }

    [Fact]
    public async Task Draining_a_gpu_silo_moves_its_running_work_to_another_gpu_silo()
    {
        await using var p = await PlatformCluster.StartAsync(3);
        var setup = await p.CreateTenantAsync("drain");
        var pause = TestRunnerControl.PauseAt("drain/job", 6);
        await p.Client.GetGrain<IFineTuneJobGrain>("drain/job").SubmitAsync(PlatformCluster.Request(setup));
        await PlatformCluster.Within(pause.Reached);
        var running = await p.WaitForJobAsync("drain/job", s => s.LastCheckpointKey is not null);
        var registry = p.Client.GetGrain<IGpuSiloRegistryGrain>(PlatformKeys.Singleton);

        var drained = await registry.DrainAsync(running.SiloId!);
        var done = await p.WaitForJobAsync("drain/job", s => s.State is WorkState.Succeeded or WorkState.Failed);
        pause.Release();

        Assert.True(drained.IsDraining);
        Assert.False(drained.AcceptsWork);
        Assert.Equal(WorkState.Succeeded, done.State);
        Assert.Equal(2, done.Attempt);
        Assert.NotEqual(running.SiloId, done.SiloId);
        Assert.NotEqual("Silo_0", p.SiloById(done.SiloId!).Name);
        Assert.Equal(5, done.Outcome!.Metrics["first_step_this_attempt"]);
        Assert.Equal(FineTuneJobTests.Expected(42, 12), done.Outcome.Metrics["final_value"]);
        var silos = await registry.GetSilosAsync();
        Assert.Empty(silos.Single(s => s.Descriptor.SiloId == running.SiloId).RunningWork);

        // A drained silo gets no new work.
        await p.Client.GetGrain<IFineTuneJobGrain>("drain/job-2").SubmitAsync(PlatformCluster.Request(setup));
        var second = await p.WaitForJobAsync("drain/job-2", s => s.State is WorkState.Succeeded or WorkState.Failed);
        Assert.NotEqual(running.SiloId, second.SiloId);
    }

    [Fact]
    public async Task Without_a_gpu_silo_work_stays_queued_with_a_clear_status_and_runs_once_one_joins()
    {
        await using var p = await PlatformCluster.StartAsync(1);
        var setup = await p.CreateTenantAsync("nogpu");
        var job = p.Client.GetGrain<IFineTuneJobGrain>("nogpu/job");

        var submitted = await job.SubmitAsync(PlatformCluster.Request(setup));
        var snapshot = await p.Client.GetGrain<IJobSchedulerGrain>(PlatformKeys.Singleton).PumpNowAsync();
        var status = await job.GetStatusAsync();

        Assert.Equal(WorkState.Queued, submitted.State);
        Assert.Equal(WorkState.Queued, status.State);
        Assert.Equal(0, status.Attempt);
        Assert.Null(status.SiloId);
        Assert.Contains("waiting for a GPU silo", status.StatusMessage);
        Assert.Contains("no GPU silo is registered", status.StatusMessage);
        Assert.Equal(0, snapshot.AcceptingGpuSilos);
        Assert.Equal("nogpu/job", Assert.Single(snapshot.Queued).WorkKey);
        Assert.Empty(snapshot.Running);

        await p.Cluster.StartAdditionalSiloAsync();
        var done = await p.WaitForJobAsync("nogpu/job", s => s.State is WorkState.Succeeded or WorkState.Failed);

        Assert.Equal(WorkState.Succeeded, done.State);
        Assert.Equal("Silo_1", p.SiloById(done.SiloId!).Name);
    }
}
