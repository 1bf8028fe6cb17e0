using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DeepPerception.Data.Synthesis;
using DeepPerception.Data.Teacher;
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

/// <summary>The external teacher against the local OpenAI-compatible server: wire format, gating, retries, typed errors.</summary>
public sealed class TeacherTests : IAsyncLifetime
{
    private static readonly CompositeOptions Small = new() { MinCanvas = 224, MaxCanvas = 448, MinObjectSize = 64 };
    private OpenAICompatibleServer _server = null!;

    public async Task InitializeAsync() => _server = await OpenAICompatibleServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private ChatRationaleTeacher Teacher(string model, int retries = 3, int concurrency = 2, TimeSpan? timeout = null) =>
        ChatRationaleTeacher.CreateOpenAICompatible(new TeacherOptions
        {
            Endpoint = _server.Endpoint, Model = model, ApiKey = "test-key", MaxRetries = retries, MaxConcurrency = concurrency,
            InitialBackoff = TimeSpan.FromMilliseconds(10), MaxBackoff = TimeSpan.FromMilliseconds(40),
            RequestTimeout = timeout ?? TimeSpan.FromSeconds(60),
        });

    private static RationaleRequest Request(int index = 0)
    {
        var data = SynthesisTestData.Noisy();
        return new RationaleRequest(new CompositeBuilder(data, Small, 4).Build(index), data.Knowledge);
    }

    [Fact]
    public async Task Request_carries_the_png_and_the_papers_prompt_and_the_echoed_box_is_kept()
    {
        using var teacher = Teacher("echo");
        var request = Request();
        var text = await teacher.GenerateAsync(request);

        var body = Assert.Single(_server.Requests);
        Assert.Equal("echo", (string)body["model"]!);
        Assert.Equal("Bearer test-key", Assert.Single(_server.Authorizations));
        Assert.Equal(request.Prompt, OpenAICompatibleServer.PromptOf(body));
        Assert.StartsWith("This image shows ", request.Prompt);
        Assert.Contains(TeacherPrompt.Instruction, request.Prompt);
        Assert.All(TeacherPrompt.MustNotes, n => Assert.Contains(n, request.Prompt));
        Assert.All(request.Objects, o => Assert.Contains($"{o.Entity} ({o.Box.ToBoxText()})", request.Prompt));
        var url = OpenAICompatibleServer.ImageUrlOf(body);
        const string prefix = "data:image/png;base64,";
        Assert.StartsWith(prefix, url);
        Assert.Equal(request.Composite.Sample.Image.EncodePng(), Convert.FromBase64String(url[prefix.Length..]));

        Assert.EndsWith($"is at {request.Target.Box.ToBoxText()}.", text);
        Assert.True(RationaleGate.Evaluate(text, request.Composite.Sample.TargetGridBox).Kept);
    }

    [Fact]
    public async Task Pipeline_keeps_echoed_rationales_and_rejects_wrong_boxes()
    {
        var data = SynthesisTestData.Noisy();
        var options = new SynthesisOptions { Composites = 6, Composite = Small, MaxParallelRequests = 6 };
        using (var echo = Teacher("echo", concurrency: 2))
        {
            var kept = await new SynthesisPipeline(echo, options).RunAsync(data);
            Assert.Equal(6, kept.Report.Kept);
            Assert.Equal("echo", kept.Report.Teacher);
            Assert.All(kept.Kept, k => Assert.StartsWith("<think>Planning: I must find " + k.Composite.Sample.Target.Label, k.Target));
        }

        Assert.InRange(_server.MaxInFlight, 1, 2);
        using var wrong = Teacher("wrong");
        var rejected = await new SynthesisPipeline(wrong, options).RunAsync(data);
        Assert.Equal(0, rejected.Report.Kept);
        Assert.Equal(6, rejected.Report.Rejected[RationaleRejection.LowIoU]);
        Assert.All(rejected.Rejected, r => Assert.Equal(new Kvg.BoundingBox(0, 0, 5, 5), r.Verdict.FinalBox));
    }

    [Fact]
    public async Task Server_errors_are_retried_with_backoff_until_an_answer_comes()
    {
        using var teacher = Teacher("flaky", retries: 3);
        var request = Request(1);
        var text = await teacher.GenerateAsync(request);
        Assert.Equal(3, _server.Counts["flaky"]);
        Assert.True(RationaleGate.Evaluate(text, request.Composite.Sample.TargetGridBox).Kept);

        // Every request of the retries is the same request.
        Assert.Single(_server.Requests.Select(r => r.ToJsonString()).Distinct());
    }

    [Fact]
    public async Task Spent_retries_give_a_typed_error_and_the_pipeline_counts_it()
    {
        using var teacher = Teacher("down", retries: 2);
        var e = await Assert.ThrowsAsync<TeacherUnavailableException>(() => teacher.GenerateAsync(Request()));
        Assert.Equal(3, e.Attempts);
        Assert.Equal(3, _server.Counts["down"]);
        Assert.Contains("500", e.Message);

        var result = await new SynthesisPipeline(teacher, new SynthesisOptions { Composites = 2, Composite = Small }).RunAsync(SynthesisTestData.Noisy());
        Assert.Equal(2, result.Report.Rejected[RationaleRejection.TeacherError]);
        Assert.Equal(0, result.Report.Kept);
    }

    [Fact]
    public async Task Garbage_answers_give_a_typed_error_without_retrying()
    {
        using var garbage = Teacher("garbage", retries: 3);
        await Assert.ThrowsAsync<TeacherProtocolException>(() => garbage.GenerateAsync(Request()));
        Assert.Equal(1, _server.Counts["garbage"]);

        using var empty = Teacher("empty", retries: 3);
        var e = await Assert.ThrowsAsync<TeacherProtocolException>(() => empty.GenerateAsync(Request()));
        Assert.Contains("no text", e.Message);
    }

    [Fact]
    public async Task A_slow_endpoint_times_out_per_attempt()
    {
        using var teacher = Teacher("slow", retries: 1, timeout: TimeSpan.FromMilliseconds(300));
        var e = await Assert.ThrowsAsync<TeacherUnavailableException>(() => teacher.GenerateAsync(Request()));
        Assert.Equal(2, e.Attempts);
        Assert.IsType<TimeoutException>(e.InnerException);
    }

    [Fact]
    public void Options_are_validated()
    {
        Assert.Throws<ArgumentException>(() => Teacher(string.Empty));
        Assert.Throws<ArgumentException>(() => ChatRationaleTeacher.CreateOpenAICompatible(new TeacherOptions { Endpoint = new Uri("ftp://x/v1"), Model = "m" }));
        Assert.Throws<ArgumentException>(() => Teacher("echo", concurrency: 0));
    }
}
