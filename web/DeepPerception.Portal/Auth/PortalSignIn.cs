using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Tenancy;

namespace DeepPerception.Portal.Auth;

/// <summary>A presented API key was refused; the message says why and what to do.</summary>
public sealed class PortalSignInException(string message) : Exception(message);

/// <summary>Settings of the portal.</summary>
public sealed class PortalOptions
{
    /// <summary>The reserved tenant whose admin keys are platform-admin keys (default <c>platform</c>).</summary>
    public string PlatformTenantId { get; set; } = "platform";

    /// <summary>The address of an Orleans Dashboard, when one is mounted (shown on the admin page).</summary>
    public string? OrleansDashboardUrl { get; set; }

    /// <summary>The leaderboard grain key shown publicly on the leaderboard page (default <c>platform/kvg-bench</c>).</summary>
    public string PublicLeaderboardKey { get; set; } = "platform/kvg-bench";

    /// <summary>How long a sign-in session lasts without activity (default 8 hours).</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);
}

/// <summary>Turns an API key into a portal user by verifying it with the key's tenant.</summary>
public sealed class PortalSignIn(IGrainFactory grains, PortalOptions options)
{
    /// <summary>Verifies <paramref name="apiKey"/> and returns the user it signs in.</summary>
    /// <exception cref="PortalSignInException">The key is empty, malformed, unknown or revoked.</exception>
    public async Task<PortalUser> VerifyAsync(string? apiKey)
    {
        var secret = apiKey?.Trim();
        if (string.IsNullOrEmpty(secret))
        {
            throw new PortalSignInException("Paste an API key to sign in. Keys start with 'dpk_'; a tenant admin can issue one.");
        }

        if (!ApiKeyFormat.TryParse(secret, out var tenantId, out _))
        {
            throw new PortalSignInException("This is not a DeepPerception API key: keys look like 'dpk_<tenant>_<key id>_<64 hex characters>'.");
        }

        var tenant = grains.GetGrain<ITenantGrain>(tenantId);
        ApiKeyVerification verification;
        try
        {
            verification = await tenant.VerifyApiKeyAsync(secret);
        }
        catch (PlatformException)
        {
            throw new PortalSignInException("The API key was not accepted: it is unknown or revoked. Ask a tenant admin for a new key.");
        }

        if (!verification.IsValid || verification.KeyId is null || verification.Role is null)
        {
            throw new PortalSignInException("The API key was not accepted: it is unknown or revoked. Ask a tenant admin for a new key.");
        }

        var role = tenantId == options.PlatformTenantId && verification.Role == TenantRole.TenantAdmin
            ? PortalRole.PlatformAdmin
            : verification.Role == TenantRole.TenantAdmin ? PortalRole.TenantAdmin : PortalRole.TenantMember;
        return new PortalUser(tenantId, tenantId, role, verification.KeyId);
    }
}
