using DeepPerception.Api.Hosting;
using DeepPerception.Host;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Composes the one-process DeepPerception host.</summary>
public static class HostBuilderExtensions
{
    /// <summary>Tag of the readiness checks.</summary>
    public const string ReadyTag = "ready";

    /// <summary>
    /// Everything the host needs: options, structured logs, the Orleans silo configured by
    /// <see cref="PlatformClusterOptions"/> (by default all roles with the engine runner and embedded storage under the
    /// data folder; see <see cref="ClusterHostExtensions"/> for cluster mode), OpenTelemetry, health checks and the demo seeder.
    /// </summary>
    public static WebApplicationBuilder AddDeepPerceptionHost(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Configuration.GetSection(DeepPerceptionHostOptions.Section).Get<DeepPerceptionHostOptions>()
                      ?? new DeepPerceptionHostOptions();
        builder.Services.AddSingleton(options);
        builder.AddStructuredLogging();
        builder.AddConfiguredPlatform(options);
        builder.AddPlatformTelemetry("deepperception-host");
        builder.Services.AddDeepPerceptionApi(builder.Configuration,
            o => o.BootstrapKeyFile ??= Path.Combine(options.DataRoot, "bootstrap-admin-key.txt"));
        builder.Services.AddSingleton<DemoSeedState>();
        builder.Services.AddHealthChecks()
            .AddCheck<ClusterReadyHealthCheck>("cluster", tags: [ReadyTag])
            .AddCheck<DemoSeedHealthCheck>("demo", tags: [ReadyTag]);
        if (options.SeedDemo)
        {
            builder.Services.AddHostedService<DemoSeeder>();
        }

        return builder;
    }

    /// <summary>JSON console logs with scopes (one object per line) unless configured otherwise.</summary>
    public static WebApplicationBuilder AddStructuredLogging(this WebApplicationBuilder builder)
    {
        builder.Logging.AddJsonConsole(o =>
        {
            o.IncludeScopes = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });
        return builder;
    }

    /// <summary>
    /// The embedded platform: a localhost-clustered silo hosting control-plane grains and GPU work (engine runner on
    /// one device worker), file grain storage and the file-system artifact store under the data folder.
    /// </summary>
    public static WebApplicationBuilder AddEmbeddedPlatform(this WebApplicationBuilder builder, DeepPerceptionHostOptions options) =>
        builder.AddPlatformSilo(options, new PlatformClusterOptions());

    /// <summary><c>/health/live</c> (the process answers) and <c>/health/ready</c> (cluster up, demo content ready).</summary>
    public static WebApplication MapDeepPerceptionHealth(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag) });
        return app;
    }
}
