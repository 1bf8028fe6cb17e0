using DeepPerception.Abstractions;
using DeepPerception.Storage;

namespace DeepPerception.Api.Services;

/// <summary>
/// Per-tenant lists of resource ids (datasets, models, jobs, evaluations, benchmarks, leaderboards) kept as empty marker
/// artifacts under the tenant's own prefix, <c>{tenant}/index/{kind}/{id}</c>, because the grains are addressed by key
/// and cannot be enumerated. Listing never leaves the caller's tenant prefix.
/// </summary>
public sealed class ResourceIndex(IArtifactStore store)
{
    /// <summary>Records that <paramref name="id"/> of <paramref name="kind"/> exists in the tenant.</summary>
    public async Task AddAsync(string tenantId, string kind, string id, CancellationToken cancellationToken = default)
    {
        var key = Key(tenantId, kind, id);
        await store.PutBytesAsync(key, [], new ArtifactWriteOptions { Overwrite = true }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Forgets an id.</summary>
    public Task RemoveAsync(string tenantId, string kind, string id, CancellationToken cancellationToken = default) =>
        store.DeleteAsync(Key(tenantId, kind, id), cancellationToken);

    /// <summary>Lists the ids of a kind in the tenant, in ordinal order.</summary>
    public async Task<IReadOnlyList<string>> ListAsync(string tenantId, string kind, CancellationToken cancellationToken = default)
    {
        var prefix = $"{PlatformKeys.ValidateId(tenantId, "tenant id")}/index/{kind}/";
        var items = await store.ListAllAsync(prefix, cancellationToken).ConfigureAwait(false);
        return items.Select(i => i.Key[prefix.Length..]).Where(id => !id.Contains('/', StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToArray();
    }

    private static string Key(string tenantId, string kind, string id) =>
        $"{PlatformKeys.ValidateId(tenantId, "tenant id")}/index/{kind}/{PlatformKeys.ValidateId(id, kind + " id")}";
}

/// <summary>The platform-wide list of tenant ids (kept under the platform tenant's prefix).</summary>
public sealed class TenantDirectory(ResourceIndex index, DeepPerceptionApiOptions options)
{
    /// <summary>Records a tenant.</summary>
    public Task AddAsync(string tenantId, CancellationToken cancellationToken = default) =>
        index.AddAsync(options.PlatformTenantId, "tenants", tenantId, cancellationToken);

    /// <summary>Lists the recorded tenants.</summary>
    public Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken = default) =>
        index.ListAsync(options.PlatformTenantId, "tenants", cancellationToken);
}
