using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Tenancy;
using DeepPerception.Grains.Tenancy;

namespace DeepPerception.Grains.Tests.Unit;

/// <summary>Tenant rules: GPU budget charges and refunds, API key hashing.</summary>
public sealed class TenantStateTests
{
    private static TenantState Tenant(double budget)
    {
        var state = new TenantState();
        state.Create(new CreateTenantRequest("T", "alice", budget, 60), DateTimeOffset.UnixEpoch);
        return state;
    }

    [Fact]
    public void Charges_are_idempotent_refused_over_budget_and_refundable()
    {
        var tenant = Tenant(100);

        Assert.True(tenant.Charge("job-1", 60).Accepted);
        Assert.True(tenant.Charge("job-1", 60).Accepted);
        var refused = tenant.Charge("job-2", 50);
        tenant.Refund("job-1", 25);
        var accepted = tenant.Charge("job-2", 50);

        Assert.False(refused.Accepted);
        Assert.Contains("needs 50 GPU-seconds but only 40", refused.Reason);
        Assert.True(accepted.Accepted);
        Assert.Equal(85, tenant.Quota.GpuSecondsCharged);
        Assert.Throws<InvalidRequestException>(() => tenant.Charge("job-3", -1));
        Assert.Throws<InvalidRequestException>(() => tenant.Charge("job-3", double.NaN));
        tenant.Refund("job-1", 1000);
        Assert.Equal(50, tenant.Quota.GpuSecondsCharged);
    }

    [Fact]
    public void Api_key_secrets_are_256_bit_and_only_their_hash_is_kept()
    {
        var tenant = Tenant(1);
        var issued = tenant.CreateApiKey("t", "deploy", TenantRole.TenantAdmin, DateTimeOffset.UnixEpoch);
        var stored = tenant.ApiKeys[issued.Info.KeyId];

        Assert.Equal(64, issued.Secret.Split('_')[^1].Length);
        Assert.Equal(ApiKeyHasher.Hash(issued.Secret), stored.SecretHash);
        Assert.DoesNotContain(issued.Secret.Split('_')[^1], stored.SecretHash);
        Assert.True(tenant.VerifyApiKey("t", issued.Secret).IsValid);
        Assert.False(tenant.VerifyApiKey("t", "dpk_t_" + issued.Info.KeyId + "_" + new string('0', 64)).IsValid);
        Assert.False(tenant.VerifyApiKey("t", "not a key").IsValid);
        Assert.False(ApiKeyFormat.TryParse("dpk_t_k_short", out _, out _));
    }
}
