using DeepPerception.Abstractions.Compute;
using DeepPerception.Abstractions.Models;
using DeepPerception.Abstractions.Work;
using DeepPerception.Grains.Scheduling;

namespace DeepPerception.Grains.Tests.Unit;

/// <summary>The scheduling rules, tested without a cluster.</summary>
public sealed class JobSchedulerTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly JobScheduler _scheduler = new(new SchedulerState(), new SchedulerPolicy { ShortFineTuneMaxGpuSeconds = 1000 });

    private static WorkItemRequest Sft(string key, string tenant, double seconds = 100) =>
        new(key, tenant, WorkKind.FineTune, FineTuneMethod.Sft, seconds);

    private static WorkItemRequest Grpo(string key, string tenant) => new(key, tenant, WorkKind.FineTune, FineTuneMethod.Grpo, 100);

    private static WorkItemRequest Eval(string key, string tenant) => new(key, tenant, WorkKind.Evaluation, null, 10);

    private static SiloCapacity Silo(string id, int slots = 1, bool accepts = true) => new(id, id, slots, accepts);

    [Fact]
    public void Evaluation_goes_before_short_sft_which_goes_before_long_work()
    {
        _scheduler.Enqueue(Grpo("t/grpo", "t"), Now);
        _scheduler.Enqueue(Sft("t/long-sft", "t", seconds: 5000), Now);
        _scheduler.Enqueue(Sft("t/short-sft", "t"), Now);
        _scheduler.Enqueue(Eval("t/eval", "t"), Now);

        var plan = _scheduler.Plan([Silo("a", slots: 4)]).Select(d => d.WorkKey).ToList();

        Assert.Equal(["t/eval", "t/short-sft", "t/grpo", "t/long-sft"], plan);
        Assert.Equal(WorkPriorityClass.LongFineTune, _scheduler.Classify(Sft("x", "t", seconds: 5000)));
        Assert.Equal(WorkPriorityClass.ShortFineTune, _scheduler.Classify(Sft("x", "t", seconds: 1000)));
    }

    [Fact]
    public void Tenants_share_fairly_within_a_priority_class()
    {
        _scheduler.Enqueue(Sft("a/1", "a"), Now);
        _scheduler.Enqueue(Sft("a/2", "a"), Now);
        _scheduler.Enqueue(Sft("a/3", "a"), Now);
        _scheduler.Enqueue(Sft("b/1", "b"), Now);

        var plan = _scheduler.Plan([Silo("s", slots: 2)]).Select(d => d.WorkKey).ToList();

        Assert.Equal(["a/1", "b/1"], plan);
    }

    [Fact]
    public void A_tenant_already_running_work_yields_to_one_that_is_not()
    {
        _scheduler.Enqueue(Sft("a/1", "a"), Now);
        _scheduler.MarkRunning("a/1", "s1", 1, Now);
        _scheduler.Enqueue(Sft("a/2", "a"), Now);
        _scheduler.Enqueue(Sft("b/1", "b"), Now);

        var plan = _scheduler.Plan([Silo("s1", slots: 1), Silo("s2", slots: 1)]);

        Assert.Equal("b/1", Assert.Single(plan).WorkKey);
        Assert.Equal("s2", plan[0].SiloId);
    }

    [Fact]
    public void Only_silos_accepting_work_with_free_slots_get_work()
    {
        for (var i = 0; i < 5; i++)
        {
            _scheduler.Enqueue(Sft($"t/{i}", "t"), Now);
        }

        var plan = _scheduler.Plan([Silo("busy", slots: 2), Silo("cordoned", slots: 4, accepts: false), Silo("free", slots: 1)]);

        Assert.Equal(3, plan.Count);
        Assert.Equal(2, plan.Count(d => d.SiloId == "busy"));
        Assert.Equal(1, plan.Count(d => d.SiloId == "free"));
        Assert.DoesNotContain(plan, d => d.SiloId == "cordoned");
        Assert.Empty(_scheduler.Plan([]));
    }

    [Fact]
    public void Requeued_work_keeps_its_place_and_lost_work_is_found()
    {
        _scheduler.Enqueue(Sft("t/first", "t"), Now);
        _scheduler.Enqueue(Sft("t/second", "t"), Now);
        _scheduler.MarkRunning("t/first", "dead", 1, Now);

        var lost = _scheduler.RunningOutside(new HashSet<string> { "alive" });
        _scheduler.Requeue("t/first");

        Assert.Equal("t/first", Assert.Single(lost).Work.Key);
        Assert.Equal(["t/first", "t/second"], _scheduler.QueueOrder().Select(w => w.Key));
        Assert.Equal("t/first", _scheduler.Plan([Silo("alive")]).Single().WorkKey);
    }

    [Fact]
    public void A_late_release_of_an_older_generation_keeps_the_resumed_work()
    {
        _scheduler.Enqueue(Sft("t/job", "t"), Now);
        _scheduler.MarkRunning("t/job", "s", 1, Now);

        _scheduler.Enqueue(Sft("t/job", "t") with { Generation = 1 }, Now);
        var releasedOld = _scheduler.Release("t/job", generation: 0);

        Assert.False(releasedOld);
        Assert.Empty(_scheduler.State.Running);
        Assert.Equal(1, Assert.Single(_scheduler.State.Queue).Generation);
        Assert.True(_scheduler.Release("t/job", generation: 1));
        Assert.Empty(_scheduler.State.Queue);
    }

    [Fact]
    public void Placement_explains_why_work_waits()
    {
        _scheduler.Enqueue(Sft("t/a", "t"), Now);
        _scheduler.Enqueue(Sft("t/a", "t"), Now);

        var none = _scheduler.Placement("t/a", []);
        var cordoned = _scheduler.Placement("t/a", [Silo("s", accepts: false)]);
        var busy = _scheduler.Placement("t/a", [Silo("s")]);
        _scheduler.MarkRunning("t/a", "s", 3, Now);
        var running = _scheduler.Placement("t/a", [Silo("s")]);

        Assert.Single(_scheduler.State.Queue.Concat(_scheduler.State.Running.Values.Select(r => r.Work)));
        Assert.Equal(WorkPlacementState.Queued, none.State);
        Assert.Contains("no GPU silo is registered", none.Reason);
        Assert.Contains("none active and accepting work", cordoned.Reason);
        Assert.Contains("busy", busy.Reason);
        Assert.Equal(WorkPlacementState.Running, running.State);
        Assert.Contains("attempt 3", running.Reason);
        Assert.True(_scheduler.Release("t/a"));
        Assert.Equal(WorkPlacementState.Unknown, _scheduler.Placement("t/a", []).State);
    }

    [Fact]
    public void Work_that_met_a_storage_outage_is_held_back_with_growing_delays()
    {
        _scheduler.Enqueue(Sft("t/job", "t"), Now);
        _scheduler.Enqueue(Sft("t/other", "t"), Now);
        _scheduler.MarkRunning("t/job", "a", 1, Now);

        Assert.Null(_scheduler.DeferForStorage("t/job", 2, TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(10), Now));
        var first = _scheduler.DeferForStorage("t/job", 1, TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(10), Now);

        Assert.Equal(Now.AddSeconds(30), first);
        Assert.Empty(_scheduler.State.Running);
        Assert.Equal(["t/other"], _scheduler.Plan([Silo("a", slots: 2)], Now.AddSeconds(29)).Select(d => d.WorkKey));
        Assert.Equal(2, _scheduler.Plan([Silo("a", slots: 2)], Now.AddSeconds(30)).Count);
        Assert.Equal(2, _scheduler.Plan([Silo("a", slots: 2)]).Count);
        var placement = _scheduler.Placement("t/job", [Silo("a")]);
        Assert.Equal(WorkPlacementState.Queued, placement.State);
        Assert.StartsWith("Waiting for storage", placement.Reason);

        _scheduler.MarkRunning("t/job", "a", 2, Now.AddSeconds(30));
        var second = _scheduler.DeferForStorage("t/job", 2, TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(10), Now.AddSeconds(31));
        Assert.Equal(Now.AddSeconds(31 + 60), second);
        var third = _scheduler.DeferForStorage("t/job", 2, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(100), Now.AddSeconds(100));
        Assert.Equal(Now.AddSeconds(200), third);

        // A new outage long after the last one starts the backoff again.
        _scheduler.MarkRunning("t/job", "a", 3, Now.AddHours(1));
        var later = _scheduler.DeferForStorage("t/job", 3, TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(10), Now.AddHours(2));
        Assert.Equal(Now.AddHours(2).AddSeconds(30), later);
    }

    [Fact]
    public void Held_back_work_does_not_preempt_running_work()
    {
        var scheduler = new JobScheduler(new SchedulerState(), new SchedulerPolicy { PreemptionMinRunTime = TimeSpan.Zero });
        scheduler.Enqueue(Grpo("t/long", "t"), Now);
        scheduler.Enqueue(Eval("t/eval", "t"), Now);
        scheduler.MarkRunning("t/eval", "a", 1, Now);
        scheduler.DeferForStorage("t/eval", 1, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(10), Now);
        scheduler.MarkRunning("t/long", "a", 1, Now);

        Assert.Empty(scheduler.PlanPreemptions([Silo("a")], Now.AddSeconds(10)));
        Assert.Single(scheduler.PlanPreemptions([Silo("a")], Now.AddMinutes(2)));
    }
}
