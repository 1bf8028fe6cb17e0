using DeepPerception.Abstractions.Compute;
using DeepPerception.Abstractions.Models;
using DeepPerception.Abstractions.Work;
using DeepPerception.Grains.Scheduling;

namespace DeepPerception.Grains.Tests.Unit;

/// <summary>Pre-emption by checkpoint: the scheduler's rules, tested without a cluster.</summary>
public sealed class JobSchedulerPreemptionTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan MinRun = TimeSpan.FromMinutes(10);

    private readonly JobScheduler _scheduler = new(new SchedulerState(),
        new SchedulerPolicy { ShortFineTuneMaxGpuSeconds = 1000, PreemptionMinRunTime = MinRun });

    private static WorkItemRequest Sft(string key, string tenant) => new(key, tenant, WorkKind.FineTune, FineTuneMethod.Sft, 100);

    private static WorkItemRequest Grpo(string key, string tenant) => new(key, tenant, WorkKind.FineTune, FineTuneMethod.Grpo, 100);

    private static WorkItemRequest Eval(string key, string tenant) => new(key, tenant, WorkKind.Evaluation, null, 10);

    private static SiloCapacity Silo(string id, int slots = 1, bool accepts = true) => new(id, id, slots, accepts);

    private void Run(WorkItemRequest request, string silo, DateTimeOffset startedAt, int attempt = 1)
    {
        _scheduler.Enqueue(request, startedAt);
        _scheduler.MarkRunning(request.WorkKey, silo, attempt, startedAt);
    }

    [Fact]
    public void An_evaluation_waiting_for_a_slot_preempts_long_work_that_ran_long_enough()
    {
        Run(Grpo("t/grpo", "t"), "s", Now - TimeSpan.FromMinutes(30), attempt: 2);
        _scheduler.Enqueue(Eval("t/eval", "t"), Now);

        var decision = Assert.Single(_scheduler.PlanPreemptions([Silo("s")], Now));

        Assert.Equal("t/grpo", decision.WorkKey);
        Assert.Equal(WorkKind.FineTune, decision.Kind);
        Assert.Equal("s", decision.SiloId);
        Assert.Equal(2, decision.Attempt);
        Assert.Equal("t/eval", decision.ForWorkKey);
        Assert.Contains("evaluation 't/eval'", decision.Reason);
        Assert.Single(_scheduler.State.Running);
    }

    [Fact]
    public void After_the_preempted_work_is_requeued_the_higher_priority_work_gets_its_slot()
    {
        Run(Grpo("t/grpo", "t"), "s", Now - TimeSpan.FromMinutes(30));
        _scheduler.Enqueue(Sft("u/sft", "u"), Now);

        var decision = Assert.Single(_scheduler.PlanPreemptions([Silo("s")], Now));
        Assert.NotNull(_scheduler.Requeue(decision.WorkKey));
        var plan = _scheduler.Plan([Silo("s")]);

        Assert.Equal("u/sft", Assert.Single(plan).WorkKey);
        Assert.Contains(_scheduler.State.Queue, w => w.Key == "t/grpo");
        Assert.Empty(_scheduler.PlanPreemptions([Silo("s")], Now));
    }

    [Fact]
    public void Work_that_has_not_run_the_minimum_time_is_not_preempted()
    {
        Run(Grpo("t/grpo", "t"), "s", Now - MinRun + TimeSpan.FromSeconds(1));
        _scheduler.Enqueue(Eval("t/eval", "t"), Now);

        Assert.Empty(_scheduler.PlanPreemptions([Silo("s")], Now));
        Assert.Single(_scheduler.PlanPreemptions([Silo("s")], Now + TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void Work_of_the_same_or_a_higher_class_is_never_preempted()
    {
        Run(Sft("t/sft", "t"), "s1", Now - TimeSpan.FromHours(1));
        Run(Eval("t/eval", "t"), "s2", Now - TimeSpan.FromHours(1));
        _scheduler.Enqueue(Sft("u/sft", "u"), Now);
        _scheduler.Enqueue(Grpo("u/grpo", "u"), Now);

        Assert.Empty(_scheduler.PlanPreemptions([Silo("s1"), Silo("s2")], Now));
    }

    [Fact]
    public void Nothing_is_preempted_while_a_slot_is_free()
    {
        Run(Grpo("t/grpo", "t"), "s1", Now - TimeSpan.FromHours(1));
        _scheduler.Enqueue(Eval("t/eval", "t"), Now);

        Assert.Empty(_scheduler.PlanPreemptions([Silo("s1"), Silo("s2")], Now));
        Assert.Equal("s2", Assert.Single(_scheduler.Plan([Silo("s1"), Silo("s2")])).SiloId);
    }

    [Fact]
    public void Preemption_is_off_without_a_minimum_run_time()
    {
        var scheduler = new JobScheduler(new SchedulerState(), new SchedulerPolicy { ShortFineTuneMaxGpuSeconds = 1000 });
        scheduler.Enqueue(Grpo("t/grpo", "t"), Now - TimeSpan.FromDays(1));
        scheduler.MarkRunning("t/grpo", "s", 1, Now - TimeSpan.FromDays(1));
        scheduler.Enqueue(Eval("t/eval", "t"), Now);

        Assert.Empty(scheduler.PlanPreemptions([Silo("s")], Now));
    }

    [Fact]
    public void Work_on_silos_that_accept_no_work_is_not_preempted()
    {
        Run(Grpo("t/grpo", "t"), "s", Now - TimeSpan.FromHours(1));
        _scheduler.Enqueue(Eval("t/eval", "t"), Now);

        Assert.Empty(_scheduler.PlanPreemptions([Silo("s", accepts: false)], Now));
    }

    [Fact]
    public void The_lowest_class_is_chosen_first_and_each_running_work_only_once()
    {
        Run(Sft("a/sft", "a"), "s1", Now - TimeSpan.FromHours(2));
        Run(Grpo("b/grpo", "b"), "s2", Now - TimeSpan.FromHours(1));
        _scheduler.Enqueue(Eval("c/eval1", "c"), Now);
        _scheduler.Enqueue(Eval("c/eval2", "c"), Now);
        _scheduler.Enqueue(Eval("c/eval3", "c"), Now);

        var decisions = _scheduler.PlanPreemptions([Silo("s1"), Silo("s2")], Now);

        Assert.Equal(["b/grpo", "a/sft"], decisions.Select(d => d.WorkKey));
        Assert.Equal(["c/eval1", "c/eval2"], decisions.Select(d => d.ForWorkKey));
    }

    [Fact]
    public void Within_a_class_the_tenant_running_the_most_and_then_the_latest_start_yield_first()
    {
        Run(Grpo("a/1", "a"), "s1", Now - TimeSpan.FromHours(3));
        Run(Grpo("a/2", "a"), "s2", Now - TimeSpan.FromHours(2));
        Run(Grpo("b/1", "b"), "s3", Now - TimeSpan.FromHours(1));
        _scheduler.Enqueue(Eval("c/eval1", "c"), Now);
        _scheduler.Enqueue(Eval("c/eval2", "c"), Now);

        var decisions = _scheduler.PlanPreemptions([Silo("s1"), Silo("s2"), Silo("s3")], Now);

        // Tenant a runs two: its latest start yields first; then a and b run one each and b's later start yields.
        Assert.Equal(["a/2", "b/1"], decisions.Select(d => d.WorkKey));
    }
}
