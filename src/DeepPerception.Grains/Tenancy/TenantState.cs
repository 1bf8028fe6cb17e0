using System.Collections.Immutable;
using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Tenancy;

namespace DeepPerception.Grains.Tenancy;

/// <summary>A stored API key (hash only).</summary>
public sealed class StoredApiKey
{
    /// <summary>The key id.</summary>
    public string KeyId { get; set; } = string.Empty;

    /// <summary>A label.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>The role the key acts as.</summary>
    public TenantRole Role { get; set; }

    /// <summary>SHA-256 of the secret.</summary>
    public string SecretHash { get; set; } = string.Empty;

    /// <summary>When it was issued.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When it was revoked.</summary>
    public DateTimeOffset? RevokedAt { get; set; }

    /// <summary>The public description.</summary>
    public ApiKeyInfo ToInfo() => new(KeyId, Name, Role, CreatedAt, RevokedAt);
}

/// <summary>The persistent state of a tenant and the rules over it (kept out of the grain so it is tested directly).</summary>
public sealed class TenantState
{
    /// <summary>Whether the tenant was created.</summary>
    public bool Created { get; set; }

    /// <summary>The display name.</summary>
    public string DisplayName { get; set; } = string.Empty;

    /// <summary>When the tenant was created.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>Members by user id.</summary>
    public Dictionary<string, TenantMember> Members { get; set; } = new(StringComparer.Ordinal);

    /// <summary>API keys by key id.</summary>
    public Dictionary<string, StoredApiKey> ApiKeys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The GPU-seconds budget.</summary>
    public double GpuSecondsBudget { get; set; }

    /// <summary>GPU seconds currently charged, by charge id.</summary>
    public Dictionary<string, double> Charges { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Requests allowed per minute.</summary>
    public int RequestsPerMinute { get; set; }

    /// <summary>Total charged GPU seconds.</summary>
    public double Charged => Charges.Values.Sum();

    /// <summary>The quota view.</summary>
    public TenantQuota Quota => new(GpuSecondsBudget, Charged, RequestsPerMinute);

    /// <summary>Initialises a new tenant.</summary>
    public void Create(CreateTenantRequest request, DateTimeOffset now)
    {
        if (Created)
        {
            throw new ConflictException("The tenant already exists.");
        }

        if (string.IsNullOrWhiteSpace(request.DisplayName))
        {
            throw new InvalidRequestException("The tenant display name is required.");
        }

        ValidateUser(request.AdminUserId);
        ValidateQuota(request.GpuSecondsBudget, request.RequestsPerMinute);
        Created = true;
        DisplayName = request.DisplayName.Trim();
        CreatedAt = now;
        GpuSecondsBudget = request.GpuSecondsBudget;
        RequestsPerMinute = request.RequestsPerMinute;
        Members[request.AdminUserId] = new TenantMember(request.AdminUserId, TenantRole.TenantAdmin, now);
    }

    /// <summary>Throws when the tenant does not exist.</summary>
    public void RequireCreated(string tenantId)
    {
        if (!Created)
        {
            throw new ResourceNotFoundException($"Tenant '{tenantId}' does not exist.");
        }
    }

    /// <summary>Adds or updates a member.</summary>
    public TenantMember SetMember(string userId, TenantRole role, DateTimeOffset now)
    {
        ValidateUser(userId);
        if (!Enum.IsDefined(role))
        {
            throw new InvalidRequestException($"Unknown role '{role}'.");
        }

        if (Members.TryGetValue(userId, out var existing) && existing.Role == TenantRole.TenantAdmin
            && role != TenantRole.TenantAdmin && AdminCount() == 1)
        {
            throw new ConflictException($"User '{userId}' is the last tenant admin and cannot be demoted.");
        }

        var member = new TenantMember(userId, role, existing?.AddedAt ?? now);
        Members[userId] = member;
        return member;
    }

    /// <summary>Removes a member.</summary>
    public void RemoveMember(string userId)
    {
        if (!Members.TryGetValue(userId, out var member))
        {
            throw new ResourceNotFoundException($"User '{userId}' is not a member of the tenant.");
        }

        if (member.Role == TenantRole.TenantAdmin && AdminCount() == 1)
        {
            throw new ConflictException($"User '{userId}' is the last tenant admin and cannot be removed.");
        }

        Members.Remove(userId);
    }

    /// <summary>Issues a key and stores its hash; returns the secret once.</summary>
    public IssuedApiKey CreateApiKey(string tenantId, string name, TenantRole role, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 100)
        {
            throw new InvalidRequestException("An API key needs a name of 1–100 characters.");
        }

        var (keyId, secret) = ApiKeyHasher.Generate(tenantId);
        var stored = new StoredApiKey
        {
            KeyId = keyId, Name = name.Trim(), Role = role, SecretHash = ApiKeyHasher.Hash(secret), CreatedAt = now,
        };
        ApiKeys[keyId] = stored;
        return new IssuedApiKey(stored.ToInfo(), secret);
    }

    /// <summary>Verifies a presented secret.</summary>
    public ApiKeyVerification VerifyApiKey(string tenantId, string secret)
    {
        if (!ApiKeyFormat.TryParse(secret, out var keyTenant, out var keyId) || keyTenant != tenantId)
        {
            return new ApiKeyVerification(false, null, null, "The key is not a key of this tenant.");
        }

        if (!ApiKeys.TryGetValue(keyId, out var stored) || !ApiKeyHasher.Verify(secret, stored.SecretHash))
        {
            return new ApiKeyVerification(false, null, null, "Unknown API key.");
        }

        return stored.RevokedAt is null
            ? new ApiKeyVerification(true, keyId, stored.Role, null)
            : new ApiKeyVerification(false, keyId, null, "The API key was revoked.");
    }

    /// <summary>Revokes a key.</summary>
    public void RevokeApiKey(string keyId, DateTimeOffset now)
    {
        if (!ApiKeys.TryGetValue(keyId, out var stored))
        {
            throw new ResourceNotFoundException($"API key '{keyId}' does not exist.");
        }

        stored.RevokedAt ??= now;
    }

    /// <summary>Charges GPU seconds (idempotent per charge id).</summary>
    public GpuBudgetDecision Charge(string chargeId, double seconds)
    {
        if (string.IsNullOrEmpty(chargeId))
        {
            throw new InvalidRequestException("A charge id is required.");
        }

        if (!double.IsFinite(seconds) || seconds <= 0)
        {
            throw new InvalidRequestException($"GPU seconds to charge must be a positive number (got {seconds}).");
        }

        if (Charges.ContainsKey(chargeId))
        {
            return new GpuBudgetDecision(true, Quota.RemainingGpuSeconds, null);
        }

        var remaining = Quota.RemainingGpuSeconds;
        if (seconds > remaining)
        {
            return new GpuBudgetDecision(false, remaining,
                $"GPU budget exceeded: the request needs {seconds:0.##} GPU-seconds but only {remaining:0.##} of " +
                $"{GpuSecondsBudget:0.##} remain.");
        }

        Charges[chargeId] = seconds;
        return new GpuBudgetDecision(true, remaining - seconds, null);
    }

    /// <summary>Refunds up to the charged amount of a charge.</summary>
    public void Refund(string chargeId, double seconds)
    {
        if (!double.IsFinite(seconds) || seconds < 0)
        {
            throw new InvalidRequestException($"GPU seconds to refund must be a non-negative number (got {seconds}).");
        }

        if (!Charges.TryGetValue(chargeId, out var charged))
        {
            return;
        }

        var left = charged - Math.Min(charged, seconds);
        Charges[chargeId] = left;
    }

    /// <summary>Sets the quotas.</summary>
    public void SetQuota(double budget, int requestsPerMinute)
    {
        ValidateQuota(budget, requestsPerMinute);
        GpuSecondsBudget = budget;
        RequestsPerMinute = requestsPerMinute;
    }

    /// <summary>The tenant profile.</summary>
    public TenantProfile ToProfile(string tenantId) => new(tenantId, DisplayName, CreatedAt, Quota, Members.Count);

    /// <summary>Members in user-id order.</summary>
    public ImmutableArray<TenantMember> MemberList() =>
        Members.Values.OrderBy(m => m.UserId, StringComparer.Ordinal).ToImmutableArray();

    private int AdminCount() => Members.Values.Count(m => m.Role == TenantRole.TenantAdmin);

    private static void ValidateUser(string? userId)
    {
        if (string.IsNullOrWhiteSpace(userId) || userId.Length > 200)
        {
            throw new InvalidRequestException("A user id of 1–200 characters is required.");
        }
    }

    private static void ValidateQuota(double budget, int requestsPerMinute)
    {
        if (!double.IsFinite(budget) || budget < 0)
        {
            throw new InvalidRequestException($"The GPU-seconds budget must be a non-negative number (got {budget}).");
        }

        if (requestsPerMinute <= 0)
        {
            throw new InvalidRequestException($"The request rate must be positive (got {requestsPerMinute}).");
        }
    }
}

/// <summary>A per-minute token bucket (in memory: a restart refills it).</summary>
public sealed class RequestRateLimiter(TimeProvider time)
{
    private double _tokens = -1;
    private DateTimeOffset _last;

    /// <summary>Takes one token if available.</summary>
    public RateLimitDecision TryAcquire(int perMinute)
    {
        var now = time.GetUtcNow();
        if (_tokens < 0)
        {
            _tokens = perMinute;
            _last = now;
        }

        var elapsed = (now - _last).TotalMinutes;
        _tokens = Math.Min(perMinute, _tokens + (elapsed * perMinute));
        _last = now;
        if (_tokens >= 1)
        {
            _tokens -= 1;
            return new RateLimitDecision(true, TimeSpan.Zero);
        }

        var wait = TimeSpan.FromMinutes((1 - _tokens) / perMinute);
        return new RateLimitDecision(false, wait);
    }
}
