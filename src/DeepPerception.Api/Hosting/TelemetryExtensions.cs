using DeepPerception.Abstractions.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace DeepPerception.Api.Hosting;

/// <summary>The OpenTelemetry set-up every host of the API shares (the one-process host and the web host).</summary>
public static class TelemetryExtensions
{
    /// <summary>
    /// OpenTelemetry tracing (ASP.NET Core, Orleans) and metrics (ASP.NET Core, Orleans, the platform's "DeepPerception"
    /// meter: jobs, scheduler queue, device usage, storage retries, ground requests); the OTLP exporter is added when
    /// <c>OpenTelemetry:OtlpEndpoint</c> or <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set. The service name is
    /// <c>OpenTelemetry:ServiceName</c>, else <paramref name="defaultServiceName"/>.
    /// </summary>
    public static WebApplicationBuilder AddPlatformTelemetry(this WebApplicationBuilder builder, string defaultServiceName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var serviceName = builder.Configuration["OpenTelemetry:ServiceName"] is { Length: > 0 } name ? name : defaultServiceName;
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
