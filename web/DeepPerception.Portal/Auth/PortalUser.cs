using System.Security.Claims;
using DeepPerception.Api.Identity;

namespace DeepPerception.Portal.Auth;

/// <summary>
/// The signed-in portal user, read from the session cookie: the tenant the session acts in, the tenant that owns the
/// API key it signed in with, the role and the key id.
/// </summary>
/// <param name="TenantId">The tenant the session currently acts in (platform admins may switch it).</param>
/// <param name="HomeTenantId">The tenant of the API key used to sign in.</param>
/// <param name="Role">The role.</param>
/// <param name="KeyId">The API key id.</param>
public sealed record PortalUser(string TenantId, string HomeTenantId, PlatformRole Role, string KeyId)
{
    /// <summary>The claim holding the acting tenant.</summary>
    public const string TenantClaim = "dp:tenant";

    /// <summary>The claim holding the key's own tenant.</summary>
    public const string HomeTenantClaim = "dp:home-tenant";

    /// <summary>The claim holding the role.</summary>
    public const string RoleClaim = "dp:role";

    /// <summary>The claim holding the key id.</summary>
    public const string KeyClaim = "dp:key";

    /// <summary>Whether the user runs the platform.</summary>
    public bool IsPlatformAdmin => Role == PlatformRole.PlatformAdmin;

    /// <summary>Whether the user may manage the acting tenant.</summary>
    public bool IsTenantAdmin => Role is PlatformRole.TenantAdmin or PlatformRole.PlatformAdmin;

    /// <summary>A short human-readable role name.</summary>
    public string RoleName => Role switch
    {
        PlatformRole.PlatformAdmin => "platform admin",
        PlatformRole.TenantAdmin => "tenant admin",
        _ => "tenant member",
    };

    /// <summary>The caller the application services act for (the acting tenant, the role and the key).</summary>
    public PlatformPrincipal Caller => new(TenantId, Role, KeyId);

    /// <summary>The claims principal of the session cookie.</summary>
    public ClaimsPrincipal ToPrincipal(string authenticationType)
    {
        var identity = new ClaimsIdentity(
            [
                new Claim(ClaimTypes.Name, $"{KeyId}@{HomeTenantId}"),
                new Claim(TenantClaim, TenantId),
                new Claim(HomeTenantClaim, HomeTenantId),
                new Claim(RoleClaim, Role.ToString()),
                new Claim(KeyClaim, KeyId),
            ],
            authenticationType);
        return new ClaimsPrincipal(identity);
    }

    /// <summary>Reads the user from a principal; null when it is not a signed-in portal session.</summary>
    public static PortalUser? FromPrincipal(ClaimsPrincipal? principal)
    {
        if (principal?.Identity?.IsAuthenticated != true)
        {
            return null;
        }

        var tenant = principal.FindFirstValue(TenantClaim);
        var home = principal.FindFirstValue(HomeTenantClaim);
        var key = principal.FindFirstValue(KeyClaim);
        if (string.IsNullOrEmpty(tenant) || string.IsNullOrEmpty(home) || string.IsNullOrEmpty(key)
            || !Enum.TryParse<PlatformRole>(principal.FindFirstValue(RoleClaim), out var role))
        {
            return null;
        }

        return new PortalUser(tenant, home, role, key);
    }
}
