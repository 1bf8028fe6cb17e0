using System.Text;
using DeepPerception.Storage.AzureBlob;
using DeepPerception.Storage.FileSystem;
using DeepPerception.Storage.Resilience;
using DeepPerception.Tests.Shared;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace DeepPerception.Storage.Tests;

/// <summary>
/// <see cref="RetryingArtifactStore"/> over a real file-system store whose root folder is taken away (a lost volume)
/// and brought back while the decorator retries.
/// </summary>
public sealed class RetryingArtifactStoreTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "dp-retry-store-" + Guid.NewGuid().ToString("N"));
    private readonly FileSystemArtifactStore _files;

    public RetryingArtifactStoreTests()
    {
        _files = new FileSystemArtifactStore(new FileSystemArtifactStoreOptions { RootDirectory = _folder, FlushToDisk = false });
    }

    private string Away => _folder + ".away";

    public void Dispose()
    {
        foreach (var folder in new[] { _folder, Away })
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static ArtifactStoreRetryOptions Fast(int attempts = 10) => new()
    {
        MaxAttempts = attempts,
        InitialDelay = TimeSpan.FromMilliseconds(1),
        MaxDelay = TimeSpan.FromMilliseconds(20),
        MaxElapsed = TimeSpan.FromMinutes(5),
    };

    private void TakeStorageAway() => Directory.Move(_folder, Away);

    private void BringStorageBack() => Directory.Move(Away, _folder);

    [Fact]
    public async Task The_file_store_reports_a_lost_root_folder_as_unavailable_not_as_missing()
    {
        await _files.PutTextAsync("t/a.txt", "a");
        TakeStorageAway();

        var error = await Assert.ThrowsAsync<ArtifactStoreUnavailableException>(() => _files.GetAsync("t/a.txt"));
        Assert.True(StorageFailures.IsTransient(error));
        await Assert.ThrowsAsync<ArtifactStoreUnavailableException>(() => _files.PutTextAsync("t/b.txt", "b"));
        await Assert.ThrowsAsync<ArtifactStoreUnavailableException>(() => _files.ExistsAsync("t/a.txt"));
        Assert.False(Directory.Exists(_folder)); // a write never recreates the root on another disk
    }

    [Fact]
    public async Task A_read_during_an_outage_succeeds_once_storage_is_back()
    {
        await _files.PutTextAsync("t/model.bin", "weights");
        var store = new RetryingArtifactStore(_files, Fast());
        var retries = new List<ArtifactStoreRetry>();
        store.Retrying += retry =>
        {
            retries.Add(retry);
            if (retries.Count == 2)
            {
                BringStorageBack();
            }
        };
        TakeStorageAway();

        Assert.Equal("weights", await store.GetTextAsync("t/model.bin"));

        Assert.Equal(2, retries.Count);
        Assert.All(retries, r => Assert.Equal("GetAsync", r.Operation));
        Assert.Equal([1, 2], retries.Select(r => r.Attempt));
        Assert.All(retries, r => Assert.IsType<ArtifactStoreUnavailableException>(r.Error));
    }

    [Fact]
    public async Task A_write_during_an_outage_stores_the_whole_content_once_storage_is_back()
    {
        var content = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("checkpoint-bytes ", 10_000)));
        var store = new RetryingArtifactStore(_files, Fast());
        store.Retrying += _ =>
        {
            if (!Directory.Exists(_folder))
            {
                BringStorageBack();
            }
        };
        TakeStorageAway();

        using var stream = new MemoryStream(content);
        stream.Position = 0;
        var info = await store.PutAsync("t/ckpt/model.safetensors", stream);

        Assert.Equal(content.Length, info.Length);
        Assert.Equal(content, (await _files.GetAsync("t/ckpt/model.safetensors")).Content);
    }

    [Fact]
    public async Task A_listing_during_an_outage_returns_every_artifact_once()
    {
        foreach (var name in new[] { "a", "b", "c" })
        {
            await _files.PutTextAsync($"t/list/{name}.txt", name);
        }

        var store = new RetryingArtifactStore(_files, Fast());
        store.Retrying += _ => BringStorageBack();
        TakeStorageAway();

        var keys = (await store.ListAllAsync("t/list/")).Select(i => i.Key).ToList();

        Assert.Equal(["t/list/a.txt", "t/list/b.txt", "t/list/c.txt"], keys);
    }

    [Fact]
    public async Task An_outage_that_outlasts_the_attempts_surfaces_as_unavailable_with_the_attempt_count()
    {
        var store = new RetryingArtifactStore(_files, Fast(attempts: 3));
        var retries = 0;
        store.Retrying += _ => retries++;
        TakeStorageAway();

        var error = await Assert.ThrowsAsync<ArtifactStoreUnavailableException>(() => store.GetAsync("t/x.bin"));

        Assert.Equal(3, error.Attempts);
        Assert.Equal("GetAsync", error.Operation);
        Assert.Equal("t/x.bin", error.Key);
        Assert.Equal(2, retries);
        Assert.Contains("after 3 attempts", error.Message);
    }

    [Fact]
    public async Task Permanent_failures_are_not_retried()
    {
        var store = new RetryingArtifactStore(_files, Fast());
        var retries = 0;
        store.Retrying += _ => retries++;
        await store.PutTextAsync("t/once.txt", "1");

        await Assert.ThrowsAsync<ArtifactNotFoundException>(() => store.GetAsync("t/missing.txt"));
        await Assert.ThrowsAsync<InvalidArtifactKeyException>(() => store.GetAsync("../escape"));
        await Assert.ThrowsAsync<ArtifactAlreadyExistsException>(() =>
            store.PutTextAsync("t/once.txt", "2", new ArtifactWriteOptions { Overwrite = false }));

        Assert.Equal(0, retries);
    }

    [Fact]
    public void Transient_failures_are_told_from_permanent_ones()
    {
        Assert.True(StorageFailures.IsTransient(new Azure.RequestFailedException(503, "busy")));
        Assert.True(StorageFailures.IsTransient(new Azure.RequestFailedException(429, "throttled")));
        Assert.True(StorageFailures.IsTransient(new Azure.RequestFailedException(408, "timeout")));
        Assert.True(StorageFailures.IsTransient(new Azure.RequestFailedException(0, "no response")));
        Assert.False(StorageFailures.IsTransient(new Azure.RequestFailedException(404, "not found")));
        Assert.False(StorageFailures.IsTransient(new Azure.RequestFailedException(400, "bad request")));
        Assert.False(StorageFailures.IsTransient(new Azure.RequestFailedException(403, "forbidden")));
        Assert.True(StorageFailures.IsTransient(new IOException("I/O error")));
        Assert.True(StorageFailures.IsTransient(new HttpRequestException("connection refused")));
        Assert.True(StorageFailures.IsTransient(new TimeoutException()));
        Assert.False(StorageFailures.IsTransient(new FileNotFoundException()));
        Assert.False(StorageFailures.IsTransient(new ArgumentException("bad")));
        Assert.True(StorageFailures.IsTransient(new ArtifactStoreException("wrapped", new IOException("disk"))));
        Assert.False(StorageFailures.IsTransient(new ArtifactStoreException("corrupt")));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.False(StorageFailures.IsTransient(new OperationCanceledException(), cancelled.Token));
        Assert.True(StorageFailures.IsTransient(new TaskCanceledException("client timeout")));

        var outage = new ArtifactStoreUnavailableException("GetAsync", "k", 3);
        Assert.Same(outage, StorageFailures.FindOutage(new InvalidOperationException("run failed",
            new AggregateException(new IOException("x"), outage))));
        Assert.Null(StorageFailures.FindOutage(new InvalidOperationException("other")));
    }

    [Fact]
    public void Both_adapters_are_registered_with_retries_unless_turned_off()
    {
        var services = new ServiceCollection();
        services.AddFileSystemArtifactStore(o => o.RootDirectory = _folder);
        using (var provider = services.BuildServiceProvider())
        {
            var store = Assert.IsType<RetryingArtifactStore>(provider.GetRequiredService<IArtifactStore>());
            Assert.IsType<FileSystemArtifactStore>(store.Inner);
        }

        var azure = new ServiceCollection();
        azure.AddAzureBlobArtifactStore(o => o.ConnectionString = "UseDevelopmentStorage=true");
        azure.ConfigureArtifactStoreRetries(o => o.MaxAttempts = 2);
        using (var provider = azure.BuildServiceProvider())
        {
            var store = Assert.IsType<RetryingArtifactStore>(provider.GetRequiredService<IArtifactStore>());
            Assert.IsType<AzureBlobArtifactStore>(store.Inner);
            Assert.Equal(2, provider.GetRequiredService<IOptions<ArtifactStoreRetryOptions>>().Value.MaxAttempts);
        }

        var off = new ServiceCollection();
        off.AddFileSystemArtifactStore(o => o.RootDirectory = _folder);
        off.ConfigureArtifactStoreRetries(o => o.Enabled = false);
        using (var provider = off.BuildServiceProvider())
        {
            Assert.IsType<FileSystemArtifactStore>(provider.GetRequiredService<IArtifactStore>());
        }

        var bad = new ServiceCollection();
        bad.AddFileSystemArtifactStore(o => o.RootDirectory = _folder);
        bad.ConfigureArtifactStoreRetries(o => o.MaxAttempts = 0);
        using (var provider = bad.BuildServiceProvider())
        {
            var error = Assert.Throws<OptionsValidationException>(() =>
                provider.GetRequiredService<IOptions<ArtifactStoreRetryOptions>>().Value);
            Assert.Contains("MaxAttempts", error.Message);
        }
    }
}

/// <summary>Azurite whose data survives a restart.</summary>
public sealed class PersistentAzuriteFixture : AzuriteEmulator
{
    /// <inheritdoc />
    protected override bool Persistent => true;
}

/// <summary>
/// <see cref="RetryingArtifactStore"/> over the Azure Blob adapter while the Azurite emulator is stopped and started
/// again on the same ports.
/// </summary>
public sealed class RetryingAzureArtifactStoreTests(PersistentAzuriteFixture azurite) : IClassFixture<PersistentAzuriteFixture>
{
    [Fact]
    public async Task Reads_and_writes_during_an_emulator_outage_finish_once_it_is_back()
    {
        var blobs = new AzureBlobArtifactStore(new AzureBlobArtifactStoreOptions
        {
            ConnectionString = azurite.ConnectionString,
            ContainerName = "retry",
            MaxRetries = 0,
            NetworkTimeout = TimeSpan.FromSeconds(30),
        });
        var store = new RetryingArtifactStore(blobs, new ArtifactStoreRetryOptions
        {
            MaxAttempts = 8,
            InitialDelay = TimeSpan.FromMilliseconds(10),
            MaxDelay = TimeSpan.FromMilliseconds(200),
            MaxElapsed = TimeSpan.FromMinutes(5),
        });
        await store.PutTextAsync("t/before.txt", "stored before the outage");
        var retries = new List<ArtifactStoreRetry>();
        store.Retrying += retry =>
        {
            retries.Add(retry);
            if (retries.Count == 1)
            {
                // Storage comes back while the operation is waiting to retry.
                azurite.StartAsync().GetAwaiter().GetResult();
            }
        };

        await azurite.StopAsync();
        Assert.Equal("stored before the outage", await store.GetTextAsync("t/before.txt"));
        var first = retries.Single();
        Assert.Equal("GetAsync", first.Operation);
        Assert.True(StorageFailures.IsTransient(first.Error));

        retries.Clear();
        await azurite.StopAsync();
        await store.PutTextAsync("t/during.txt", "written across the outage");
        Assert.Single(retries);
        Assert.Equal("written across the outage", await blobs.GetTextAsync("t/during.txt"));
    }

    [Fact]
    public async Task An_emulator_that_stays_down_surfaces_as_unavailable()
    {
        var blobs = new AzureBlobArtifactStore(new AzureBlobArtifactStoreOptions
        {
            ConnectionString = azurite.ConnectionString,
            ContainerName = "retry-down",
            MaxRetries = 0,
        });
        var store = new RetryingArtifactStore(blobs, new ArtifactStoreRetryOptions
        {
            MaxAttempts = 2,
            InitialDelay = TimeSpan.FromMilliseconds(1),
            MaxDelay = TimeSpan.FromMilliseconds(1),
        });
        await store.PutTextAsync("t/x.txt", "x");
        await azurite.StopAsync();
        try
        {
            var error = await Assert.ThrowsAsync<ArtifactStoreUnavailableException>(() => store.GetAsync("t/x.txt"));
            Assert.Equal(2, error.Attempts);
            Assert.IsType<Azure.RequestFailedException>(error.InnerException);
        }
        finally
        {
            await azurite.StartAsync();
        }

        Assert.Equal("x", await store.GetTextAsync("t/x.txt"));
    }
}
