var builder = WebApplication.CreateBuilder(args);
builder.AddDeepPerceptionHost();

var app = builder.Build();
app.MapDeepPerceptionHealth();
app.MapPlatformStatus();
app.MapDeepPerceptionApi();
app.Run();

/// <summary>The one-process DeepPerception host (entry point; public for integration tests).</summary>
public partial class Program;
