using System.Collections.Immutable;
using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Tenancy;
using DeepPerception.Grains.Hosting;

namespace DeepPerception.Grains.Tenancy;

/// <summary>The tenant grain: a thin shell over <see cref="TenantState"/>.</summary>
[ControlPlane]
internal sealed class TenantGrain(
    [PersistentState("tenant", PlatformStorage.Name)] IPersistentState<TenantState> state,
    TimeProvider time) : Grain, ITenantGrain
{
    private readonly Dictionary<string, RequestRateLimiter> _keyLimiters = new(StringComparer.Ordinal);

    private string TenantId => this.GetPrimaryKeyString();

    private TenantState S => state.State;

    async Task<TenantProfile> ITenantGrain.CreateAsync(CreateTenantRequest request)
    {
        PlatformKeys.ValidateId(TenantId, "tenant id");
        S.Create(request, time.GetUtcNow());
        await state.WriteStateAsync();
        return S.ToProfile(TenantId);
    }

    Task<bool> ITenantGrain.ExistsAsync() => Task.FromResult(S.Created);

    Task<TenantProfile> ITenantGrain.GetProfileAsync()
    {
        S.RequireCreated(TenantId);
        return Task.FromResult(S.ToProfile(TenantId));
    }

    async Task<TenantMember> ITenantGrain.SetMemberAsync(string userId, TenantRole role)
    {
        S.RequireCreated(TenantId);
        var member = S.SetMember(userId, role, time.GetUtcNow());
        await state.WriteStateAsync();
        return member;
    }

    async Task ITenantGrain.RemoveMemberAsync(string userId)
    {
        S.RequireCreated(TenantId);
        S.RemoveMember(userId);
        await state.WriteStateAsync();
    }

    Task<ImmutableArray<TenantMember>> ITenantGrain.GetMembersAsync()
    {
        S.RequireCreated(TenantId);
        return Task.FromResult(S.MemberList());
    }

    Task<TenantRole?> ITenantGrain.GetRoleAsync(string userId) =>
        Task.FromResult(S.Members.TryGetValue(userId, out var member) ? member.Role : (TenantRole?)null);

    async Task<IssuedApiKey> ITenantGrain.CreateApiKeyAsync(string name, TenantRole role)
    {
        S.RequireCreated(TenantId);
        var issued = S.CreateApiKey(TenantId, name, role, time.GetUtcNow());
        await state.WriteStateAsync();
        return issued;
    }

    Task<ApiKeyVerification> ITenantGrain.VerifyApiKeyAsync(string secret) => Task.FromResult(Verify(secret));

    private ApiKeyVerification Verify(string secret) =>
        S.Created ? S.VerifyApiKey(TenantId, secret) : new ApiKeyVerification(false, null, null, "Unknown tenant.");

    async Task ITenantGrain.RevokeApiKeyAsync(string keyId)
    {
        S.RequireCreated(TenantId);
        S.RevokeApiKey(keyId, time.GetUtcNow());
        await state.WriteStateAsync();
        _keyLimiters.Remove(keyId);
    }

    Task<ImmutableArray<ApiKeyInfo>> ITenantGrain.ListApiKeysAsync()
    {
        S.RequireCreated(TenantId);
        return Task.FromResult(S.ApiKeys.Values.OrderBy(k => k.CreatedAt).Select(k => k.ToInfo()).ToImmutableArray());
    }

    async Task<TenantQuota> ITenantGrain.SetQuotaAsync(double gpuSecondsBudget, int requestsPerMinute)
    {
        S.RequireCreated(TenantId);
        S.SetQuota(gpuSecondsBudget, requestsPerMinute);
        await state.WriteStateAsync();
        return S.Quota;
    }

    async Task<GpuBudgetDecision> ITenantGrain.ChargeGpuSecondsAsync(string chargeId, double gpuSeconds)
    {
        S.RequireCreated(TenantId);
        var decision = S.Charge(chargeId, gpuSeconds);
        if (decision.Accepted)
        {
            await state.WriteStateAsync();
        }

        return decision;
    }

    async Task<TenantQuota> ITenantGrain.RefundGpuSecondsAsync(string chargeId, double gpuSeconds)
    {
        S.RequireCreated(TenantId);
        S.Refund(chargeId, gpuSeconds);
        await state.WriteStateAsync();
        return S.Quota;
    }

    Task<RateLimitDecision> ITenantGrain.TryAcquireKeyRequestAsync(string keyId)
    {
        S.RequireCreated(TenantId);
        if (string.IsNullOrWhiteSpace(keyId))
        {
            throw new InvalidRequestException("A key id is required to apply the per-key request rate.");
        }

        return Task.FromResult(Acquire(keyId));
    }

    Task<ApiKeyAdmission> ITenantGrain.AdmitApiKeyRequestAsync(string secret)
    {
        var verification = Verify(secret);
        var rate = verification is { IsValid: true, KeyId: { } keyId } ? Acquire(keyId) : null;
        return Task.FromResult(new ApiKeyAdmission(verification, rate));
    }

    private RateLimitDecision Acquire(string keyId)
    {
        if (!_keyLimiters.TryGetValue(keyId, out var limiter))
        {
            _keyLimiters[keyId] = limiter = new RequestRateLimiter(time);
        }

        return limiter.TryAcquire(S.RequestsPerMinute);
    }
}
