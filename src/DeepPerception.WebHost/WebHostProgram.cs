using DeepPerception.Portal;

namespace DeepPerception.WebHost;

/// <summary>The web host's entry point (a class of its own so that tests can start it next to the one-process host).</summary>
public sealed class WebHostProgram
{
    private WebHostProgram()
    {
    }

    /// <summary>Runs the web host.</summary>
    public static void Main(string[] args) => Build(args).Run();

    /// <summary>Builds the web host: Orleans client, API, portal, <c>/health/live</c>.</summary>
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddDeepPerceptionWebHost();
        builder.WebHost.UseStaticWebAssets(); // the portal's and MudBlazor's assets when running the build output
        builder.Services.AddDeepPerceptionPortal(builder.Configuration);
        var app = builder.Build();
        app.MapHealthChecks("/health/live");
        app.MapDeepPerceptionApi();
        app.MapDeepPerceptionPortal();
        return app;
    }
}
