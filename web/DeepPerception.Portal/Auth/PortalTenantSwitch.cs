using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Tenancy;

namespace DeepPerception.Portal.Auth;

/// <summary>Lets a platform admin act in another tenant.</summary>
public sealed class PortalTenantSwitch(IGrainFactory grains)
{
    /// <summary>Returns the user acting in <paramref name="tenantId"/>.</summary>
    /// <exception cref="PortalSignInException">The user is not a platform admin, or the tenant id is invalid or unknown.</exception>
    public async Task<PortalUser> SwitchAsync(PortalUser user, string? tenantId)
    {
        ArgumentNullException.ThrowIfNull(user);
        if (!user.IsPlatformAdmin)
        {
            throw new PortalSignInException("Only platform admins can switch tenants; sign in with a key of the other tenant instead.");
        }

        try
        {
            PlatformKeys.ValidateId(tenantId, "tenant id");
        }
        catch (InvalidRequestException ex)
        {
            throw new PortalSignInException(ex.Message);
        }

        if (tenantId != user.HomeTenantId && !await grains.GetGrain<ITenantGrain>(tenantId!).ExistsAsync())
        {
            throw new PortalSignInException($"There is no tenant '{tenantId}'. Create it on the admin page first.");
        }

        return user with { TenantId = tenantId! };
    }
}
