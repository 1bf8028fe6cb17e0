using DeepPerception.Abstractions;
using DeepPerception.Api;
using DeepPerception.Api.Identity;
using DeepPerception.Api.Services;
using DeepPerception.Portal.Auth;
using DeepPerception.Portal.Components;
using DeepPerception.Portal.Data;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;

namespace DeepPerception.Portal;

/// <summary>Registers and maps the DeepPerception portal (Blazor Web App, interactive server, MudBlazor).</summary>
public static class PortalExtensions
{
    /// <summary>The portal's cookie authentication scheme.</summary>
    public const string CookieScheme = "DeepPerception.Portal";

    /// <summary>
    /// Adds the portal: Razor components with interactive server rendering, MudBlazor, the session cookie and the portal
    /// services (options from the <c>DeepPerception:Portal</c> section of <paramref name="configuration"/>, then
    /// <paramref name="configure"/>). The pages call the API's application services, so the host also calls
    /// <c>AddDeepPerceptionApi()</c>, and needs an <see cref="IGrainFactory"/> (an Orleans silo or client).
    /// </summary>
    public static IServiceCollection AddDeepPerceptionPortal(this IServiceCollection services, IConfiguration? configuration = null,
        Action<PortalOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = new PortalOptions();
        configuration?.GetSection(PortalOptions.Section).Bind(options);
        configure?.Invoke(options);
        services.AddSingleton(options);
        services.AddRazorComponents().AddInteractiveServerComponents();
        services.AddMudServices();
        services.AddCascadingAuthenticationState();
        services.AddAuthorization();
        services.AddAuthentication()
            .AddCookie(CookieScheme, o =>
            {
                o.Cookie.Name = "dp_portal";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                o.LoginPath = "/signin";
                o.ExpireTimeSpan = options.SessionLifetime;
                o.SlidingExpiration = true;
            });
        services.AddHttpContextAccessor();
        services.AddScoped<PortalSignIn>();
        services.AddScoped<PortalTenantSwitch>();
        services.AddPortalData();
        return services;
    }

    /// <summary>
    /// Maps the portal: its pages and static assets, and the sign-in, sign-out and tenant-switch form posts under
    /// <c>/portal</c>. Leaves <c>/v1</c>, <c>/openapi</c> and <c>/health</c> to the API.
    /// </summary>
    public static WebApplication MapDeepPerceptionPortal(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.Services.GetService<ApiKeyAuthenticator>() is null)
        {
            throw new InvalidOperationException(
                "The portal calls the API's application services: call builder.Services.AddDeepPerceptionApi() before AddDeepPerceptionPortal().");
        }

        app.Use(async (context, next) =>
        {
            // The portal reads its own session cookie whatever default scheme the API configures.
            if (context.User.Identity?.IsAuthenticated != true && !IsApiPath(context.Request.Path))
            {
                var result = await context.AuthenticateAsync(CookieScheme);
                if (result.Succeeded)
                {
                    context.User = result.Principal;
                }
            }

            await next(context);
        });
        app.UseAntiforgery();
        app.MapStaticAssets();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        MapSessionEndpoints(app);
        return app;
    }

    private static bool IsApiPath(PathString path) =>
        path.StartsWithSegments("/v1") || path.StartsWithSegments("/openapi") || path.StartsWithSegments("/health");

    private static void MapSessionEndpoints(WebApplication app)
    {
        app.MapPost("/portal/signin", async (HttpContext context, PortalSignIn signIn, [FromForm] string? apiKey, [FromForm] string? returnUrl) =>
        {
            try
            {
                var user = await signIn.VerifyAsync(apiKey);
                await context.SignInAsync(CookieScheme, user.ToPrincipal(CookieScheme));
                return Results.LocalRedirect(SafeReturnUrl(returnUrl));
            }
            catch (PortalSignInException ex)
            {
                return Results.LocalRedirect($"/signin?error={Uri.EscapeDataString(ex.Message)}");
            }
        });
        app.MapGet("/portal/models/{modelId}/export", async (HttpContext context, ModelService models, string modelId, int? version) =>
        {
            if (PortalUser.FromPrincipal(context.User) is not { } user)
            {
                return Results.LocalRedirect("/signin");
            }

            try
            {
                var export = await models.ExportAsync(user.Caller, modelId, version, context.RequestAborted);
                return Results.File(export.Content, "application/zip", export.FileName);
            }
            catch (Exception ex) when (ex is PlatformException or ApiException)
            {
                return Results.LocalRedirect($"/models?model={Uri.EscapeDataString(modelId)}&error={Uri.EscapeDataString(PortalErrors.Describe(ex))}");
            }
        });
        app.MapPost("/portal/signout", async (HttpContext context) =>
        {
            await context.SignOutAsync(CookieScheme);
            return Results.LocalRedirect("/signin");
        });
        app.MapPost("/portal/tenant", async (HttpContext context, PortalTenantSwitch tenantSwitch, [FromForm] string? tenantId, [FromForm] string? returnUrl) =>
        {
            var user = PortalUser.FromPrincipal(context.User);
            if (user is null)
            {
                return Results.LocalRedirect("/signin");
            }

            try
            {
                var switched = await tenantSwitch.SwitchAsync(user, tenantId);
                await context.SignInAsync(CookieScheme, switched.ToPrincipal(CookieScheme));
                return Results.LocalRedirect(SafeReturnUrl(returnUrl));
            }
            catch (PortalSignInException ex)
            {
                return Results.LocalRedirect($"/?error={Uri.EscapeDataString(ex.Message)}");
            }
        });
    }

    private static string SafeReturnUrl(string? returnUrl) =>
        !string.IsNullOrEmpty(returnUrl) && returnUrl.StartsWith('/') && !returnUrl.StartsWith("//", StringComparison.Ordinal)
            && !returnUrl.StartsWith("/\\", StringComparison.Ordinal)
            ? returnUrl
            : "/";
}
