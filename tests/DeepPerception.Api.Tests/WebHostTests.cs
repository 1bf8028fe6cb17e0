using System.Globalization;
using System.Net.Http.Headers;
using DeepPerception.Client;
using DeepPerception.WebHost;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace DeepPerception.Api.Tests;

/// <summary>The web host is an Orleans client of the running cluster and serves the same API.</summary>
[Collection("api")]
public sealed class WebHostTests(ApiHostFixture host)
{
    [Fact]
    public async Task The_web_host_connects_to_the_cluster_gateway_and_serves_the_api()
    {
        await using var web = new WebApplicationFactory<WebHostProgram>().WithWebHostBuilder(b =>
        {
            b.UseSetting("DeepPerception:WebHost:GatewayPort", host.GatewayPort.ToString(CultureInfo.InvariantCulture));
            b.UseSetting("DeepPerception:WebHost:ClusterId", host.ClusterId);
            b.UseSetting("DeepPerception:WebHost:ArtifactsDirectory", Path.Combine(host.DataDirectory, "artifacts"));
            b.UseSetting("DeepPerception:Api:Bootstrap", "false");
            b.UseSetting("DeepPerception:Api:BootstrapAdminKey", ApiHostFixture.AdminKey);
        });
        var alpha = new DeepPerceptionClient(web.CreateClient(), host.AlphaAdmin);
        Assert.Equal("alpha", (await alpha.WhoAmIAsync()).TenantId);
        var demo = new DeepPerceptionClient(web.CreateClient(), host.DemoAdmin);
        Assert.Contains(await demo.ListModelsAsync(), m => m.ModelId == "tiny-grounder");
        var answer = await demo.GroundAsync("tiny-grounder", ApiHostFixture.Png(), "the Glimmer Finch", maxNewTokens: 4);
        Assert.Equal(64, answer.ImageWidth);
        Assert.NotEmpty(await new DeepPerceptionClient(web.CreateClient(), ApiHostFixture.AdminKey).ListSilosAsync());
        using var anonymous = web.CreateClient();
        anonymous.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", host.BetaMember);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await anonymous.GetAsync("/v1/models/tiny-grounder")).StatusCode);
    }
}
