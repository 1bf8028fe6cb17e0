using DeepPerception.Api.Hosting;
using DeepPerception.WebHost;

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
        builder.AddPlatformTelemetry("deepperception-web");
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
}
