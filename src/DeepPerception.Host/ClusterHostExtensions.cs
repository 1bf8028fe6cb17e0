using Microsoft.AspNetCore.Authorization;
using System.Net;
using System.Net.Sockets;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using DeepPerception.Grains.Hosting;
using DeepPerception.Host;
using DeepPerception.ML.Runtime;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Configuration;
using Orleans.Dashboard;

namespace Microsoft.AspNetCore.Builder;

/// <summary>
/// Composes the host's silo from configuration: roles, clustering, grain storage, artifact store and the dashboard
/// (see <see cref="PlatformClusterOptions"/>). The defaults give the embedded one-process platform.
/// </summary>
public static class ClusterHostExtensions
{
    /// <summary>The route of the Orleans Dashboard on control silos.</summary>
    public const string DashboardPath = "/dashboard";

    /// <summary>The configuration section bound to <see cref="ClusterMembershipOptions"/> in cluster mode.</summary>
    public const string MembershipSection = "DeepPerception:Membership";

    /// <summary>
    /// The configuration section bound to the artifact store's retry options
    /// (<see cref="DeepPerception.Storage.Resilience.ArtifactStoreRetryOptions"/>: <c>Enabled</c>, <c>MaxAttempts</c>,
    /// <c>InitialDelay</c>, <c>MaxDelay</c>, <c>MaxElapsed</c>).
    /// </summary>
    public const string ArtifactStoreRetrySection = "DeepPerception:ArtifactStoreRetry";

    /// <summary>
    /// Reads <see cref="PlatformClusterOptions"/> from the <c>DeepPerception</c> section, validates them, registers them
    /// as a singleton and adds the silo they describe.
    /// </summary>
    /// <exception cref="InvalidPlatformConfigurationException">A setting is not valid.</exception>
    public static WebApplicationBuilder AddConfiguredPlatform(this WebApplicationBuilder builder, DeepPerceptionHostOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        var cluster = builder.Configuration.GetSection(DeepPerceptionHostOptions.Section).Get<PlatformClusterOptions>()
                      ?? new PlatformClusterOptions();
        return builder.AddPlatformSilo(options, cluster);
    }

    /// <summary>
    /// Adds the silo: the roles' grains and services (a GPU-role silo runs the engine worker, a control-only silo does
    /// not load it), localhost or Azure Table clustering, file or Azure Blob grain storage under
    /// <see cref="PlatformStorage.Name"/>, the file-system or Azure Blob artifact store, and the Orleans Dashboard
    /// when enabled.
    /// </summary>
    /// <exception cref="InvalidPlatformConfigurationException">A setting is not valid.</exception>
    public static WebApplicationBuilder AddPlatformSilo(this WebApplicationBuilder builder, DeepPerceptionHostOptions options,
        PlatformClusterOptions cluster)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(cluster);
        cluster.Validate();
        builder.Services.AddSingleton(cluster);
        Directory.CreateDirectory(options.DataRoot);
        builder.AddPlatformArtifactStore(options, cluster);
        var membership = builder.Configuration.GetSection(MembershipSection);
        builder.UseOrleans(silo =>
        {
            silo.AddPlatformClustering(options, cluster);
            if (cluster.IsAzureClustering && membership.Exists())
            {
                silo.Services.Configure<ClusterMembershipOptions>(membership);
            }

            silo.AddDeepPerceptionSilo(o =>
            {
                o.Control = cluster.IsControl;
                o.Gpu = cluster.IsGpu;
                o.DeviceName = cluster.IsGpu ? DescribeDevice(options.Device) : "none";
                o.DeviceMemoryBytes = cluster.DeviceMemoryBytes;
                o.MaxConcurrentWork = cluster.MaxConcurrentWork;
                o.SchedulerPassInterval = TimeSpan.FromSeconds(cluster.SchedulerPassSeconds);
                o.WorkerCheckInterval = TimeSpan.FromSeconds(cluster.WorkerCheckSeconds);
                o.SchedulerWatchdogInterval = TimeSpan.FromSeconds(cluster.SchedulerWatchdogSeconds);
                o.PreemptionMinRunTime = cluster.PreemptionMinRunSeconds > 0
                    ? TimeSpan.FromSeconds(cluster.PreemptionMinRunSeconds)
                    : null;
                o.StorageRetryDelay = TimeSpan.FromSeconds(cluster.StorageRetrySeconds);
                o.StorageRetryMaxDelay = TimeSpan.FromSeconds(cluster.StorageRetryMaxSeconds);
            });
            silo.AddPlatformGrainStorage(options, cluster);
            if (cluster.IsGpu)
            {
                silo.AddEngineGpuWorker(o =>
                {
                    o.WorkDirectory = options.WorkDirectory;
                    o.Device = options.Device;
                    o.ServingMaxBatchSize = options.ServingMaxBatchSize;
                    o.ServingMaxWaitMs = options.ServingMaxWaitMs;
                    o.ServingAdaptiveWait = options.ServingAdaptiveWait;
                    o.ServingMaxPixels = options.ServingMaxPixels;
                });
            }
            else if (options.SeedDemo)
            {
                // A control-only silo that seeds the demo builds the tiny base model on a CPU worker of its own.
                silo.Services.TryAddSingleton(_ => new DeviceWorker(TorchSharp.torch.CPU, 1, "demo-seed-device"));
            }

            if (cluster.Dashboard)
            {
                silo.AddDashboard();
            }
        });
        return builder;
    }

    /// <summary>
    /// Localhost clustering (ports from the host options) or Azure Table membership; with
    /// <see cref="PlatformClusterOptions.Kubernetes"/> also Orleans' Kubernetes hosting (the pod gives the silo name
    /// and advertised IP, and the silo pods are watched).
    /// </summary>
    public static ISiloBuilder AddPlatformClustering(this ISiloBuilder silo, DeepPerceptionHostOptions options, PlatformClusterOptions cluster)
    {
        ArgumentNullException.ThrowIfNull(silo);
        if (!cluster.IsAzureClustering)
        {
            silo.UseLocalhostClustering(options.SiloPort, options.GatewayPort, serviceId: PlatformClusterOptions.ServiceId,
                clusterId: options.ClusterId);
            return silo;
        }

        silo.Configure<ClusterOptions>(o =>
        {
            o.ServiceId = PlatformClusterOptions.ServiceId;
            o.ClusterId = options.ClusterId;
        });
        if (cluster.Kubernetes)
        {
            // Ports here; the advertised address (POD_IP) and listening endpoints come from the Kubernetes hosting.
            silo.Configure<EndpointOptions>(o =>
            {
                o.SiloPort = options.SiloPort;
                o.GatewayPort = options.GatewayPort;
            });
            silo.UseKubernetesHosting();
        }
        else if (cluster.AdvertisedIPAddress is { } ip)
        {
            silo.ConfigureEndpoints(ip, options.SiloPort, options.GatewayPort, listenOnAnyHostAddress: !IPAddress.IsLoopback(ip));
        }
        else
        {
            var host = string.IsNullOrWhiteSpace(cluster.AdvertisedAddress) ? Dns.GetHostName() : cluster.AdvertisedAddress;
            silo.ConfigureEndpoints(host, options.SiloPort, options.GatewayPort, AddressFamily.InterNetwork, listenOnAnyHostAddress: true);
        }

        var connection = cluster.AzureStorageConnectionString!;
        silo.UseAzureStorageClustering(o => o.TableServiceClient = new TableServiceClient(connection));
        return silo;
    }

    /// <summary>Grain state under <see cref="PlatformStorage.Name"/>: the file store under the data folder or Azure Blob.</summary>
    public static ISiloBuilder AddPlatformGrainStorage(this ISiloBuilder silo, DeepPerceptionHostOptions options, PlatformClusterOptions cluster)
    {
        ArgumentNullException.ThrowIfNull(silo);
        if (!cluster.IsAzureGrainStorage)
        {
            return silo.AddFileGrainStorage(PlatformStorage.Name, o => o.RootDirectory = options.GrainsDirectory);
        }

        var connection = cluster.AzureStorageConnectionString!;
        return silo.AddAzureBlobGrainStorage(PlatformStorage.Name, o =>
        {
            // Pinned service version: Azurite 3.37 rejects the client's newer default.
            o.BlobServiceClient = new BlobServiceClient(connection,
                new BlobClientOptions(BlobClientOptions.ServiceVersion.V2026_06_06));
            o.ContainerName = cluster.GrainStateContainer;
            o.GrainStorageSerializer = new JsonGrainStateSerializer();
        });
    }

    /// <summary>
    /// The artifact store: the file system under the data folder or Azure Blob, behind the retrying decorator (settings
    /// in <see cref="ArtifactStoreRetrySection"/>).
    /// </summary>
    public static WebApplicationBuilder AddPlatformArtifactStore(this WebApplicationBuilder builder, DeepPerceptionHostOptions options,
        PlatformClusterOptions cluster)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var retry = builder.Configuration.GetSection(ArtifactStoreRetrySection);
        builder.Services.ConfigureArtifactStoreRetries(o => retry.Bind(o));
        if (cluster.IsAzureArtifactStore)
        {
            builder.Services.AddAzureBlobArtifactStore(o =>
            {
                o.ConnectionString = cluster.AzureStorageConnectionString;
                o.ContainerName = cluster.ArtifactContainer;
            });
        }
        else
        {
            builder.Services.AddFileSystemArtifactStore(o => o.RootDirectory = options.ArtifactsDirectory);
        }

        return builder;
    }

    /// <summary>
    /// Maps the Orleans Dashboard under <see cref="DashboardPath"/> on control silos when it is enabled (kept out of the
    /// OpenAPI description). It is an admin-only route: it needs the portal session of a platform admin (others are sent
    /// to the portal's sign-in page or refused).
    /// </summary>
    public static WebApplication MapPlatformDashboard(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var cluster = app.Services.GetRequiredService<PlatformClusterOptions>();
        if (cluster.Dashboard && cluster.IsControl)
        {
            var platformAdmins = new AuthorizationPolicyBuilder(DeepPerception.Portal.PortalExtensions.CookieScheme)
                .RequireClaim(DeepPerception.Portal.Auth.PortalUser.RoleClaim, nameof(DeepPerception.Api.Identity.PlatformRole.PlatformAdmin))
                .Build();
            app.MapOrleansDashboard(DashboardPath).RequireAuthorization(platformAdmins).ExcludeFromDescription();
        }

        return app;
    }

    private static string DescribeDevice(string device) => device switch
    {
        "cpu" => "cpu",
        "cuda" => "cuda",
        _ => TorchSharp.torch.cuda.is_available() ? "cuda" : "cpu",
    };
}
