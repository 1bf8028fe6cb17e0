using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using DeepPerception.Abstractions.Datasets;
using DeepPerception.Abstractions.Models;
using DeepPerception.Abstractions.Tenancy;
using DeepPerception.Abstractions.Work;
using DeepPerception.Grains.Gpu;
using DeepPerception.Host;
using DeepPerception.Storage;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using TorchSharp;

namespace DeepPerception.Host.Tests;

/// <summary>The one-process host starts, becomes ready and seeds the demo tenant.</summary>
public sealed class HostTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"dp-host-tests-{Guid.NewGuid():N}");

    public HostTests() => torch.set_num_threads(1);

    public void Dispose()
    {
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }

    [Fact]
    public async Task Host_starts_becomes_ready_and_has_the_demo_tenant_dataset_and_model()
    {
        await using var factory = CreateFactory();
        using var client = factory.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        await WaitUntilReadyAsync(client);

        var grains = factory.Services.GetRequiredService<IGrainFactory>();
        var store = factory.Services.GetRequiredService<IArtifactStore>();
        Assert.True(await grains.GetGrain<ITenantGrain>(DemoSeeder.TenantId).ExistsAsync());

        var dataset = await grains.GetGrain<IDatasetGrain>($"{DemoSeeder.TenantId}/{DemoSeeder.DatasetId}").GetAsync();
        var version = Assert.Single(dataset.Versions);
        Assert.Equal(8, version.SampleCount);
        Assert.NotNull(version.Validation);
        Assert.True(version.Validation!.IsValid, string.Join("; ", version.Validation.Issues.Select(i => i.Message)));
        Assert.True(await store.ExistsAsync(version.SamplesIndexKey));
        Assert.Equal(200, dataset.KnowledgeEntryCount);

        var model = await grains.GetGrain<IModelGrain>($"{DemoSeeder.TenantId}/{DemoSeeder.ModelId}").GetAsync();
        Assert.Equal(DemoSeeder.BaseModelKey, model.BaseCheckpointKey);
        Assert.True(await ArtifactFolders.IsCompleteAsync(store, model.BaseCheckpointKey));

        using var status = JsonDocument.Parse(await client.GetStringAsync("/v1/status"));
        var silo = Assert.Single(status.RootElement.GetProperty("silos").EnumerateArray());
        Assert.True(silo.GetProperty("acceptsWork").GetBoolean());
        Assert.Equal(0, status.RootElement.GetProperty("queue").GetProperty("queued").GetArrayLength());
        Assert.True(status.RootElement.GetProperty("demo").GetProperty("ready").GetBoolean());
    }

    [Fact]
    public async Task A_fine_tune_of_the_demo_model_on_the_demo_dataset_succeeds()
    {
        await using var factory = CreateFactory();
        using var client = factory.CreateClient();
        await WaitUntilReadyAsync(client);
        var grains = factory.Services.GetRequiredService<IGrainFactory>();

        var recipe = new TrainingRecipe(FineTuneMethod.Sft, 4, 1e-3, 2, 2, 1,
            System.Collections.Immutable.ImmutableDictionary<string, string>.Empty.Add("max_pixels", "12544"));
        var job = grains.GetGrain<IFineTuneJobGrain>($"{DemoSeeder.TenantId}/first-job");
        await job.SubmitAsync(new FineTuneRequest(DemoSeeder.ModelId, null, DemoSeeder.DatasetId, 1, recipe, 60));

        var deadline = DateTime.UtcNow.AddMinutes(3);
        FineTuneJobStatus status;
        while ((status = await job.GetStatusAsync()).State is WorkState.Queued or WorkState.Running)
        {
            Assert.True(DateTime.UtcNow < deadline, $"The job did not finish: {status.State} '{status.StatusMessage}'.");
            await Task.Delay(100);
        }

        Assert.True(status.State == WorkState.Succeeded, status.StatusMessage);
        Assert.NotNull(status.ResultModelVersion);
        Assert.Equal(4, status.Outcome!.Metrics["steps"]);
        var version = await grains.GetGrain<IModelGrain>($"{DemoSeeder.TenantId}/{DemoSeeder.ModelId}").GetVersionAsync(status.ResultModelVersion!.Value);
        Assert.True(await ArtifactFolders.IsCompleteAsync(factory.Services.GetRequiredService<IArtifactStore>(), version.CheckpointKey));
    }

    [Fact]
    public async Task A_restarted_host_keeps_its_demo_content()
    {
        string firstKey;
        await using (var first = CreateFactory())
        {
            using var client = first.CreateClient();
            await WaitUntilReadyAsync(client);
            firstKey = (await first.Services.GetRequiredService<IGrainFactory>()
                .GetGrain<IDatasetGrain>($"{DemoSeeder.TenantId}/{DemoSeeder.DatasetId}").GetAsync()).Versions.Single().SamplesIndexKey;
        }

        await using var second = CreateFactory();
        using var again = second.CreateClient();
        await WaitUntilReadyAsync(again);
        var dataset = await second.Services.GetRequiredService<IGrainFactory>()
            .GetGrain<IDatasetGrain>($"{DemoSeeder.TenantId}/{DemoSeeder.DatasetId}").GetAsync();
        Assert.Equal(firstKey, Assert.Single(dataset.Versions).SamplesIndexKey);
    }

    private WebApplicationFactory<Program> CreateFactory()
    {
        var (silo, gateway) = (FreePort(), FreePort());
        return new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseSetting("DeepPerception:DataDirectory", _data);
            b.UseSetting("DeepPerception:Device", "cpu");
            b.UseSetting("DeepPerception:DemoSamples", "8");
            b.UseSetting("DeepPerception:SiloPort", silo.ToString(System.Globalization.CultureInfo.InvariantCulture));
            b.UseSetting("DeepPerception:GatewayPort", gateway.ToString(System.Globalization.CultureInfo.InvariantCulture));
            b.UseSetting("DeepPerception:ClusterId", "host-tests-" + Guid.NewGuid().ToString("N"));
        });
    }

    private static async Task WaitUntilReadyAsync(HttpClient client)
    {
        // A guard against hanging forever, not a timing assertion: readiness normally comes within seconds.
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            var response = await client.GetAsync("/health/ready");
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The host did not become ready: {await response.Content.ReadAsStringAsync()}");
            }

            await Task.Delay(200);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
