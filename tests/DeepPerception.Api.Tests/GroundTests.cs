using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using DeepPerception.Client;

namespace DeepPerception.Api.Tests;

[Collection("api")]
public sealed class GroundTests(ApiHostFixture host)
{
    private const string Model = "tiny-grounder";

    [Fact]
    public async Task Ground_returns_the_box_in_pixels_and_on_the_grid_with_reasoning_parse_status_and_timings_and_charges_gpu_seconds()
    {
        var client = host.Client(host.DemoAdmin);
        var before = await client.GetTenantAsync();
        var answer = await client.GroundAsync(Model, ApiHostFixture.Png(64, 48), "Find the Glimmer Finch", maxNewTokens: 12);

        Assert.Equal(Model, answer.Model);
        Assert.Equal(64, answer.ImageWidth);
        Assert.Equal(48, answer.ImageHeight);
        Assert.Equal("qwen2-vl", answer.BoxConvention);
        Assert.Contains(answer.ParseStatus, new[] { "parsed", "no_match", "conversion_failed" });
        Assert.Equal(answer.Box is not null, answer.ParseStatus == "parsed");
        Assert.InRange(answer.GeneratedTokens, 1, 12);
        Assert.True(answer.Timings.ModelMs > 0);
        Assert.True(answer.Timings.ServerMs >= answer.Timings.TotalMs);
        Assert.True(answer.GpuSeconds > 0);
        // Served usage is metered off the response path and charged within a flush interval.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var after = await client.GetTenantAsync();
        while (after.GpuSecondsCharged <= before.GpuSecondsCharged && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
            after = await client.GetTenantAsync();
        }

        Assert.True(after.GpuSecondsCharged > before.GpuSecondsCharged, "the ground request was not charged");
    }

    [Fact]
    public async Task Ground_requests_are_counted_and_timed_per_tenant_on_the_platform_meter()
    {
        var recorded = new System.Collections.Concurrent.ConcurrentQueue<(string Name, double Value, Dictionary<string, object?> Tags)>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == Abstractions.Telemetry.PlatformMetrics.MeterName && instrument.Name.StartsWith("deepperception.ground.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => recorded.Enqueue((i.Name, v, new Dictionary<string, object?>(tags.ToArray()))));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => recorded.Enqueue((i.Name, v, new Dictionary<string, object?>(tags.ToArray()))));
        listener.Start();
        var client = host.Client(host.DemoAdmin);

        await client.GroundAsync(Model, ApiHostFixture.Png(32, 32), "Find the Glimmer Finch", maxNewTokens: 4);
        await foreach (var _ in client.GroundStreamAsync(Model, ApiHostFixture.Png(32, 32), "Find the Glimmer Finch", maxNewTokens: 4))
        {
        }

        await Assert.ThrowsAnyAsync<Exception>(() => client.GroundAsync(Model, [1, 2, 3], "Find the Glimmer Finch"));

        var demo = recorded.Where(r => Equals(r.Tags.GetValueOrDefault("tenant"), "demo")).ToList();
        Assert.Contains(demo, r => r.Name == "deepperception.ground.requests" && Equals(r.Tags["outcome"], "ok") && Equals(r.Tags["stream"], false));
        Assert.Contains(demo, r => r.Name == "deepperception.ground.requests" && Equals(r.Tags["outcome"], "ok") && Equals(r.Tags["stream"], true));
        Assert.Contains(demo, r => r.Name == "deepperception.ground.requests" && !Equals(r.Tags["outcome"], "ok"));
        var durations = demo.Where(r => r.Name == "deepperception.ground.duration" && Equals(r.Tags["outcome"], "ok")).ToList();
        Assert.True(durations.Count >= 2);
        Assert.All(durations, d => Assert.True(d.Value > 0));
    }

    [Fact]
    public async Task Multipart_ground_gives_the_same_answer_as_json()
    {
        var image = ApiHostFixture.Png(80, 60);
        var json = await host.Client(host.DemoAdmin).GroundAsync(Model, image, "the Glimmer Finch", maxNewTokens: 8);
        using var http = host.Http(host.DemoAdmin);
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(image);
        file.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        form.Add(file, "image", "photo.png");
        form.Add(new StringContent(Model), "model");
        form.Add(new StringContent("the Glimmer Finch"), "query");
        form.Add(new StringContent("8"), "maxNewTokens");
        var response = await http.PostAsync("/v1/ground", form);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var multipart = (await response.Content.ReadFromJsonAsync<GroundResultDto>())!;
        Assert.Equal(json.Text, multipart.Text);
        Assert.Equal(json.Box, multipart.Box);
    }

    [Fact]
    public async Task The_stream_sends_token_events_then_one_final_event_whose_text_they_add_up_to()
    {
        var events = new List<GroundStreamItem>();
        await foreach (var e in host.Client(host.DemoAdmin).GroundStreamAsync(Model, ApiHostFixture.Png(), "the Glimmer Finch", maxNewTokens: 10))
        {
            events.Add(e);
        }

        Assert.Equal("final", events[^1].Kind);
        Assert.All(events[..^1], e => Assert.Equal("token", e.Kind));
        Assert.Equal(events[^1].Final!.Text, string.Concat(events[..^1].Select(e => e.Text)));
        Assert.Single(events, e => e.Kind == "final");
    }

    [Fact]
    public async Task A_thousand_ground_requests_at_concurrency_32_all_succeed()
    {
        var image = ApiHostFixture.Png(32, 32);
        var errors = 0;
        var done = 0;
        var batches = new int[33];
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, 1000), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
        {
            try
            {
                var answer = await host.Client(host.DemoAdmin).GroundAsync(Model, image, $"the entity {i % 7}", maxNewTokens: 4, cancellationToken: ct);
                Interlocked.Increment(ref batches[Math.Min(32, answer.Timings.BatchSize)]);
                Interlocked.Increment(ref done);
            }
            catch (Exception)
            {
                Interlocked.Increment(ref errors);
            }
        });
        Assert.Equal(0, errors);
        Assert.Equal(1000, done);
        Assert.True(batches.Skip(2).Sum() > 0, "no request shared a batch");
    }
}
