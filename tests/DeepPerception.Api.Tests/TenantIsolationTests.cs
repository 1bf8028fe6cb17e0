using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using DeepPerception.Client;

namespace DeepPerception.Api.Tests;

/// <summary>
/// Tries every endpoint on tenant A's resources (the demo tenant, after real work ran) with tenant B's admin and member
/// keys and with no key. B must get 404 (or 403 on platform-admin endpoints) with exactly the answer it gets for an id
/// that exists nowhere, so it cannot even infer existence; no key gets 401; A's resources are unchanged afterwards.
/// </summary>
[Collection("api")]
public sealed class TenantIsolationTests(ApiHostFixture host)
{
    private static readonly Dictionary<string, string> Ghosts = new(StringComparer.Ordinal)
    {
        ["kvg-synth"] = "ghost-data",
        ["first-tune"] = "ghost-job",
        ["tiny-grounder"] = "ghost-model",
        ["synth-eval"] = "ghost-eval",
        ["synth-two"] = "ghost-bench",
        ["grounding"] = "ghost-board",
        ["glimmer"] = "ghost-entity",
    };

    [Fact]
    public async Task Tenant_b_and_anonymous_callers_cannot_read_list_infer_or_change_anything_of_tenant_a()
    {
        var work = await DemoWorkRunner.EnsureAsync(host);
        var a = host.Client(host.DemoAdmin);
        var entity = (await GetJsonAsync<ListDto<KnowledgeEntryDto>>(host.DemoAdmin, "/v1/datasets/kvg-synth/knowledge")).Items[0].EntityId;
        var submission = await a.SubmitToLeaderboardAsync(work.BoardId, new SubmitToLeaderboardBody(DemoWorkRunner.Model, work.ModelVersion));
        var demoKeyId = (await GetJsonAsync<ListDto<ApiKeyDto>>(host.DemoAdmin, "/v1/tenant/keys")).Items[0].KeyId;
        var before = await SnapshotAsync();
        var png = Convert.ToBase64String(ApiHostFixture.Png());
        var zip = ApiHostFixture.PlatformZip(2);

        var attempts = new (HttpMethod Method, string Path, Func<HttpContent?> Body)[]
        {
            (HttpMethod.Get, "/v1/datasets/kvg-synth", () => null),
            (HttpMethod.Get, "/v1/datasets/kvg-synth/versions", () => null),
            (HttpMethod.Get, "/v1/datasets/kvg-synth/versions/1", () => null),
            (HttpMethod.Get, "/v1/datasets/kvg-synth/versions/1/report", () => null),
            (HttpMethod.Delete, "/v1/datasets/kvg-synth/versions/1", () => null),
            (HttpMethod.Post, "/v1/datasets/kvg-synth/versions", () => ZipContent(zip)),
            (HttpMethod.Get, "/v1/datasets/kvg-synth/knowledge", () => null),
            (HttpMethod.Put, "/v1/datasets/kvg-synth/knowledge/glimmer", () => Json(new { entityId = "glimmer", name = "G", description = "d" })),
            (HttpMethod.Delete, $"/v1/datasets/kvg-synth/knowledge/{entity}", () => null),
            (HttpMethod.Get, "/v1/fine-tunes/first-tune", () => null),
            (HttpMethod.Get, "/v1/fine-tunes/first-tune/metrics", () => null),
            (HttpMethod.Get, "/v1/fine-tunes/first-tune/rollouts", () => null),
            (HttpMethod.Get, "/v1/fine-tunes/first-tune/rollouts/images/sample-1", () => null),
            (HttpMethod.Post, "/v1/fine-tunes/first-tune/cancel", () => null),
            (HttpMethod.Post, "/v1/fine-tunes/first-tune/resume", () => null),
            (HttpMethod.Post, "/v1/fine-tunes", () => Json(new { modelId = "tiny-grounder", datasetId = "kvg-synth", datasetVersion = 1 })),
            (HttpMethod.Get, "/v1/models/tiny-grounder", () => null),
            (HttpMethod.Get, "/v1/models/tiny-grounder/versions", () => null),
            (HttpMethod.Get, $"/v1/models/tiny-grounder/versions/{work.ModelVersion}", () => null),
            (HttpMethod.Get, $"/v1/models/tiny-grounder/versions/{work.ModelVersion}/lineage", () => null),
            (HttpMethod.Post, "/v1/models/tiny-grounder/promote", () => Json(new { version = work.ModelVersion })),
            (HttpMethod.Get, "/v1/models/tiny-grounder/export", () => null),
            (HttpMethod.Get, $"/v1/models/tiny-grounder/export?version={work.ModelVersion}", () => null),
            (HttpMethod.Post, "/v1/models", () => Json(new { modelId = "stolen", displayName = "S", fromModelId = "tiny-grounder" })),
            (HttpMethod.Post, "/v1/ground", () => Json(new { model = "tiny-grounder", query = "the bird", imageBase64 = png, maxNewTokens = 2 })),
            (HttpMethod.Post, "/v1/ground/stream", () => Json(new { model = "tiny-grounder", query = "the bird", imageBase64 = png, maxNewTokens = 2 })),
            (HttpMethod.Get, "/v1/evaluations/synth-eval", () => null),
            (HttpMethod.Get, "/v1/evaluations/synth-eval/report", () => null),
            (HttpMethod.Post, "/v1/evaluations/synth-eval/cancel", () => null),
            (HttpMethod.Post, "/v1/evaluations", () => Json(new { modelId = "tiny-grounder", modelVersion = work.ModelVersion, source = "kvg-synth" })),
            (HttpMethod.Post, "/v1/evaluations", () => Json(new { modelId = "tiny-grounder", modelVersion = 1, source = "dataset", datasetId = "kvg-synth", datasetVersion = 1 })),
            (HttpMethod.Post, "/v1/evaluations", () => Json(new { modelId = "tiny-grounder", modelVersion = 1, source = "benchmark", benchmarkId = "synth-two" })),
            (HttpMethod.Get, "/v1/benchmarks/synth-two", () => null),
            (HttpMethod.Post, "/v1/leaderboards/grounding/submissions", () => Json(new { modelId = "tiny-grounder", modelVersion = work.ModelVersion })),
            (HttpMethod.Get, $"/v1/leaderboards/grounding/submissions/{submission.Run.RunId}", () => null),
            (HttpMethod.Post, "/v1/leaderboards", () => Json(new { boardId = "grounding", source = "benchmark", benchmarkId = "synth-two" })),
            (HttpMethod.Delete, $"/v1/tenant/keys/{demoKeyId}", () => null),
        };
        var adminOnly = new (HttpMethod Method, string Path, Func<HttpContent?> Body)[]
        {
            (HttpMethod.Get, "/v1/admin/tenants", () => null),
            (HttpMethod.Get, "/v1/admin/tenants/demo", () => null),
            (HttpMethod.Put, "/v1/admin/tenants/demo/budget", () => Json(new { gpuSecondsBudget = 1e9, requestsPerMinute = 100000 })),
            (HttpMethod.Post, "/v1/admin/tenants/demo/keys", () => Json(new { name = "stolen", role = "admin" })),
            (HttpMethod.Get, "/v1/admin/silos", () => null),
            (HttpMethod.Get, "/v1/admin/queue", () => null),
        };

        var count = 0;
        var leaks = new List<string>();
        foreach (var key in new[] { host.BetaAdmin, host.BetaMember })
        {
            foreach (var (method, path, body) in attempts)
            {
                count++;
                var (status, text) = await SendAsync(key, method, path, body());
                var (ghostStatus, ghostText) = await SendAsync(key, method, Ghost(path), Ghostly(body)());
                // 404, or the same role refusal (403) that a nonexistent id gets; never a hint of tenant A.
                if (status is not (HttpStatusCode.NotFound or HttpStatusCode.Forbidden) || Detail(text).Contains("demo", StringComparison.Ordinal)
                    || Normalise(text) != Normalise(Ghost(ghostText)) || ghostStatus != status)
                {
                    leaks.Add($"{method} {path}: {(int)status} {text} | nonexistent id: {(int)ghostStatus} {ghostText}");
                }
            }

            foreach (var (method, path, body) in adminOnly)
            {
                count++;
                var (status, text) = await SendAsync(key, method, path, body());
                if (status != HttpStatusCode.Forbidden || Detail(text).Contains("demo", StringComparison.Ordinal))
                {
                    leaks.Add($"{method} {path}: {(int)status} {text}");
                }
            }
        }

        foreach (var (method, path, body) in attempts.Concat(adminOnly))
        {
            count++;
            var (status, text) = await SendAsync(null, method, path, body());
            if (status != HttpStatusCode.Unauthorized)
            {
                leaks.Add($"anonymous {method} {path}: {(int)status} {text}");
            }
        }

        var lists = new[] { "/v1/datasets", "/v1/models", "/v1/fine-tunes", "/v1/evaluations", "/v1/benchmarks", "/v1/leaderboards" };
        foreach (var path in lists)
        {
            count++;
            var (status, text) = await SendAsync(host.BetaAdmin, HttpMethod.Get, path, null);
            if (status != HttpStatusCode.OK || text.Contains("kvg-synth", StringComparison.Ordinal) || text.Contains("tiny-grounder", StringComparison.Ordinal)
                || text.Contains("first-tune", StringComparison.Ordinal) || text.Contains("synth-eval", StringComparison.Ordinal))
            {
                leaks.Add($"list {path}: {(int)status} {text}");
            }
        }

        Assert.True(leaks.Count == 0, $"{leaks.Count} leaks in {count} attempts:\n{string.Join("\n", leaks)}");
        Assert.True(count >= 120, $"only {count} attempts");
        Assert.Equal(before, await SnapshotAsync());
    }

    private async Task<string> SnapshotAsync()
    {
        var a = host.Client(host.DemoAdmin);
        var dataset = await a.GetDatasetAsync("kvg-synth");
        var model = await a.GetModelAsync("tiny-grounder");
        var job = await a.GetFineTuneAsync("first-tune");
        var tenant = await a.GetTenantAsync();
        return JsonSerializer.Serialize(new
        {
            versions = dataset.Versions.Select(v => (v.Version, v.SampleCount)).ToArray(),
            dataset.KnowledgeEntryCount,
            model.ActiveVersion,
            modelVersions = model.Versions.Count,
            job.State,
            tenant.GpuSecondsBudget,
            tenant.RequestsPerMinute,
        });
    }

    private static string Ghost(string text)
    {
        foreach (var (real, ghost) in Ghosts)
        {
            text = text.Replace(real, ghost, StringComparison.Ordinal);
        }

        // The evaluation source name "kvg-synth" is not a dataset id.
        return text.Replace("\"source\":\"ghost-data\"", "\"source\":\"kvg-synth\"", StringComparison.Ordinal);
    }

    private static string Detail(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.TryGetProperty("detail", out var d) ? d.GetString() ?? string.Empty : text;
        }
        catch (JsonException)
        {
            return text;
        }
    }

    private static Func<HttpContent?> Ghostly(Func<HttpContent?> body) => () =>
    {
        var content = body();
        if (content is StringContent s)
        {
            var json = s.ReadAsStringAsync().GetAwaiter().GetResult();
            return Json(JsonDocument.Parse(Ghost(json)).RootElement);
        }

        return content;
    };

    private static string Normalise(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.TryGetProperty("detail", out var d) ? Ghost(d.GetString() ?? string.Empty) : Ghost(text);
        }
        catch (JsonException)
        {
            return Ghost(text);
        }
    }

    private async Task<(HttpStatusCode Status, string Text)> SendAsync(string? key, HttpMethod method, string path, HttpContent? content)
    {
        using var http = host.Http(key);
        using var request = new HttpRequestMessage(method, path) { Content = content };
        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<T> GetJsonAsync<T>(string key, string path)
    {
        using var http = host.Http(key);
        return JsonSerializer.Deserialize<T>(await http.GetStringAsync(path), new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
    }

    private static StringContent Json(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");

    private static MultipartFormDataContent ZipContent(byte[] zip)
    {
        var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(zip);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
        form.Add(file, "file", "data.zip");
        return form;
    }
}
