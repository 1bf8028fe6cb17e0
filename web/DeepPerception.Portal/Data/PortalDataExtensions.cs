using DeepPerception.Portal.Auth;
using Microsoft.Extensions.DependencyInjection;

namespace DeepPerception.Portal.Data;

/// <summary>Registers the portal's view services.</summary>
public static class PortalDataExtensions
{
    /// <summary>Adds the per-circuit session and the view services the pages use.</summary>
    public static IServiceCollection AddPortalData(this IServiceCollection services)
    {
        services.AddScoped<PortalSession>();
        services.AddScoped<LeaderboardView>();
        services.AddScoped<DatasetSamples>();
        return services;
    }
}
