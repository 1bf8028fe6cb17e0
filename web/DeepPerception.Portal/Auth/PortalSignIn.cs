using DeepPerception.Api;
using DeepPerception.Api.Identity;

namespace DeepPerception.Portal.Auth;

/// <summary>A presented API key was refused; the message says why and what to do.</summary>
public sealed class PortalSignInException(string message) : Exception(message);

/// <summary>Settings of the portal.</summary>
public sealed class PortalOptions
{
    /// <summary>The configuration section of the portal's settings.</summary>
    public const string Section = "DeepPerception:Portal";

    /// <summary>The address of an Orleans Dashboard, when one is mounted (shown on the admin page).</summary>
    public string? OrleansDashboardUrl { get; set; }

    /// <summary>How long a sign-in session lasts without activity (default 8 hours).</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);
}

/// <summary>Turns an API key into a portal user with the API's key authenticator.</summary>
public sealed class PortalSignIn(ApiKeyAuthenticator authenticator)
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

        try
        {
            var caller = await authenticator.AuthenticateAsync(secret);
            return new PortalUser(caller.TenantId, caller.TenantId, caller.Role, caller.KeyId);
        }
        catch (UnauthenticatedException ex)
        {
            throw new PortalSignInException(ex.Message + " Check the key, or ask a tenant admin for a new one.");
        }
    }
}
