using System.Security.Claims;
using DeepPerception.Api.Identity;
using DeepPerception.Portal.Auth;

namespace DeepPerception.Portal.Tests;

/// <summary>The session cookie's claims.</summary>
public sealed class PortalUserTests
{
    [Fact]
    public void A_user_round_trips_through_the_cookie_principal_and_acts_in_its_tenant()
    {
        var user = new PortalUser("demo", "platform", PlatformRole.PlatformAdmin, "root");
        var back = PortalUser.FromPrincipal(user.ToPrincipal("cookie"));
        Assert.Equal(user, back);
        Assert.Equal(new PlatformPrincipal("demo", PlatformRole.PlatformAdmin, "root"), back!.Caller);
        Assert.True(back.IsPlatformAdmin);
    }

    [Fact]
    public void Anonymous_or_incomplete_principals_are_not_users()
    {
        Assert.Null(PortalUser.FromPrincipal(null));
        Assert.Null(PortalUser.FromPrincipal(new ClaimsPrincipal(new ClaimsIdentity())));
        var partial = new ClaimsPrincipal(new ClaimsIdentity([new Claim(PortalUser.TenantClaim, "acme")], "cookie"));
        Assert.Null(PortalUser.FromPrincipal(partial));
        var badRole = new ClaimsPrincipal(new ClaimsIdentity(
            [new Claim(PortalUser.TenantClaim, "acme"), new Claim(PortalUser.HomeTenantClaim, "acme"), new Claim(PortalUser.KeyClaim, "k"), new Claim(PortalUser.RoleClaim, "Owner")],
            "cookie"));
        Assert.Null(PortalUser.FromPrincipal(badRole));
    }
}
