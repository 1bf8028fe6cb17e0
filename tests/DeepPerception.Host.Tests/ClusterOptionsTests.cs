using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using DeepPerception.Grains.Gpu;
using DeepPerception.Grains.Serving;
using DeepPerception.Host;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using TorchSharp;

namespace DeepPerception.Host.Tests;

/// <summary>The host's cluster settings and the Orleans Dashboard of the one-process host.</summary>
public sealed class ClusterOptionsTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"dp-host-cluster-tests-{Guid.NewGuid():N}");

    public ClusterOptionsTests() => torch.set_num_threads(1);

    public void Dispose()
    {
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }

    [Fact]
    public void The_defaults_are_the_embedded_one_process_platform()
    {
        var options = new PlatformClusterOptions();

        options.Validate();
        Assert.True(options.IsControl);
        Assert.True(options.IsGpu);
        Assert.False(options.IsAzureClustering);
        Assert.False(options.IsAzureGrainStorage);
        Assert.False(options.IsAzureArtifactStore);
        Assert.True(options.Dashboard);
    }

    [Theory]
    [InlineData("control", true, false)]
    [InlineData("gpu", false, true)]
    [InlineData("control, gpu", true, true)]
    [InlineData("both", true, true)]
    [InlineData("GPU", false, true)]
    public void Roles_are_parsed(string roles, bool control, bool gpu)
    {
        var options = new PlatformClusterOptions { Roles = roles };

        options.Validate();
        Assert.Equal(control, options.IsControl);
        Assert.Equal(gpu, options.IsGpu);
    }

    [Theory]
    [InlineData("Roles", "trainer", "unknown role 'trainer'")]
    [InlineData("Roles", " , ", "names no role")]
    [InlineData("Clustering", "consul", "DeepPerception:Clustering 'consul'")]
    [InlineData("GrainStorage", "memory", "DeepPerception:GrainStorage 'memory'")]
    [InlineData("ArtifactStore", "s3", "DeepPerception:ArtifactStore 's3'")]
    [InlineData("Clustering", "azure", "AzureStorageConnectionString is required")]
    [InlineData("MaxConcurrentWork", "0", "MaxConcurrentWork must be at least 1")]
    [InlineData("SchedulerPassSeconds", "0", "SchedulerPassSeconds must be a positive number")]
    public void Bad_settings_are_refused_with_a_message_naming_them(string setting, string value, string expected)
    {
        var options = new PlatformClusterOptions();
        var property = typeof(PlatformClusterOptions).GetProperty(setting)!;
        property.SetValue(options, property.PropertyType == typeof(string) ? value
            : Convert.ChangeType(value, property.PropertyType, CultureInfo.InvariantCulture));

        var error = Assert.Throws<InvalidPlatformConfigurationException>(options.Validate);

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Azure_settings_with_a_connection_string_are_valid()
    {
        var options = new PlatformClusterOptions
        {
            Roles = "gpu",
            Clustering = "azure",
            GrainStorage = "Azure",
            ArtifactStore = "azure",
            AzureStorageConnectionString = "UseDevelopmentStorage=true",
            AdvertisedAddress = "10.0.0.7",
        };

        options.Validate();
        Assert.True(options.IsAzureClustering && options.IsAzureGrainStorage && options.IsAzureArtifactStore);
        Assert.Equal(IPAddress.Parse("10.0.0.7"), options.AdvertisedIPAddress);
        Assert.Null(new PlatformClusterOptions { AdvertisedAddress = "gpu-1" }.AdvertisedIPAddress);
    }

    [Fact]
    public void The_host_refuses_to_start_with_bad_cluster_settings()
    {
        using var factory = CreateFactory(("DeepPerception:Roles", "scheduler"));

        var error = Assert.Throws<InvalidPlatformConfigurationException>(() => factory.CreateClient());

        Assert.Contains("unknown role 'scheduler'", error.Message);
    }

    [Fact]
    public async Task The_one_process_host_serves_the_orleans_dashboard_under_dashboard_to_platform_admins_only()
    {
        const string adminKey = "dpk_platform_dashtest_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        await using var factory = CreateFactory(("DeepPerception:Api:BootstrapAdminKey", adminKey));
        using var client = factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

        using (var anonymous = await client.GetAsync("/dashboard/"))
        {
            Assert.Equal(HttpStatusCode.Redirect, anonymous.StatusCode);
            Assert.Contains("/signin", anonymous.Headers.Location!.ToString(), StringComparison.Ordinal);
        }

        // Sign in to the portal as a platform admin (the sign-in form carries an antiforgery token).
        var page = await client.GetStringAsync("/signin");
        var token = System.Text.RegularExpressions.Regex.Match(page, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
        Assert.NotEmpty(token);
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token,
            ["apiKey"] = adminKey,
            ["returnUrl"] = "/",
        });
        using (var signedIn = await client.PostAsync("/portal/signin", form))
        {
            Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
            Assert.DoesNotContain("error", signedIn.Headers.Location!.ToString(), StringComparison.Ordinal);
        }

        using var response = await client.GetAsync("/dashboard/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("html", (await response.Content.ReadAsStringAsync()).ToLowerInvariant());
    }

    [Fact]
    public async Task The_dashboard_can_be_switched_off()
    {
        await using var factory = CreateFactory(("DeepPerception:Dashboard", "false"));
        using var client = factory.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/dashboard/")).StatusCode);
    }

    [Fact]
    public async Task A_control_only_silo_does_not_load_the_engine_worker_and_still_seeds_the_demo()
    {
        await using var factory = CreateFactory(("DeepPerception:Roles", "control"), ("DeepPerception:SeedDemo", "true"),
            ("DeepPerception:DemoSamples", "4"));
        using var client = factory.CreateClient();

        Assert.Null(factory.Services.GetService<IGpuWorkRunner>());
        Assert.Null(factory.Services.GetService<IGroundingRunner>());
        // A guard against hanging forever, not a timing assertion.
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            using var status = JsonDocument.Parse(await client.GetStringAsync("/v1/status"));
            var demo = status.RootElement.GetProperty("demo");
            Assert.True(demo.GetProperty("error").ValueKind == JsonValueKind.Null, demo.GetProperty("error").ToString());
            if (demo.GetProperty("ready").GetBoolean())
            {
                Assert.Empty(status.RootElement.GetProperty("silos").EnumerateArray());
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "The demo content was not created within 3 minutes.");
            await Task.Delay(200);
        }

        // Without a GPU silo the cluster is not ready, and says why.
        using var ready = await client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
    }

    private WebApplicationFactory<Program> CreateFactory(params (string Key, string Value)[] settings) =>
        new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseSetting("DeepPerception:DataDirectory", _data);
            b.UseSetting("DeepPerception:Device", "cpu");
            b.UseSetting("DeepPerception:SeedDemo", "false");
            b.UseSetting("DeepPerception:SiloPort", FreePort().ToString(CultureInfo.InvariantCulture));
            b.UseSetting("DeepPerception:GatewayPort", FreePort().ToString(CultureInfo.InvariantCulture));
            b.UseSetting("DeepPerception:ClusterId", "host-cluster-tests-" + Guid.NewGuid().ToString("N"));
            foreach (var (key, value) in settings)
            {
                b.UseSetting(key, value);
            }
        });

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
