using DeepPerception.Portal;

var builder = WebApplication.CreateBuilder(args);
builder.AddDeepPerceptionHost();
builder.WebHost.UseStaticWebAssets(); // the portal's and MudBlazor's assets when running the build output
builder.Services.AddDeepPerceptionPortal(builder.Configuration);

var app = builder.Build();
app.MapDeepPerceptionHealth();
app.MapPlatformStatus();
app.MapPlatformDashboard();
app.MapDeepPerceptionApi();
app.MapDeepPerceptionPortal();
app.LinkPortalToDashboard();
app.Run();

/// <summary>The one-process DeepPerception host (entry point; public for integration tests).</summary>
public partial class Program;
