using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Compute;
using DeepPerception.Abstractions.Tenancy;
using DeepPerception.Api.Identity;
using DeepPerception.Client;

namespace DeepPerception.Api.Services;

/// <summary>Platform administration: tenants and budgets, GPU silos (cordon, drain) and the scheduler queue. Platform admins only.</summary>
public sealed class AdminService(IGrainFactory grains, TenantDirectory directory)
{
    /// <summary>Lists the tenants.</summary>
    public async Task<IReadOnlyList<TenantDto>> ListTenantsAsync(PlatformPrincipal caller, CancellationToken cancellationToken = default)
    {
        caller.RequirePlatformAdmin();
        var result = new List<TenantDto>();
        foreach (var id in await directory.ListAsync(cancellationToken).ConfigureAwait(false))
        {
            var tenant = grains.GetGrain<ITenantGrain>(id);
            if (await tenant.ExistsAsync().ConfigureAwait(false))
            {
                result.Add(Mapping.Tenant(await tenant.GetProfileAsync().ConfigureAwait(false)));
            }
        }

        return result;
    }

    /// <summary>Returns a tenant.</summary>
    public async Task<TenantDto> GetTenantAsync(PlatformPrincipal caller, string tenantId)
    {
        caller.RequirePlatformAdmin();
        PlatformKeys.ValidateId(tenantId, "tenant id");
        return Mapping.Tenant(await grains.GetGrain<ITenantGrain>(tenantId).GetProfileAsync().ConfigureAwait(false));
    }

    /// <summary>Creates a tenant with its first admin user.</summary>
    public async Task<TenantDto> CreateTenantAsync(PlatformPrincipal caller, CreateTenantBody body, CancellationToken cancellationToken = default)
    {
        caller.RequirePlatformAdmin();
        ArgumentNullException.ThrowIfNull(body);
        PlatformKeys.ValidateId(body.TenantId, "tenant id");
        PlatformKeys.ValidateId(body.AdminUserId, "admin user id");
        var budget = body.GpuSecondsBudget ?? 3600;
        var rpm = body.RequestsPerMinute ?? 600;
        ValidateQuota(budget, rpm);
        var profile = await grains.GetGrain<ITenantGrain>(body.TenantId)
            .CreateAsync(new CreateTenantRequest(TenantService.ValidateName(body.DisplayName, "display name"), body.AdminUserId, budget, rpm))
            .ConfigureAwait(false);
        await directory.AddAsync(body.TenantId, cancellationToken).ConfigureAwait(false);
        return Mapping.Tenant(profile);
    }

    /// <summary>Sets a tenant's GPU-seconds budget and request rate.</summary>
    public async Task<TenantDto> SetBudgetAsync(PlatformPrincipal caller, string tenantId, SetBudgetBody body)
    {
        caller.RequirePlatformAdmin();
        ArgumentNullException.ThrowIfNull(body);
        PlatformKeys.ValidateId(tenantId, "tenant id");
        ValidateQuota(body.GpuSecondsBudget, body.RequestsPerMinute);
        var tenant = grains.GetGrain<ITenantGrain>(tenantId);
        await tenant.SetQuotaAsync(body.GpuSecondsBudget, body.RequestsPerMinute).ConfigureAwait(false);
        return Mapping.Tenant(await tenant.GetProfileAsync().ConfigureAwait(false));
    }

    /// <summary>Issues an API key in any tenant (for example the first key of a new tenant).</summary>
    public async Task<IssuedApiKeyDto> CreateTenantKeyAsync(PlatformPrincipal caller, string tenantId, CreateApiKeyBody body)
    {
        caller.RequirePlatformAdmin();
        ArgumentNullException.ThrowIfNull(body);
        PlatformKeys.ValidateId(tenantId, "tenant id");
        var tenant = grains.GetGrain<ITenantGrain>(tenantId);
        if (!await tenant.ExistsAsync().ConfigureAwait(false))
        {
            throw new ResourceNotFoundException($"Tenant '{tenantId}' does not exist.");
        }

        var issued = await tenant.CreateApiKeyAsync(TenantService.ValidateName(body.Name, "key name"), Mapping.ParseRole(body.Role)).ConfigureAwait(false);
        return new IssuedApiKeyDto(Mapping.Key(issued.Info), issued.Secret);
    }

    /// <summary>Lists the GPU silos.</summary>
    public async Task<IReadOnlyList<SiloDto>> ListSilosAsync(PlatformPrincipal caller)
    {
        caller.RequirePlatformAdmin();
        return (await Registry.GetSilosAsync().ConfigureAwait(false)).Select(Mapping.Silo).ToArray();
    }

    /// <summary>Cordons or uncordons a silo.</summary>
    public async Task<SiloDto> SetCordonedAsync(PlatformPrincipal caller, string siloId, bool cordoned)
    {
        caller.RequirePlatformAdmin();
        await RequireSiloAsync(siloId).ConfigureAwait(false);
        return Mapping.Silo(await Registry.SetCordonedAsync(siloId, cordoned).ConfigureAwait(false));
    }

    /// <summary>Drains a silo (its work moves elsewhere) or ends a drain.</summary>
    public async Task<SiloDto> SetDrainingAsync(PlatformPrincipal caller, string siloId, bool draining)
    {
        caller.RequirePlatformAdmin();
        await RequireSiloAsync(siloId).ConfigureAwait(false);
        return Mapping.Silo(draining
            ? await Registry.DrainAsync(siloId).ConfigureAwait(false)
            : await Registry.UndrainAsync(siloId).ConfigureAwait(false));
    }

    /// <summary>The scheduler's queue and running work.</summary>
    public async Task<QueueDto> GetQueueAsync(PlatformPrincipal caller)
    {
        caller.RequirePlatformAdmin();
        var s = await grains.GetGrain<IJobSchedulerGrain>(PlatformKeys.Singleton).GetSnapshotAsync().ConfigureAwait(false);
        return new QueueDto(s.Queued.Select(Mapping.Placement).ToArray(), s.Running.Select(Mapping.Placement).ToArray(), s.AcceptingGpuSilos, s.Summary);
    }

    private IGpuSiloRegistryGrain Registry => grains.GetGrain<IGpuSiloRegistryGrain>(PlatformKeys.Singleton);

    private async Task RequireSiloAsync(string siloId)
    {
        var silos = await Registry.GetSilosAsync().ConfigureAwait(false);
        if (!silos.Any(s => s.Descriptor.SiloId == siloId))
        {
            throw new ResourceNotFoundException($"GPU silo '{siloId}' is not registered.");
        }
    }

    private static void ValidateQuota(double budget, int rpm)
    {
        if (!double.IsFinite(budget) || budget < 0 || budget > 1e12)
        {
            throw new InvalidRequestException($"gpuSecondsBudget must be a number in [0, 1e12] (got {budget}).");
        }

        if (rpm is < 1 or > 1_000_000)
        {
            throw new InvalidRequestException($"requestsPerMinute must be in [1, 1000000] (got {rpm}).");
        }
    }
}
