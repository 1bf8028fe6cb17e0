using DeepPerception.Data.Synthesis;
using DeepPerception.Data.Teacher;

namespace DeepPerception.Data.Tests;

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
