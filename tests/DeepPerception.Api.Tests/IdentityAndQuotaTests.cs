using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeepPerception.Client;

namespace DeepPerception.Api.Tests;

[Collection("api")]
public sealed class IdentityAndQuotaTests(ApiHostFixture host)
{
    [Fact]
    public async Task Keys_authenticate_by_bearer_or_header_and_carry_their_tenant_and_role()
    {
        Assert.Equal(new WhoAmI("alpha", "admin", (await host.Client(host.AlphaAdmin).WhoAmIAsync()).KeyId), await host.Client(host.AlphaAdmin).WhoAmIAsync());
        Assert.Equal("member", (await host.Client(host.AlphaMember).WhoAmIAsync()).Role);
        Assert.Equal("platform-admin", (await host.Client(ApiHostFixture.AdminKey).WhoAmIAsync()).Role);

        using var http = host.Http(null);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/whoami");
        request.Headers.Add("X-Api-Key", host.BetaMember);
        var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("beta", (await response.Content.ReadFromJsonAsync<WhoAmI>())!.TenantId);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("not-a-key")]
    [InlineData("dpk_alpha_k1_0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("dpk_nosuchtenant_k1_0000000000000000000000000000000000000000000000000000000000000000")]
    public async Task Missing_malformed_and_unknown_keys_get_401_problem_details(string? key)
    {
        using var http = host.Http(key);
        var response = await http.GetAsync("/v1/datasets");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(401, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Equal("unauthenticated", problem.RootElement.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Members_cannot_manage_keys_or_administer_the_platform_and_revoked_keys_stop_working()
    {
        var member = host.Client(host.AlphaMember);
        var forbidden = await Assert.ThrowsAsync<DeepPerceptionApiException>(() => member.CreateKeyAsync(new CreateApiKeyBody("x")));
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.Status);
        var notAdmin = await Assert.ThrowsAsync<DeepPerceptionApiException>(() => host.Client(host.AlphaAdmin).ListSilosAsync());
        Assert.Equal(HttpStatusCode.Forbidden, notAdmin.Status);

        var alphaAdmin = host.Client(host.AlphaAdmin);
        var issued = await alphaAdmin.CreateKeyAsync(new CreateApiKeyBody("temporary"));
        Assert.Equal("alpha", (await host.Client(issued.Secret).WhoAmIAsync()).TenantId);
        await alphaAdmin.RevokeKeyAsync(issued.Key.KeyId);
        var revoked = await Assert.ThrowsAsync<DeepPerceptionApiException>(() => host.Client(issued.Secret).WhoAmIAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, revoked.Status);
    }

    [Fact]
    public async Task The_first_start_wrote_a_working_bootstrap_platform_admin_key_readable_only_by_its_owner()
    {
        var path = Path.Combine(host.DataDirectory, "bootstrap-admin-key.txt");
        Assert.True(File.Exists(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        var key = (await File.ReadAllTextAsync(path)).Trim();
        Assert.StartsWith("dpk_platform_", key, StringComparison.Ordinal);
        var admin = host.Client(key);
        Assert.Equal("platform-admin", (await admin.WhoAmIAsync()).Role);
        Assert.NotEmpty(await admin.ListSilosAsync());
    }

    [Fact]
    public async Task The_request_rate_applies_per_api_key_with_429_and_retry_after()
    {
        var admin = host.Client(ApiHostFixture.AdminKey);
        await admin.CreateTenantAsync(new CreateTenantBody("slow", "Slow", "slow-owner", 10, 3));
        var first = (await admin.CreateTenantKeyAsync("slow", new CreateApiKeyBody("first"))).Secret;
        var second = (await admin.CreateTenantKeyAsync("slow", new CreateApiKeyBody("second"))).Secret;
        using var http = host.Http(first);
        using var other = host.Http(second);
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage last = null!;
        for (var i = 0; i < 4; i++)
        {
            last = await http.GetAsync("/v1/tenant");
            statuses.Add(last.StatusCode);
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
        Assert.NotNull(last.Headers.RetryAfter?.Delta);
        Assert.True(last.Headers.RetryAfter!.Delta!.Value.TotalSeconds >= 1);
        using var problem = JsonDocument.Parse(await last.Content.ReadAsStringAsync());
        Assert.Equal("rate_limited", problem.RootElement.GetProperty("code").GetString());

        // The second key of the same tenant has its own budget of 3 per minute, untouched by the first key's requests.
        var otherStatuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            otherStatuses.Add((await other.GetAsync("/v1/tenant")).StatusCode);
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], otherStatuses);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await http.GetAsync("/v1/tenant")).StatusCode);
    }

    [Fact]
    public async Task A_spent_gpu_budget_refuses_ground_requests_with_a_budget_problem()
    {
        var admin = host.Client(ApiHostFixture.AdminKey);
        await admin.CreateTenantAsync(new CreateTenantBody("broke", "Broke", "broke-owner", 0, 100));
        var key = (await admin.CreateTenantKeyAsync("broke", new CreateApiKeyBody("k"))).Secret;
        var error = await Assert.ThrowsAsync<DeepPerceptionApiException>(() => host.Client(key).GroundAsync("any-model", ApiHostFixture.Png(), "the thing"));
        Assert.Equal(HttpStatusCode.TooManyRequests, error.Status);
        Assert.Equal("gpu_budget_exceeded", error.Code);
        Assert.NotNull(error.RetryAfter);
    }

    [Fact]
    public async Task Platform_admins_list_tenants_and_set_budgets()
    {
        var admin = host.Client(ApiHostFixture.AdminKey);
        using var http = host.Http(ApiHostFixture.AdminKey);
        var tenants = await http.GetFromJsonAsync<ListDto<TenantDto>>("/v1/admin/tenants");
        Assert.Contains(tenants!.Items, t => t.TenantId == "alpha");
        Assert.Contains(tenants.Items, t => t.TenantId == "demo");
        var updated = await admin.SetBudgetAsync("beta", new SetBudgetBody(12345, 100_000));
        Assert.Equal(12345, updated.GpuSecondsBudget);
        var bad = await Assert.ThrowsAsync<DeepPerceptionApiException>(() => admin.SetBudgetAsync("beta", new SetBudgetBody(-1, 10)));
        Assert.Equal(HttpStatusCode.BadRequest, bad.Status);
        await admin.SetBudgetAsync("beta", new SetBudgetBody(100_000, 100_000));
    }

    [Fact]
    public async Task The_openapi_document_describes_the_v1_endpoints()
    {
        using var http = host.Http(null);
        using var doc = JsonDocument.Parse(await http.GetStringAsync("/openapi/v1.json"));
        var paths = doc.RootElement.GetProperty("paths");
        foreach (var path in new[] { "/v1/ground", "/v1/ground/stream", "/v1/datasets", "/v1/datasets/{datasetId}/versions", "/v1/fine-tunes",
                     "/v1/models/{modelId}/export", "/v1/evaluations/{runId}/report", "/v1/public/leaderboards/{tenantId}/{boardId}", "/v1/admin/silos" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"OpenAPI lacks {path}");
        }
    }

    [Fact]
    public async Task Tenant_admins_manage_members()
    {
        using var http = host.Http(host.AlphaAdmin);
        var added = await http.PutAsJsonAsync("/v1/tenant/members/bob", new SetMemberBody("member"));
        Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        var members = await http.GetFromJsonAsync<ListDto<MemberDto>>("/v1/tenant/members");
        Assert.Contains(members!.Items, m => m.UserId == "bob" && m.Role == "member");
        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync("/v1/tenant/members/bob")).StatusCode);
        Assert.DoesNotContain((await http.GetFromJsonAsync<ListDto<MemberDto>>("/v1/tenant/members"))!.Items, m => m.UserId == "bob");
        using var member = host.Http(host.AlphaMember);
        Assert.Equal(HttpStatusCode.Forbidden, (await member.PutAsJsonAsync("/v1/tenant/members/eve", new SetMemberBody("admin"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PutAsJsonAsync("/v1/tenant/members/eve", new SetMemberBody("owner"))).StatusCode);
    }
}
