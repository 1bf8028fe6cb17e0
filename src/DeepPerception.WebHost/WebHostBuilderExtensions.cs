using DeepPerception.Abstractions.Telemetry;
using DeepPerception.WebHost;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Composes the web host: an Orleans client of a running cluster with the HTTP API mounted.</summary>
public static class WebHostBuilderExtensions
{
    /// <summary>
    /// Options, JSON console logs, OpenTelemetry, the Orleans client (localhost clustering to the gateway port of
    /// <see cref="WebHostOptions"/>, or the silos' Azure Table membership), the artifact store the cluster uses (file
    /// system or Azure Blob) and the API's services. The bootstrap platform-admin key file goes next to the artifacts
    /// folder.
    /// </summary>
    /// <exception cref="InvalidOperationException">The clustering setting is unknown or lacks its connection string.</exception>
    public static WebApplicationBuilder AddDeepPerceptionWebHost(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Configuration.GetSection(WebHostOptions.Section).Get<WebHostOptions>() ?? new WebHostOptions();
        builder.Services.AddSingleton(options);
        builder.Logging.AddJsonConsole(o =>
        {
            o.IncludeScopes = true;
            o.UseUtcTimestamp = true;
        });
        builder.AddWebHostTelemetry();
        switch (options.Clustering.Trim().ToLowerInvariant())
        {
            case "localhost":
                builder.UseOrleansClient(client =>
                    client.UseLocalhostClustering(options.GatewayPort, options.ServiceId, options.ClusterId));
                break;
            case "azure":
                var connection = options.ClusteringConnectionString ?? options.BlobConnectionString;
                if (string.IsNullOrWhiteSpace(connection))
                {
                    throw new InvalidOperationException(
                        $"{WebHostOptions.Section}:Clustering=azure needs ClusteringConnectionString (or BlobConnectionString).");
                }

                builder.UseOrleansClient(client =>
                {
                    client.Configure<Orleans.Configuration.ClusterOptions>(o =>
                    {
                        o.ClusterId = options.ClusterId;
                        o.ServiceId = options.ServiceId;
                    });
                    client.UseAzureStorageClustering(o => o.TableServiceClient = new Azure.Data.Tables.TableServiceClient(connection));
                });
                break;
            default:
                throw new InvalidOperationException(
                    $"{WebHostOptions.Section}:Clustering must be 'localhost' or 'azure' (it is '{options.Clustering}').");
        }

        if (!string.IsNullOrEmpty(options.BlobConnectionString))
        {
            builder.Services.AddAzureBlobArtifactStore(o =>
            {
                o.ConnectionString = options.BlobConnectionString;
                o.ContainerName = options.BlobContainer;
            });
        }
        else
        {
            builder.Services.AddFileSystemArtifactStore(o => o.RootDirectory = Path.GetFullPath(options.ArtifactsDirectory));
        }

        var keyFolder = Path.GetDirectoryName(Path.GetFullPath(options.ArtifactsDirectory)) ?? Path.GetFullPath(".");
        builder.Services.AddDeepPerceptionApi(builder.Configuration,
            o => o.BootstrapKeyFile ??= Path.Combine(keyFolder, "bootstrap-admin-key.txt"));
        builder.Services.AddHealthChecks();
        return builder;
    }

    /// <summary>
    /// OpenTelemetry tracing (ASP.NET Core, Orleans client) and metrics (ASP.NET Core, Orleans, the platform's
    /// "DeepPerception" meter with the ground-request instruments); exported over OTLP when
    /// <c>OpenTelemetry:OtlpEndpoint</c> or <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.
    /// </summary>
    public static WebApplicationBuilder AddWebHostTelemetry(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var serviceName = builder.Configuration["OpenTelemetry:ServiceName"] is { Length: > 0 } name ? name : "deepperception-web";
        var endpoint = builder.Configuration["OpenTelemetry:OtlpEndpoint"] is { Length: > 0 } e ? e : builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        var otlp = !string.IsNullOrWhiteSpace(endpoint);
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName))
            .WithTracing(t =>
            {
                t.AddAspNetCoreInstrumentation(o => o.Filter = ctx => !ctx.Request.Path.StartsWithSegments("/health"))
                    .AddSource("Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application");
                if (otlp)
                {
                    t.AddOtlpExporter(o => o.Endpoint = new Uri(endpoint!));
                }
            })
            .WithMetrics(m =>
            {
                m.AddAspNetCoreInstrumentation().AddMeter("Microsoft.Orleans", PlatformMetrics.MeterName);
                if (otlp)
                {
                    m.AddOtlpExporter(o => o.Endpoint = new Uri(endpoint!));
                }
            });
        return builder;
    }
}
