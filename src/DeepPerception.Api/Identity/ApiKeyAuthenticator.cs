using System.Security.Cryptography;
using System.Text;
using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Tenancy;
using Microsoft.AspNetCore.Http;

namespace DeepPerception.Api.Identity;

/// <summary>
/// Turns a presented API key (<c>Authorization: Bearer dpk_…</c> or <c>X-Api-Key: dpk_…</c>) into a
/// <see cref="PlatformPrincipal"/>: the key's shape names its tenant, and the tenant grain verifies the secret against
/// its stored hashes. Admin keys of the platform tenant are platform-admin keys.
/// </summary>
public sealed class ApiKeyAuthenticator(IGrainFactory grains, DeepPerceptionApiOptions options)
{
    /// <summary>The header that carries a key as an alternative to <c>Authorization: Bearer</c>.</summary>
    public const string ApiKeyHeader = "X-Api-Key";

    private readonly byte[]? _pinned = string.IsNullOrEmpty(options.BootstrapAdminKey) ? null : Encoding.UTF8.GetBytes(options.BootstrapAdminKey);

    /// <summary>Reads the presented key of a request, or null when none is presented.</summary>
    /// <exception cref="UnauthenticatedException">The Authorization header is not a Bearer credential.</exception>
    public static string? ReadPresentedKey(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var authorization = request.Headers.Authorization.ToString();
        if (!string.IsNullOrEmpty(authorization))
        {
            const string bearer = "Bearer ";
            if (!authorization.StartsWith(bearer, StringComparison.OrdinalIgnoreCase))
            {
                throw new UnauthenticatedException("The Authorization header must be 'Bearer <api key>'.");
            }

            return authorization[bearer.Length..].Trim();
        }

        var header = request.Headers[ApiKeyHeader].ToString();
        return string.IsNullOrEmpty(header) ? null : header.Trim();
    }

    /// <summary>Verifies a presented secret (portal sign-in; takes nothing from the key's request rate).</summary>
    /// <exception cref="UnauthenticatedException">The key is malformed, unknown or revoked.</exception>
    public async Task<PlatformPrincipal> AuthenticateAsync(string secret) => (await CheckAsync(secret, admit: false).ConfigureAwait(false)).Principal;

    /// <summary>
    /// Verifies a presented secret and takes one request from its key's rate bucket (one grain call for a tenant key).
    /// </summary>
    /// <exception cref="UnauthenticatedException">The key is malformed, unknown or revoked.</exception>
    public async Task<(PlatformPrincipal Principal, RateLimitDecision Rate)> AdmitAsync(string secret)
    {
        var (principal, rate) = await CheckAsync(secret, admit: true).ConfigureAwait(false);
        return (principal, rate ?? throw new InvalidOperationException("An admitted request has a rate decision."));
    }

    private async Task<(PlatformPrincipal Principal, RateLimitDecision? Rate)> CheckAsync(string secret, bool admit)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (!ApiKeyFormat.TryParse(secret, out var tenantId, out var keyId))
        {
            throw new UnauthenticatedException("The API key is not a DeepPerception key (dpk_<tenant>_<key>_<secret>).");
        }

        if (_pinned is not null && CryptographicOperations.FixedTimeEquals(_pinned, Encoding.UTF8.GetBytes(secret)))
        {
            var admin = new PlatformPrincipal(options.PlatformTenantId, PlatformRole.PlatformAdmin, keyId);
            return (admin, admit ? await grains.GetGrain<ITenantGrain>(admin.TenantId).TryAcquireKeyRequestAsync(keyId).ConfigureAwait(false) : null);
        }

        try
        {
            PlatformKeys.ValidateId(tenantId, "tenant id");
        }
        catch (InvalidRequestException)
        {
            throw new UnauthenticatedException("The API key is not valid.");
        }

        var tenant = grains.GetGrain<ITenantGrain>(tenantId);
        var admission = admit
            ? await tenant.AdmitApiKeyRequestAsync(secret).ConfigureAwait(false)
            : new ApiKeyAdmission(await tenant.VerifyApiKeyAsync(secret).ConfigureAwait(false), null);
        var verification = admission.Verification;
        if (!verification.IsValid || verification.Role is not { } role)
        {
            // One message for unknown tenants, unknown keys and revoked keys: nothing about which tenants exist leaks.
            throw new UnauthenticatedException("The API key is not valid (unknown or revoked).");
        }

        var platformRole = role == TenantRole.TenantAdmin
            ? string.Equals(tenantId, options.PlatformTenantId, StringComparison.Ordinal) ? PlatformRole.PlatformAdmin : PlatformRole.TenantAdmin
            : PlatformRole.TenantMember;
        return (new PlatformPrincipal(tenantId, platformRole, verification.KeyId ?? keyId), admission.Rate);
    }
}
