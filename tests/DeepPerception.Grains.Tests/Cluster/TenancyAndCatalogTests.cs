using System.Collections.Immutable;
using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Datasets;
using DeepPerception.Abstractions.Models;
using DeepPerception.Abstractions.Tenancy;
using DeepPerception.Grains.Tenancy;
using DeepPerception.Grains.Tests.Infrastructure;

namespace DeepPerception.Grains.Tests.Cluster;

/// <summary>Tenants, API keys, datasets and models through the cluster.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class TenancyAndCatalogTests(SharedClusterFixture fixture)
{
    private PlatformCluster P => fixture.Platform;

    [Fact]
    public async Task Api_keys_are_stored_hashed_verifiable_and_revocable()
    {
        var tenant = P.Client.GetGrain<ITenantGrain>("keys");
        await tenant.CreateAsync(new CreateTenantRequest("Keys Inc", "alice", 100, 60));

        var issued = await tenant.CreateApiKeyAsync("ci", TenantRole.TenantMember);
        var ok = await tenant.VerifyApiKeyAsync(issued.Secret);
        var wrong = await tenant.VerifyApiKeyAsync(issued.Secret[..^4] + "0000");
        var otherTenant = await P.Client.GetGrain<ITenantGrain>("ft-ok").VerifyApiKeyAsync(issued.Secret);

        Assert.True(ApiKeyFormat.TryParse(issued.Secret, out var keyTenant, out var keyId));
        Assert.Equal("keys", keyTenant);
        Assert.Equal(issued.Info.KeyId, keyId);
        Assert.True(ok.IsValid);
        Assert.Equal(TenantRole.TenantMember, ok.Role);
        Assert.False(wrong.IsValid);
        Assert.False(otherTenant.IsValid);

        var stateFiles = Directory.GetFiles(P.GrainStateFolder, "*keys*", SearchOption.AllDirectories);
        var stored = string.Concat(stateFiles.Select(File.ReadAllText));
        Assert.NotEmpty(stateFiles);
        Assert.DoesNotContain(issued.Secret, stored);
        Assert.DoesNotContain(issued.Secret.Split('_')[^1], stored);
        Assert.Contains(ApiKeyHasher.Hash(issued.Secret), stored);
        Assert.DoesNotContain((await tenant.ListApiKeysAsync()).Select(k => k.ToString()), s => s.Contains(issued.Secret));

        await tenant.RevokeApiKeyAsync(issued.Info.KeyId);
        var revoked = await tenant.VerifyApiKeyAsync(issued.Secret);
        Assert.False(revoked.IsValid);
        Assert.Contains("revoked", revoked.FailureReason);
    }

    [Fact]
    public async Task Admitting_a_request_verifies_the_key_and_takes_a_token_only_for_a_valid_key()
    {
        var tenant = P.Client.GetGrain<ITenantGrain>("admit");
        await tenant.CreateAsync(new CreateTenantRequest("Admit", "alice", 10, 2));
        var issued = await tenant.CreateApiKeyAsync("ci", TenantRole.TenantAdmin);

        // Wrong secrets take no token: the key's bucket (2 per minute) is still full afterwards.
        for (var i = 0; i < 3; i++)
        {
            var wrong = await tenant.AdmitApiKeyRequestAsync(issued.Secret[..^4] + "0000");
            Assert.False(wrong.Verification.IsValid);
            Assert.Null(wrong.Rate);
        }

        var first = await tenant.AdmitApiKeyRequestAsync(issued.Secret);
        var second = await tenant.AdmitApiKeyRequestAsync(issued.Secret);
        var third = await tenant.AdmitApiKeyRequestAsync(issued.Secret);
        Assert.True(first.Verification.IsValid);
        Assert.Equal(TenantRole.TenantAdmin, first.Verification.Role);
        Assert.True(first.Rate!.Allowed);
        Assert.True(second.Rate!.Allowed);
        Assert.False(third.Rate!.Allowed);
        Assert.True(third.Rate.RetryAfter > TimeSpan.Zero);

        // The same bucket as TryAcquireKeyRequestAsync, and nothing for an unknown tenant.
        Assert.False((await tenant.TryAcquireKeyRequestAsync(issued.Info.KeyId)).Allowed);
        var unknown = await P.Client.GetGrain<ITenantGrain>("admit-nobody").AdmitApiKeyRequestAsync(issued.Secret);
        Assert.False(unknown.Verification.IsValid);
        Assert.Null(unknown.Rate);

        await tenant.RevokeApiKeyAsync(issued.Info.KeyId);
        var revoked = await tenant.AdmitApiKeyRequestAsync(issued.Secret);
        Assert.False(revoked.Verification.IsValid);
        Assert.Null(revoked.Rate);
    }

    [Fact]
    public async Task Members_roles_and_the_last_admin_rule()
    {
        var tenant = P.Client.GetGrain<ITenantGrain>("members");
        await tenant.CreateAsync(new CreateTenantRequest("Members", "alice", 10, 60));

        await tenant.SetMemberAsync("bob", TenantRole.TenantMember);

        Assert.Equal(TenantRole.TenantAdmin, await tenant.GetRoleAsync("alice"));
        Assert.Equal(TenantRole.TenantMember, await tenant.GetRoleAsync("bob"));
        Assert.Null(await tenant.GetRoleAsync("mallory"));
        await Assert.ThrowsAsync<ConflictException>(() => tenant.RemoveMemberAsync("alice"));
        await Assert.ThrowsAsync<ConflictException>(() => tenant.SetMemberAsync("alice", TenantRole.TenantMember));
        await Assert.ThrowsAsync<ConflictException>(() =>
            tenant.CreateAsync(new CreateTenantRequest("Again", "alice", 10, 60)));
        await Assert.ThrowsAsync<InvalidRequestException>(() =>
            P.Client.GetGrain<ITenantGrain>("Bad Id").CreateAsync(new CreateTenantRequest("x", "a", 1, 1)));
    }

    [Fact]
    public async Task Each_api_key_has_its_own_request_bucket_of_the_tenant_rate()
    {
        var tenant = P.Client.GetGrain<ITenantGrain>("rate-keys");
        await tenant.CreateAsync(new CreateTenantRequest("Rate keys", "alice", 10, 2));

        var first = new List<RateLimitDecision>();
        for (var i = 0; i < 3; i++)
        {
            first.Add(await tenant.TryAcquireKeyRequestAsync("key-a"));
        }

        Assert.Equal([true, true, false], first.Select(d => d.Allowed));
        Assert.True(first[2].RetryAfter > TimeSpan.Zero);
        Assert.True((await tenant.TryAcquireKeyRequestAsync("key-b")).Allowed);
        Assert.True((await tenant.TryAcquireKeyRequestAsync("key-b")).Allowed);
        Assert.False((await tenant.TryAcquireKeyRequestAsync("key-b")).Allowed);
        await Assert.ThrowsAsync<InvalidRequestException>(() => tenant.TryAcquireKeyRequestAsync(" "));
    }

    [Fact]
    public async Task Dataset_versions_validation_knowledge_base_and_tenant_isolation()
    {
        await P.Client.GetGrain<ITenantGrain>("cat").CreateAsync(new CreateTenantRequest("Cat", "alice", 10, 60));
        var dataset = P.Client.GetGrain<IDatasetGrain>("cat/dogs");
        await dataset.CreateAsync(new CreateDatasetRequest("Dogs", null));

        var v1 = await dataset.AddVersionAsync(new AddDatasetVersionRequest("cat/datasets/dogs/v1.jsonl", 10, "first"));
        var bad = new DatasetValidationReport(10,
            [new DatasetValidationIssue(true, "bbox_out_of_image", "box outside the image", "s3")], DateTimeOffset.UtcNow);
        await dataset.SetValidationReportAsync(1, bad);
        await dataset.UpsertKnowledgeEntryAsync(new KnowledgeEntry("beagle", "Beagle", "a scent hound", ["english beagle"], []));

        Assert.Equal(1, v1.Version);
        await Assert.ThrowsAsync<AccessDeniedException>(() =>
            dataset.AddVersionAsync(new AddDatasetVersionRequest("other-tenant/secret.jsonl", 1, null)));
        var refused = await Assert.ThrowsAsync<ConflictException>(() => dataset.MarkVersionUsedAsync(1, "cat/job"));
        Assert.Contains("failed validation", refused.Message);
        await Assert.ThrowsAsync<ResourceNotFoundException>(() =>
            P.Client.GetGrain<IDatasetGrain>("ghost/dogs").CreateAsync(new CreateDatasetRequest("x", null)));

        await dataset.SetValidationReportAsync(1, bad with { Issues = [] });
        await dataset.MarkVersionUsedAsync(1, "cat/job");
        await Assert.ThrowsAsync<ConflictException>(() => dataset.SetValidationReportAsync(1, bad));
        var info = await dataset.GetAsync();
        Assert.Equal(1, info.KnowledgeEntryCount);
        Assert.True(info.Versions.Single().IsLocked);
        Assert.Equal("Beagle", (await dataset.GetKnowledgeBaseAsync()).Single().Name);
    }

    [Fact]
    public async Task Model_versions_carry_lineage_and_one_can_be_promoted()
    {
        await P.Client.GetGrain<ITenantGrain>("mdl").CreateAsync(new CreateTenantRequest("Mdl", "alice", 10, 60));
        var model = P.Client.GetGrain<IModelGrain>("mdl/g");
        await model.CreateAsync(new CreateModelRequest("G", "qwen2-vl-2b", "mdl/base.bin"));
        var recipe = new TrainingRecipe(FineTuneMethod.Grpo, 10, 1e-6, 2, 5, 1, ImmutableDictionary<string, string>.Empty);

        var v1 = await model.RegisterVersionAsync(new RegisterModelVersionRequest("mdl/v1.bin",
            new ModelLineage("qwen2-vl-2b", "birds", 1, recipe, null, null), ImmutableDictionary<string, double>.Empty));
        var v2 = await model.RegisterVersionAsync(new RegisterModelVersionRequest("mdl/v2.bin",
            new ModelLineage("qwen2-vl-2b", "birds", 2, recipe, 1, null), ImmutableDictionary<string, double>.Empty));
        var promoted = await model.PromoteAsync(2);

        Assert.Equal(1, v1.Version);
        Assert.Equal(1, v2.Lineage.ParentVersion);
        Assert.Equal(2, promoted.ActiveVersion);
        Assert.Equal("mdl/v2.bin", await model.GetCheckpointKeyAsync(2));
        Assert.Equal("mdl/base.bin", await model.GetCheckpointKeyAsync(null));
        await Assert.ThrowsAsync<ResourceNotFoundException>(() => model.PromoteAsync(9));
        await Assert.ThrowsAsync<ResourceNotFoundException>(() => model.RegisterVersionAsync(new RegisterModelVersionRequest(
            "mdl/v3.bin", new ModelLineage("qwen2-vl-2b", null, null, null, 7, null), ImmutableDictionary<string, double>.Empty)));
        await Assert.ThrowsAsync<AccessDeniedException>(() => model.RegisterVersionAsync(new RegisterModelVersionRequest(
            "other/v3.bin", new ModelLineage("qwen2-vl-2b", null, null, null, null, null), ImmutableDictionary<string, double>.Empty)));
    }
}
