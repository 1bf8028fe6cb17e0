using DeepPerception.WebHost;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Composes the web host: an Orleans client of a running cluster with the HTTP API mounted.</summary>
public static class WebHostBuilderExtensions
{
    /// <summary>
    /// Options, JSON console logs, the Orleans client (localhost clustering to the gateway port of
    /// <see cref="WebHostOptions"/>), the artifact store the cluster uses (file system or Azure Blob) and the API's
    /// services. The bootstrap platform-admin key file goes next to the artifacts folder.
    /// </summary>
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
        builder.UseOrleansClient(client =>
            client.UseLocalhostClustering(options.GatewayPort, options.ServiceId, options.ClusterId));
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
