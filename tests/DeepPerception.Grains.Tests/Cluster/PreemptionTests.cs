using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Compute;
using DeepPerception.Abstractions.Models;
using DeepPerception.Abstractions.Work;
using DeepPerception.Grains.Tests.Infrastructure;

namespace DeepPerception.Grains.Tests.Cluster;

/// <summary>Pre-emption by checkpoint on a cluster with one GPU slot.</summary>
public sealed class PreemptionTests
{
    [Fact]
    public async Task A_short_sft_preempts_a_running_grpo_job_which_then_resumes_from_its_checkpoint_with_the_same_result()
    {
        await using var p = await PlatformCluster.StartAsync(2, o =>
        {
            o.MaxConcurrentWork = 1;
            o.PreemptionMinRunTime = TimeSpan.FromMilliseconds(100);
        });
        var setup = await p.CreateTenantAsync("pre");

        // The long job holds the only GPU slot, paused at step 6 after its checkpoint at step 4.
        var pause = TestRunnerControl.PauseAt("pre/grpo", 6);
        await p.Client.GetGrain<IFineTuneJobGrain>("pre/grpo")
            .SubmitAsync(PlatformCluster.Request(setup, method: FineTuneMethod.Grpo));
        await PlatformCluster.Within(pause.Reached);
        var running = await p.WaitForJobAsync("pre/grpo", s => s.LastCheckpointKey?.EndsWith("step-000004.json") == true);
        Assert.Equal(WorkState.Running, running.State);
        Assert.Equal(1, running.Attempt);

        // Higher-priority work arrives: the long job is interrupted, the short one runs, then the long one resumes.
        await p.Client.GetGrain<IFineTuneJobGrain>("pre/short").SubmitAsync(PlatformCluster.Request(setup, seed: 7));
        var shortDone = await p.WaitForJobAsync("pre/short", s => s.State is WorkState.Succeeded or WorkState.Failed);
        var longDone = await p.WaitForJobAsync("pre/grpo", s => s.State is WorkState.Succeeded or WorkState.Failed);
        pause.Release();

        Assert.Equal(WorkState.Succeeded, shortDone.State);
        Assert.Equal(1, shortDone.Attempt);
        Assert.Equal(FineTuneJobTests.Expected(7, 12), shortDone.Outcome!.Metrics["final_value"]);
        Assert.Equal(WorkState.Succeeded, longDone.State);
        Assert.Equal(2, longDone.Attempt);
        Assert.Equal(5, longDone.Outcome!.Metrics["first_step_this_attempt"]);
        Assert.Equal(FineTuneJobTests.Expected(42, 12), longDone.Outcome.Metrics["final_value"]);

        // The short job ran while the long one was off the GPU: its steps come between the two attempts' steps.
        var longSteps = TestRunnerControl.StepsOf("pre/grpo").Select(s => s.Step).ToList();
        Assert.Equal([1, 2, 3, 4, 5, 6, 5, 6, 7, 8, 9, 10, 11, 12], longSteps);
    }

    [Fact]
    public async Task Without_preemption_higher_priority_work_waits_for_the_slot()
    {
        await using var p = await PlatformCluster.StartAsync(2, o => o.MaxConcurrentWork = 1);
        var setup = await p.CreateTenantAsync("nopre");
        var pause = TestRunnerControl.PauseAt("nopre/grpo", 6);
        await p.Client.GetGrain<IFineTuneJobGrain>("nopre/grpo")
            .SubmitAsync(PlatformCluster.Request(setup, method: FineTuneMethod.Grpo));
        await PlatformCluster.Within(pause.Reached);
        await p.Client.GetGrain<IFineTuneJobGrain>("nopre/short").SubmitAsync(PlatformCluster.Request(setup, seed: 7));

        // Several scheduler passes go by while the long job holds the slot.
        for (var i = 0; i < 5; i++)
        {
            await p.Client.GetGrain<IJobSchedulerGrain>(PlatformKeys.Singleton).PumpNowAsync();
        }

        var waiting = await p.Client.GetGrain<IFineTuneJobGrain>("nopre/short").GetStatusAsync();
        var holding = await p.Client.GetGrain<IFineTuneJobGrain>("nopre/grpo").GetStatusAsync();
        Assert.Equal(WorkState.Queued, waiting.State);
        Assert.Equal(WorkState.Running, holding.State);
        Assert.Equal(1, holding.Attempt);

        pause.Release();
        var longDone = await p.WaitForJobAsync("nopre/grpo", s => s.State is WorkState.Succeeded or WorkState.Failed);
        var shortDone = await p.WaitForJobAsync("nopre/short", s => s.State is WorkState.Succeeded or WorkState.Failed);
        Assert.Equal(1, longDone.Attempt);
        Assert.Equal(WorkState.Succeeded, shortDone.State);
    }
}
