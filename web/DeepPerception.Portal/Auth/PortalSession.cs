using Microsoft.AspNetCore.Components.Authorization;

namespace DeepPerception.Portal.Auth;

/// <summary>The signed-in user of the current circuit, read once from the authentication state.</summary>
public sealed class PortalSession(AuthenticationStateProvider authentication)
{
    private PortalUser? _user;
    private bool _loaded;

    /// <summary>Returns the signed-in user, or null when nobody is signed in.</summary>
    public async Task<PortalUser?> GetUserAsync()
    {
        if (!_loaded)
        {
            var state = await authentication.GetAuthenticationStateAsync();
            _user = PortalUser.FromPrincipal(state.User);
            _loaded = true;
        }

        return _user;
    }
}
