using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using DeepPerception.Abstractions.Tenancy;
using DeepPerception.Client;
using DeepPerception.Data.Synth;
using DeepPerception.ML.Preprocessing.Images;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using TorchSharp;

namespace DeepPerception.Api.Tests;

/// <summary>
/// One-process host (silo with control and GPU roles, embedded storage in a temporary folder, demo content) with the
/// HTTP API mounted; a pinned platform-admin key; tenants <c>alpha</c> and <c>beta</c> with admin and member keys, and a
/// tenant-admin key for the demo tenant (which has a tiny base model and a KVG-Synth dataset).
/// </summary>
public sealed class ApiHostFixture : IAsyncLifetime
{
    /// <summary>The pinned platform-admin key.</summary>
    public static readonly string AdminKey = ApiKeyFormat.Format("platform", "pinned", new string('a', 64));

    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), $"dp-api-tests-{Guid.NewGuid():N}");

    public WebApplicationFactory<Program> Factory { get; private set; } = null!;

    public string AlphaAdmin { get; private set; } = null!;

    public string AlphaMember { get; private set; } = null!;

    public string BetaAdmin { get; private set; } = null!;

    public string BetaMember { get; private set; } = null!;

    public string DemoAdmin { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        torch.set_num_threads(1);
        var (silo, gateway) = (FreePort(), FreePort());
        Factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseSetting("DeepPerception:DataDirectory", DataDirectory);
            b.UseSetting("DeepPerception:Device", "cpu");
            b.UseSetting("DeepPerception:DemoSamples", "8");
            b.UseSetting("DeepPerception:SiloPort", silo.ToString(CultureInfo.InvariantCulture));
            b.UseSetting("DeepPerception:GatewayPort", gateway.ToString(CultureInfo.InvariantCulture));
            b.UseSetting("DeepPerception:ClusterId", "api-tests-" + Guid.NewGuid().ToString("N"));
            b.UseSetting("DeepPerception:Api:BootstrapAdminKey", AdminKey);
            b.UseSetting("DeepPerception:Api:MaxJsonBytes", (2 * 1024 * 1024).ToString(CultureInfo.InvariantCulture));
            b.UseSetting("DeepPerception:Api:MaxUploadBytes", (8 * 1024 * 1024).ToString(CultureInfo.InvariantCulture));
            b.UseSetting("DeepPerception:Api:MaxExtractedBytes", (16 * 1024 * 1024).ToString(CultureInfo.InvariantCulture));
        });
        using var http = Factory.CreateClient();
        await WaitUntilReadyAsync(http);
        var admin = Client(AdminKey);
        await WaitForBootstrapAsync(admin);
        foreach (var tenant in new[] { "alpha", "beta" })
        {
            await admin.CreateTenantAsync(new CreateTenantBody(tenant, tenant.ToUpperInvariant(), $"{tenant}-owner", 100_000, 100_000));
        }

        AlphaAdmin = (await admin.CreateTenantKeyAsync("alpha", new CreateApiKeyBody("alpha admin", "admin"))).Secret;
        AlphaMember = (await admin.CreateTenantKeyAsync("alpha", new CreateApiKeyBody("alpha member"))).Secret;
        BetaAdmin = (await admin.CreateTenantKeyAsync("beta", new CreateApiKeyBody("beta admin", "admin"))).Secret;
        BetaMember = (await admin.CreateTenantKeyAsync("beta", new CreateApiKeyBody("beta member"))).Secret;
        await admin.SetBudgetAsync("demo", new SetBudgetBody(1_000_000, 1_000_000));
        DemoAdmin = (await admin.CreateTenantKeyAsync("demo", new CreateApiKeyBody("demo admin", "admin"))).Secret;
    }

    public async Task DisposeAsync()
    {
        await Factory.DisposeAsync();
        if (Directory.Exists(DataDirectory))
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
    }

    /// <summary>An HttpClient against the test server with the key (or none).</summary>
    public HttpClient Http(string? key)
    {
        var http = Factory.CreateClient();
        if (key is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return http;
    }

    /// <summary>A typed client with the key.</summary>
    public DeepPerceptionClient Client(string? key) => new(Factory.CreateClient(), key);

    /// <summary>A small PNG.</summary>
    public static byte[] Png(int width = 64, int height = 48) => SafeImageDecoder.EncodePng(RgbImage.Filled(width, height, 200, 40, 40));

    /// <summary>A KVG-Synth dataset in the platform format, zipped; <paramref name="edit"/> may change the folder first.</summary>
    public static byte[] PlatformZip(int samples, Action<string>? edit = null, int seed = 0)
    {
        var folder = Path.Combine(Path.GetTempPath(), $"dp-api-zip-{Guid.NewGuid():N}");
        try
        {
            var world = SynthWorld.Create(seed);
            var split = SynthSplits.Build(world, samples, 1, seed: 1);
            SynthExporter.ExportPlatform(split.Train, world.Knowledge, folder);
            edit?.Invoke(folder);
            return ZipFolder(folder);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Zips a folder.</summary>
    public static byte[] ZipFolder(string folder)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var file in Directory.GetFiles(folder, "*", SearchOption.AllDirectories))
            {
                zip.CreateEntryFromFile(file, Path.GetRelativePath(folder, file).Replace('\\', '/'));
            }
        }

        return buffer.ToArray();
    }

    /// <summary>Zips named entries.</summary>
    public static byte[] Zip(params (string Name, byte[] Content)[] entries)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                using var stream = zip.CreateEntry(name, CompressionLevel.Optimal).Open();
                stream.Write(content);
            }
        }

        return buffer.ToArray();
    }

    /// <summary>Polls until <paramref name="done"/> holds (a guard against hanging, not a timing assertion).</summary>
    public static async Task<T> WaitAsync<T>(Func<Task<T>> read, Func<T, bool> done, string what, int minutes = 3)
    {
        var deadline = DateTime.UtcNow.AddMinutes(minutes);
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{what} did not finish: {value}");
            }

            await Task.Delay(200);
        }
    }

    private async Task WaitForBootstrapAsync(DeepPerceptionClient admin) =>
        await WaitAsync(async () =>
        {
            try
            {
                return (await admin.GetTenantAsync()).TenantId == "platform";
            }
            catch (DeepPerceptionApiException)
            {
                return false;
            }
        }, ok => ok, "platform bootstrap");

    private static async Task WaitUntilReadyAsync(HttpClient client) =>
        await WaitAsync(async () => (await client.GetAsync("/health/ready")).StatusCode, s => s == HttpStatusCode.OK, "host readiness");

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[CollectionDefinition("api")]
public sealed class ApiCollection : ICollectionFixture<ApiHostFixture>;
