using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DeepPerception.Data.Tests;

/// <summary>
/// A real OpenAI-compatible chat-completions server on 127.0.0.1 (Kestrel) that answers from the prompt it receives.
/// The request's model name picks the behaviour: <c>echo</c> (a four-phase text ending with the target box it was
/// given), <c>wrong</c> (the same text ending with a box elsewhere), <c>flaky</c> (HTTP 500 on the first two requests,
/// then echo), <c>down</c> (always 500), <c>garbage</c> (HTTP 200 with a body that is not a chat completion),
/// <c>empty</c> (a completion with no text), <c>slow</c> (answers after 30 s unless the client gives up).
/// </summary>
public sealed partial class OpenAICompatibleServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _inFlight;
    private int _maxInFlight;

    private OpenAICompatibleServer(WebApplication app) => _app = app;

    /// <summary>Every request body received, in arrival order.</summary>
    public ConcurrentQueue<JsonObject> Requests { get; } = new();

    /// <summary>Authorization headers received.</summary>
    public ConcurrentQueue<string> Authorizations { get; } = new();

    /// <summary>Requests received per model name.</summary>
    public ConcurrentDictionary<string, int> Counts { get; } = new();

    /// <summary>The most requests that were being handled at once.</summary>
    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    /// <summary>The API base address (…/v1).</summary>
    public Uri Endpoint { get; private set; } = null!;

    public static async Task<OpenAICompatibleServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new OpenAICompatibleServer(app);
        app.MapPost("/v1/chat/completions", server.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Endpoint = new Uri(address.TrimEnd('/') + "/v1");
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>The text part of the single user message of a request.</summary>
    public static string PromptOf(JsonObject request) =>
        request["messages"]![0]!["content"]!.AsArray().Single(p => (string?)p!["type"] == "text")!["text"]!.GetValue<string>();

    /// <summary>The image part (a data URI) of the single user message of a request.</summary>
    public static string ImageUrlOf(JsonObject request) =>
        request["messages"]![0]!["content"]!.AsArray().Single(p => (string?)p!["type"] == "image_url")!["image_url"]!["url"]!.GetValue<string>();

    private async Task HandleAsync(HttpContext context)
    {
        var now = Interlocked.Increment(ref _inFlight);
        int seen;
        while ((seen = Volatile.Read(ref _maxInFlight)) < now && Interlocked.CompareExchange(ref _maxInFlight, now, seen) != seen)
        {
        }

        try
        {
            var body = (await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted))!.AsObject();
            Requests.Enqueue(body);
            Authorizations.Enqueue(context.Request.Headers.Authorization.ToString());
            var model = (string)body["model"]!;
            var count = Counts.AddOrUpdate(model, 1, (_, c) => c + 1);

            // Hold each request briefly so that concurrent requests overlap.
            await Task.Delay(20, context.RequestAborted);
            switch (model)
            {
                case "down":
                case "flaky" when count <= 2:
                    context.Response.StatusCode = 500;
                    await context.Response.WriteAsJsonAsync(new { error = new { message = "overloaded", type = "server_error" } });
                    return;
                case "garbage":
                    context.Response.ContentType = "application/json";
                    await context.Response.WriteAsync("<html>this is not a chat completion");
                    return;
                case "slow":
                    await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted);
                    break;
            }

            var prompt = PromptOf(body);
            var m = TargetRegex().Match(prompt);
            string content;
            if (model == "empty")
            {
                content = string.Empty;
            }
            else if (!m.Success)
            {
                content = "I see no target.";
            }
            else
            {
                var box = model == "wrong" ? "(0,0),(5,5)" : m.Groups[2].Value;
                content = $"Planning: I must find {m.Groups[1].Value}.\nVisual Analysis: I look at every object.\n" +
                          $"Comparison: only one matches.\nConclusion: {m.Groups[1].Value} is at {box}.";
            }

            await context.Response.WriteAsJsonAsync(new
            {
                id = "chatcmpl-local",
                @object = "chat.completion",
                created = 1_700_000_000,
                model,
                choices = new[] { new { index = 0, message = new { role = "assistant", content }, finish_reason = "stop" } },
                usage = new { prompt_tokens = 10, completion_tokens = 20, total_tokens = 30 },
            });
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    [GeneratedRegex(@"The bounding box of (.+?) is (\(\d+,\d+\),\(\d+,\d+\))\.")]
    private static partial Regex TargetRegex();
}
