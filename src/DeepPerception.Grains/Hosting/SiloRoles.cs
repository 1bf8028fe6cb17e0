using Orleans.Runtime.MembershipService.SiloMetadata;

namespace DeepPerception.Grains.Hosting;

/// <summary>
/// Silo roles, published as silo metadata <c>role</c> (a comma-separated list, e.g. "control", "gpu" or "control,gpu").
/// </summary>
public static class SiloRoles
{
    /// <summary>The silo metadata key holding the roles.</summary>
    public const string MetadataKey = "role";

    /// <summary>Hosts control-plane grains (tenants, datasets, models, jobs, scheduler).</summary>
    public const string Control = "control";

    /// <summary>Hosts GPU work (<see cref="Abstractions.Compute.IGpuWorkerGrain"/>).</summary>
    public const string Gpu = "gpu";

    /// <summary>Returns whether a silo's metadata lists the role.</summary>
    public static bool HasRole(ISiloMetadataCache cache, SiloAddress silo, string role)
    {
        var metadata = cache.GetSiloMetadata(silo)?.Metadata;
        return metadata is not null && metadata.TryGetValue(MetadataKey, out var roles) && HasRole(roles, role);
    }

    /// <summary>Returns whether a comma-separated role list contains the role.</summary>
    public static bool HasRole(string? roles, string role) =>
        roles is not null && roles.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Contains(role, StringComparer.OrdinalIgnoreCase);
}
