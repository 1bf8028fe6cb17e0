using System.Security.Claims;
using Bunit;
using Bunit.TestDoubles;
using DeepPerception.Api.Identity;
using DeepPerception.Portal.Auth;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;

namespace DeepPerception.Portal.Tests;

/// <summary>Builds bUnit contexts with MudBlazor and the portal's session service.</summary>
internal static class PortalContext
{
    /// <summary>A context with MudBlazor, loose JS interop and an anonymous or signed-in user.</summary>
    public static BunitContext Create(PortalUser? user = null)
    {
        var ctx = new BunitContext();
        ctx.Services.AddMudServices();
        ctx.JSInterop.Mode = JSRuntimeMode.Loose;
        var auth = ctx.AddAuthorization();
        if (user is not null)
        {
            auth.SetAuthorized(user.KeyId);
            auth.SetClaims(user.ToPrincipal("test").Claims.Where(c => c.Type != ClaimTypes.Name).ToArray());
        }

        ctx.Services.AddScoped<PortalSession>();
        return ctx;
    }

    /// <summary>A tenant member of tenant <c>acme</c>.</summary>
    public static PortalUser Member => new("acme", "acme", PlatformRole.TenantMember, "k1");

    /// <summary>A platform admin.</summary>
    public static PortalUser PlatformAdmin => new("platform", "platform", PlatformRole.PlatformAdmin, "root");
}
