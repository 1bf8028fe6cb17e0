using DeepPerception.Host;
using DeepPerception.Portal.Auth;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Connects the mounted portal to the host's other parts.</summary>
public static class PortalHosting
{
    /// <summary>
    /// Points the portal's admin page at the Orleans Dashboard when this host mounts it (control silo, dashboard on),
    /// unless <c>DeepPerception:Portal:OrleansDashboardUrl</c> names another address.
    /// </summary>
    public static WebApplication LinkPortalToDashboard(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var cluster = app.Services.GetRequiredService<PlatformClusterOptions>();
        var portal = app.Services.GetRequiredService<PortalOptions>();
        if (cluster.Dashboard && cluster.IsControl && string.IsNullOrEmpty(portal.OrleansDashboardUrl))
        {
            portal.OrleansDashboardUrl = ClusterHostExtensions.DashboardPath;
        }

        return app;
    }
}
