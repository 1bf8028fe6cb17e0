using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Tenancy;
using DeepPerception.Api.Identity;
using DeepPerception.Client;

namespace DeepPerception.Api.Services;

/// <summary>The caller's own tenant: profile and quota, members and API keys (members and keys need a tenant admin).</summary>
public sealed class TenantService(IGrainFactory grains)
{
    private ITenantGrain Tenant(PlatformPrincipal caller) => grains.GetGrain<ITenantGrain>(caller.TenantId);

    /// <summary>The caller's identity.</summary>
    public static WhoAmI WhoAmI(PlatformPrincipal caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return new WhoAmI(caller.TenantId, caller.RoleName, caller.KeyId);
    }

    /// <summary>The tenant's profile and quota.</summary>
    public async Task<TenantDto> GetAsync(PlatformPrincipal caller) => Mapping.Tenant(await Tenant(caller).GetProfileAsync().ConfigureAwait(false));

    /// <summary>Lists the members.</summary>
    public async Task<IReadOnlyList<MemberDto>> ListMembersAsync(PlatformPrincipal caller) =>
        (await Tenant(caller).GetMembersAsync().ConfigureAwait(false)).Select(Mapping.Member).ToArray();

    /// <summary>Adds a member or changes a role (tenant admins).</summary>
    public async Task<MemberDto> SetMemberAsync(PlatformPrincipal caller, string userId, SetMemberBody body)
    {
        caller.RequireTenantAdmin();
        ArgumentNullException.ThrowIfNull(body);
        PlatformKeys.ValidateId(userId, "user id");
        return Mapping.Member(await Tenant(caller).SetMemberAsync(userId, Mapping.ParseRole(body.Role)).ConfigureAwait(false));
    }

    /// <summary>Removes a member (tenant admins; the last admin stays).</summary>
    public async Task RemoveMemberAsync(PlatformPrincipal caller, string userId)
    {
        caller.RequireTenantAdmin();
        PlatformKeys.ValidateId(userId, "user id");
        await Tenant(caller).RemoveMemberAsync(userId).ConfigureAwait(false);
    }

    /// <summary>Lists the API keys (tenant admins; never secrets).</summary>
    public async Task<IReadOnlyList<ApiKeyDto>> ListKeysAsync(PlatformPrincipal caller)
    {
        caller.RequireTenantAdmin();
        return (await Tenant(caller).ListApiKeysAsync().ConfigureAwait(false)).Select(Mapping.Key).ToArray();
    }

    /// <summary>Issues an API key (tenant admins); the secret is in the answer only.</summary>
    public async Task<IssuedApiKeyDto> CreateKeyAsync(PlatformPrincipal caller, CreateApiKeyBody body)
    {
        caller.RequireTenantAdmin();
        ArgumentNullException.ThrowIfNull(body);
        var name = ValidateName(body.Name, "key name");
        var issued = await Tenant(caller).CreateApiKeyAsync(name, Mapping.ParseRole(body.Role)).ConfigureAwait(false);
        return new IssuedApiKeyDto(Mapping.Key(issued.Info), issued.Secret);
    }

    /// <summary>Revokes an API key (tenant admins).</summary>
    public async Task RevokeKeyAsync(PlatformPrincipal caller, string keyId)
    {
        caller.RequireTenantAdmin();
        var tenant = Tenant(caller);
        var keys = await tenant.ListApiKeysAsync().ConfigureAwait(false);
        if (!keys.Any(k => k.KeyId == keyId))
        {
            throw new ResourceNotFoundException($"API key '{keyId}' does not exist.");
        }

        await tenant.RevokeApiKeyAsync(keyId).ConfigureAwait(false);
    }

    internal static string ValidateName(string? name, string what)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 200 || name.Any(char.IsControl))
        {
            throw new InvalidRequestException($"The {what} must be 1–200 printable characters.");
        }

        return name.Trim();
    }
}
