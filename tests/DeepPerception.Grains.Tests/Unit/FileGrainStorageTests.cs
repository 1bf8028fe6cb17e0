using DeepPerception.Grains.Hosting;
using Orleans.Storage;

namespace DeepPerception.Grains.Tests.Unit;

/// <summary>The durable file grain storage: round trip, optimistic concurrency, atomic files.</summary>
public sealed class FileGrainStorageTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "dp-grain-storage-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    private FileGrainStorage Storage() => new(new FileGrainStorageOptions { RootDirectory = _folder });

    private static readonly GrainId Grain = GrainId.Create("tenant", "acme/birds");

    [Fact]
    public async Task State_round_trips_across_storage_instances()
    {
        var state = new GrainState<Counter>(new Counter { Value = 3, Names = ["a", "b"] });
        await Storage().WriteStateAsync("counter", Grain, state);

        var read = new GrainState<Counter>();
        await Storage().ReadStateAsync("counter", Grain, read);

        Assert.True(read.RecordExists);
        Assert.Equal(state.ETag, read.ETag);
        Assert.Equal(3, read.State!.Value);
        Assert.Equal(["a", "b"], read.State!.Names);
        Assert.Empty(Directory.GetFiles(_folder, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_write_with_a_stale_etag_is_rejected()
    {
        var first = new GrainState<Counter>(new Counter { Value = 1 });
        await Storage().WriteStateAsync("counter", Grain, first);
        var copy = new GrainState<Counter>();
        await Storage().ReadStateAsync("counter", Grain, copy);
        first.State!.Value = 2;
        await Storage().WriteStateAsync("counter", Grain, first);

        copy.State!.Value = 99;
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage().WriteStateAsync("counter", Grain, copy));
        var fresh = new GrainState<Counter>(new Counter { Value = 5 });
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage().WriteStateAsync("counter", Grain, fresh));

        var read = new GrainState<Counter>();
        await Storage().ReadStateAsync("counter", Grain, read);
        Assert.Equal(2, read.State!.Value);
    }

    [Fact]
    public async Task Missing_state_reads_as_new_and_clear_removes_it()
    {
        var missing = new GrainState<Counter>();
        await Storage().ReadStateAsync("counter", GrainId.Create("tenant", "nobody"), missing);
        Assert.False(missing.RecordExists);
        Assert.Null(missing.ETag);

        var state = new GrainState<Counter>(new Counter { Value = 7 });
        await Storage().WriteStateAsync("counter", Grain, state);
        await Storage().ClearStateAsync("counter", Grain, state);
        var read = new GrainState<Counter>();
        await Storage().ReadStateAsync("counter", Grain, read);

        Assert.False(read.RecordExists);
        Assert.Equal(0, read.State!.Value);
    }

    public sealed class Counter
    {
        public int Value { get; set; }

        public List<string> Names { get; set; } = [];
    }
}
