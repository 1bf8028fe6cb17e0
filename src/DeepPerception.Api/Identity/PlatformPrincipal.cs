namespace DeepPerception.Api.Identity;

/// <summary>The role of an authenticated caller.</summary>
public enum PlatformRole
{
    /// <summary>Uses the tenant's datasets, models and work.</summary>
    TenantMember = 0,

    /// <summary>Also manages the tenant's members and keys.</summary>
    TenantAdmin = 1,

    /// <summary>An admin key of the reserved platform tenant: manages tenants, budgets and GPU silos.</summary>
    PlatformAdmin = 2,
}

/// <summary>An authenticated caller: the tenant it acts for, its role and the key it presented.</summary>
/// <param name="TenantId">The tenant every resource id is scoped to.</param>
/// <param name="Role">The role.</param>
/// <param name="KeyId">The API key id (or the user id for portal sessions).</param>
public sealed record PlatformPrincipal(string TenantId, PlatformRole Role, string KeyId)
{
    /// <summary>Whether the caller may manage its tenant (members, keys).</summary>
    public bool IsTenantAdmin => Role is PlatformRole.TenantAdmin or PlatformRole.PlatformAdmin;

    /// <summary>Whether the caller is a platform admin.</summary>
    public bool IsPlatformAdmin => Role == PlatformRole.PlatformAdmin;

    /// <summary>The wire name of the role: member, admin or platform-admin.</summary>
    public string RoleName => Role switch
    {
        PlatformRole.TenantAdmin => "admin",
        PlatformRole.PlatformAdmin => "platform-admin",
        _ => "member",
    };

    /// <summary>Throws <see cref="ForbiddenException"/> unless the caller is a tenant admin.</summary>
    public PlatformPrincipal RequireTenantAdmin() =>
        IsTenantAdmin ? this : throw new ForbiddenException("This operation needs a tenant-admin key.");

    /// <summary>Throws <see cref="ForbiddenException"/> unless the caller is a platform admin.</summary>
    public PlatformPrincipal RequirePlatformAdmin() =>
        IsPlatformAdmin ? this : throw new ForbiddenException("This operation needs a platform-admin key.");
}
