using DeepPerception.Api;
using DeepPerception.Api.Endpoints;
using DeepPerception.Api.Identity;
using DeepPerception.Api.Services;
using DeepPerception.Api.Uploads;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers and mounts the DeepPerception HTTP API.</summary>
public static class DeepPerceptionApiExtensions
{
    /// <summary>
    /// Registers the API's application services (<see cref="TenantService"/>, <see cref="AdminService"/>,
    /// <see cref="DatasetService"/>, <see cref="TrainingService"/>, <see cref="ModelService"/>, <see cref="EvaluationService"/>,
    /// <see cref="GroundingService"/>, <see cref="LeaderboardService"/>), key authentication, the platform bootstrap
    /// and OpenAPI. Needs an <c>IGrainFactory</c> (silo or Orleans client) and an <c>IArtifactStore</c>. Options come
    /// from <paramref name="configuration"/>'s <c>DeepPerception:Api</c> section, then <paramref name="configure"/>.
    /// </summary>
    public static IServiceCollection AddDeepPerceptionApi(this IServiceCollection services, IConfiguration? configuration = null,
        Action<DeepPerceptionApiOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = new DeepPerceptionApiOptions();
        configuration?.GetSection(DeepPerceptionApiOptions.Section).Bind(options);
        configure?.Invoke(options);
        options.Validate();
        services.TryAddSingleton(options);
        services.TryAddSingleton<ApiKeyAuthenticator>();
        services.TryAddSingleton<ResourceIndex>();
        services.TryAddSingleton<TenantDirectory>();
        services.TryAddSingleton<SafeArchive>();
        services.TryAddSingleton<BootstrapState>();
        services.TryAddSingleton<TenantService>();
        services.TryAddSingleton<AdminService>();
        services.TryAddSingleton<DatasetService>();
        services.TryAddSingleton<TrainingService>();
        services.TryAddSingleton<ModelService>();
        services.TryAddSingleton<EvaluationService>();
        services.TryAddSingleton<GroundingService>();
        services.TryAddSingleton<ServingUsageMeter>();
        services.AddHostedService(sp => sp.GetRequiredService<ServingUsageMeter>());
        services.TryAddSingleton<LeaderboardService>();
        if (options.Bootstrap)
        {
            services.AddHostedService<BootstrapAdminService>();
        }

        services.AddOpenApi("v1", o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "DeepPerception API";
            document.Info.Version = "v1";
            document.Info.Description = "Knowledge-intensive visual grounding: ground requests, datasets, fine-tuning, models, evaluations, "
                                        + "leaderboards and administration. Authenticate with 'Authorization: Bearer dpk_…' or 'X-Api-Key'.";
            return Task.CompletedTask;
        }));
        return services;
    }

    /// <summary>
    /// Mounts the API: the key/rate/error middleware, the <c>/v1</c> endpoints and the OpenAPI document at
    /// <c>/openapi/v1.json</c>.
    /// </summary>
    public static TApp MapDeepPerceptionApi<TApp>(this TApp app)
        where TApp : Microsoft.AspNetCore.Builder.IApplicationBuilder, IEndpointRouteBuilder
    {
        ArgumentNullException.ThrowIfNull(app);
        Microsoft.AspNetCore.Builder.UseMiddlewareExtensions.UseMiddleware<ApiMiddleware>(app);
        ApiEndpoints.Map(app);
        Microsoft.AspNetCore.Builder.OpenApiEndpointRouteBuilderExtensions.MapOpenApi(app, "/openapi/{documentName}.json");
        return app;
    }
}
