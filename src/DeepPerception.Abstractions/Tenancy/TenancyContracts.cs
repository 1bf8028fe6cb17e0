using System.Collections.Immutable;

namespace DeepPerception.Abstractions.Tenancy;

/// <summary>A member's role in a tenant.</summary>
[GenerateSerializer, Alias("dp.TenantRole")]
public enum TenantRole
{
    /// <summary>May use the tenant's datasets and models and submit work.</summary>
    TenantMember = 0,

    /// <summary>May also manage members, API keys and quotas.</summary>
    TenantAdmin = 1,
}

/// <summary>Request to create a tenant.</summary>
[GenerateSerializer, Immutable, Alias("dp.CreateTenantRequest")]
public sealed record CreateTenantRequest(
    [property: Id(0)] string DisplayName,
    [property: Id(1)] string AdminUserId,
    [property: Id(2)] double GpuSecondsBudget,
    [property: Id(3)] int RequestsPerMinute);

/// <summary>A tenant's quotas and GPU-seconds usage.</summary>
[GenerateSerializer, Immutable, Alias("dp.TenantQuota")]
public sealed record TenantQuota(
    [property: Id(0)] double GpuSecondsBudget,
    [property: Id(1)] double GpuSecondsCharged,
    [property: Id(2)] int RequestsPerMinute)
{
    /// <summary>The GPU seconds still available.</summary>
    public double RemainingGpuSeconds => Math.Max(0, GpuSecondsBudget - GpuSecondsCharged);
}

/// <summary>A tenant's profile.</summary>
[GenerateSerializer, Immutable, Alias("dp.TenantProfile")]
public sealed record TenantProfile(
    [property: Id(0)] string TenantId,
    [property: Id(1)] string DisplayName,
    [property: Id(2)] DateTimeOffset CreatedAt,
    [property: Id(3)] TenantQuota Quota,
    [property: Id(4)] int MemberCount);

/// <summary>A tenant member.</summary>
[GenerateSerializer, Immutable, Alias("dp.TenantMember")]
public sealed record TenantMember(
    [property: Id(0)] string UserId,
    [property: Id(1)] TenantRole Role,
    [property: Id(2)] DateTimeOffset AddedAt);

/// <summary>The public description of an API key (never its secret).</summary>
[GenerateSerializer, Immutable, Alias("dp.ApiKeyInfo")]
public sealed record ApiKeyInfo(
    [property: Id(0)] string KeyId,
    [property: Id(1)] string Name,
    [property: Id(2)] TenantRole Role,
    [property: Id(3)] DateTimeOffset CreatedAt,
    [property: Id(4)] DateTimeOffset? RevokedAt);

/// <summary>A newly issued API key. <see cref="Secret"/> is shown this once; the platform keeps only its hash.</summary>
[GenerateSerializer, Immutable, Alias("dp.IssuedApiKey")]
public sealed record IssuedApiKey(
    [property: Id(0)] ApiKeyInfo Info,
    [property: Id(1)] string Secret);

/// <summary>The result of verifying a presented API key.</summary>
[GenerateSerializer, Immutable, Alias("dp.ApiKeyVerification")]
public sealed record ApiKeyVerification(
    [property: Id(0)] bool IsValid,
    [property: Id(1)] string? KeyId,
    [property: Id(2)] TenantRole? Role,
    [property: Id(3)] string? FailureReason);

/// <summary>The answer to a GPU-seconds charge.</summary>
[GenerateSerializer, Immutable, Alias("dp.GpuBudgetDecision")]
public sealed record GpuBudgetDecision(
    [property: Id(0)] bool Accepted,
    [property: Id(1)] double RemainingGpuSeconds,
    [property: Id(2)] string? Reason);

/// <summary>
/// The answer to <see cref="ITenantGrain.AdmitApiKeyRequestAsync"/>: the key's verification and, for a valid key, the
/// request-rate decision of its bucket (null for an invalid key, whose request takes no token).
/// </summary>
[GenerateSerializer, Immutable, Alias("dp.ApiKeyAdmission")]
public sealed record ApiKeyAdmission(
    [property: Id(0)] ApiKeyVerification Verification,
    [property: Id(1)] RateLimitDecision? Rate);

/// <summary>The answer to a request-rate check.</summary>
[GenerateSerializer, Immutable, Alias("dp.RateLimitDecision")]
public sealed record RateLimitDecision(
    [property: Id(0)] bool Allowed,
    [property: Id(1)] TimeSpan RetryAfter);

/// <summary>
/// A tenant: profile, members and roles, hashed API keys, and quotas (GPU-seconds budget with charge/refund, request
/// rate). Keyed by the tenant id.
/// </summary>
[Alias("dp.ITenantGrain")]
public interface ITenantGrain : IGrainWithStringKey
{
    /// <summary>Creates the tenant with its first admin.</summary>
    /// <exception cref="ConflictException">The tenant already exists.</exception>
    [Alias("Create")]
    Task<TenantProfile> CreateAsync(CreateTenantRequest request);

    /// <summary>Returns whether the tenant exists.</summary>
    [Alias("Exists")]
    Task<bool> ExistsAsync();

    /// <summary>Returns the profile.</summary>
    /// <exception cref="ResourceNotFoundException">The tenant does not exist.</exception>
    [Alias("GetProfile")]
    Task<TenantProfile> GetProfileAsync();

    /// <summary>Adds a member or changes a member's role.</summary>
    [Alias("SetMember")]
    Task<TenantMember> SetMemberAsync(string userId, TenantRole role);

    /// <summary>Removes a member; the last admin cannot be removed.</summary>
    [Alias("RemoveMember")]
    Task RemoveMemberAsync(string userId);

    /// <summary>Lists the members.</summary>
    [Alias("GetMembers")]
    Task<ImmutableArray<TenantMember>> GetMembersAsync();

    /// <summary>Returns a user's role, or null when the user is not a member.</summary>
    [Alias("GetRole")]
    Task<TenantRole?> GetRoleAsync(string userId);

    /// <summary>Issues an API key; the returned secret is shown only this once.</summary>
    [Alias("CreateApiKey")]
    Task<IssuedApiKey> CreateApiKeyAsync(string name, TenantRole role);

    /// <summary>Verifies a presented secret against the stored hashes.</summary>
    [Alias("VerifyApiKey")]
    Task<ApiKeyVerification> VerifyApiKeyAsync(string secret);

    /// <summary>Revokes an API key.</summary>
    [Alias("RevokeApiKey")]
    Task RevokeApiKeyAsync(string keyId);

    /// <summary>Lists the API keys (without secrets).</summary>
    [Alias("ListApiKeys")]
    Task<ImmutableArray<ApiKeyInfo>> ListApiKeysAsync();

    /// <summary>Sets the quotas; the charged GPU seconds are kept.</summary>
    [Alias("SetQuota")]
    Task<TenantQuota> SetQuotaAsync(double gpuSecondsBudget, int requestsPerMinute);

    /// <summary>
    /// Charges GPU seconds against the budget under <paramref name="chargeId"/> (idempotent per id); refused with a
    /// reason when the remaining budget is too small.
    /// </summary>
    [Alias("ChargeGpuSeconds")]
    Task<GpuBudgetDecision> ChargeGpuSecondsAsync(string chargeId, double gpuSeconds);

    /// <summary>Refunds up to the amount charged under <paramref name="chargeId"/>.</summary>
    [Alias("RefundGpuSeconds")]
    Task<TenantQuota> RefundGpuSecondsAsync(string chargeId, double gpuSeconds);

    /// <summary>
    /// Takes one request from the per-minute bucket of one API key (or portal session user): each key has its own
    /// bucket of the tenant's <see cref="TenantQuota.RequestsPerMinute"/>, so one busy key does not starve the others.
    /// </summary>
    [Alias("TryAcquireKeyRequest")]
    Task<RateLimitDecision> TryAcquireKeyRequestAsync(string keyId);

    /// <summary>
    /// Verifies a presented secret and, when it is valid, takes one request from its key's bucket — the two checks of
    /// every API request in one grain call.
    /// </summary>
    [Alias("AdmitApiKeyRequest")]
    Task<ApiKeyAdmission> AdmitApiKeyRequestAsync(string secret);
}
