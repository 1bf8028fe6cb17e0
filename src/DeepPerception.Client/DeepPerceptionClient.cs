using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace DeepPerception.Client;

/// <summary>An error answer of the API (a ProblemDetails body).</summary>
public sealed class DeepPerceptionApiException : Exception
{
    /// <summary>Creates the exception.</summary>
    public DeepPerceptionApiException(HttpStatusCode status, string? code, string? title, string? detail, TimeSpan? retryAfter, string body)
        : base($"{(int)status} {title}: {detail ?? body}")
    {
        Status = status;
        Code = code;
        Title = title;
        Detail = detail;
        RetryAfter = retryAfter;
        Body = body;
    }

    /// <summary>The HTTP status.</summary>
    public HttpStatusCode Status { get; }

    /// <summary>The API's error code (for example not_found, invalid_request, rate_limited).</summary>
    public string? Code { get; }

    /// <summary>The ProblemDetails title.</summary>
    public string? Title { get; }

    /// <summary>The ProblemDetails detail.</summary>
    public string? Detail { get; }

    /// <summary>The Retry-After of a 429.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>The raw body.</summary>
    public string Body { get; }
}

/// <summary>One event of a streamed ground request.</summary>
/// <param name="Kind">"token" or "final".</param>
/// <param name="Text">The text delta of a token event.</param>
/// <param name="Final">The answer of the final event.</param>
public sealed record GroundStreamItem(string Kind, string? Text, GroundResultDto? Final);

/// <summary>
/// A typed client of the DeepPerception HTTP API over an <see cref="HttpClient"/> whose base address is the server
/// (for example <c>http://127.0.0.1:5080/</c>). Every call sends the API key as a Bearer token; error answers throw
/// <see cref="DeepPerceptionApiException"/>.
/// </summary>
public sealed class DeepPerceptionClient
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http;
    private readonly string? _apiKey;

    /// <summary>Creates a client; <paramref name="apiKey"/> may be null for public calls only.</summary>
    public DeepPerceptionClient(HttpClient http, string? apiKey)
    {
        ArgumentNullException.ThrowIfNull(http);
        _http = http;
        _apiKey = apiKey;
    }

    /// <summary>The key's tenant and role.</summary>
    public Task<WhoAmI> WhoAmIAsync(CancellationToken cancellationToken = default) => GetAsync<WhoAmI>("v1/whoami", cancellationToken);

    /// <summary>The caller's tenant.</summary>
    public Task<TenantDto> GetTenantAsync(CancellationToken cancellationToken = default) => GetAsync<TenantDto>("v1/tenant", cancellationToken);

    /// <summary>Issues a key in the caller's tenant (tenant admins).</summary>
    public Task<IssuedApiKeyDto> CreateKeyAsync(CreateApiKeyBody body, CancellationToken cancellationToken = default) =>
        SendAsync<IssuedApiKeyDto>(HttpMethod.Post, "v1/tenant/keys", body, cancellationToken);

    /// <summary>Revokes a key.</summary>
    public Task RevokeKeyAsync(string keyId, CancellationToken cancellationToken = default) =>
        SendAsync<object>(HttpMethod.Delete, $"v1/tenant/keys/{Uri.EscapeDataString(keyId)}", null, cancellationToken);

    /// <summary>Grounds a query in an image.</summary>
    public Task<GroundResultDto> GroundAsync(string model, byte[] image, string query, int? version = null, int? maxNewTokens = null,
        CancellationToken cancellationToken = default) =>
        SendAsync<GroundResultDto>(HttpMethod.Post, "v1/ground", Ground(model, image, query, version, maxNewTokens), cancellationToken);

    /// <summary>Grounds a query, streaming the reasoning tokens and then the final answer (server-sent events).</summary>
    public async IAsyncEnumerable<GroundStreamItem> GroundStreamAsync(string model, byte[] image, string query, int? version = null,
        int? maxNewTokens = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var request = Request(HttpMethod.Post, "v1/ground/stream", Ground(model, image, query, version, maxNewTokens));
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string? kind = null;
        var data = new StringBuilder();
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (line.StartsWith("event:", StringComparison.Ordinal))
            {
                kind = line[6..].Trim();
            }
            else if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                data.Append(line[5..].TrimStart());
            }
            else if (line.Length == 0 && kind is not null)
            {
                if (kind == "error")
                {
                    using var problem = JsonDocument.Parse(data.ToString());
                    var r = problem.RootElement;
                    throw new DeepPerceptionApiException(
                        (HttpStatusCode)(r.TryGetProperty("status", out var st) && st.TryGetInt32(out var code) ? code : 500),
                        r.TryGetProperty("code", out var c) ? c.GetString() : null, r.TryGetProperty("title", out var t) ? t.GetString() : null,
                        r.TryGetProperty("detail", out var d) ? d.GetString() : null, null, data.ToString());
                }

                if (kind == "final")
                {
                    yield return new GroundStreamItem(kind, null, JsonSerializer.Deserialize<GroundResultDto>(data.ToString(), Json));
                }
                else
                {
                    using var doc = JsonDocument.Parse(data.ToString());
                    yield return new GroundStreamItem(kind, doc.RootElement.GetProperty("text").GetString(), null);
                }

                kind = null;
                data.Clear();
            }
        }
    }

    /// <summary>Creates a dataset.</summary>
    public Task<DatasetDto> CreateDatasetAsync(CreateDatasetBody body, CancellationToken cancellationToken = default) =>
        SendAsync<DatasetDto>(HttpMethod.Post, "v1/datasets", body, cancellationToken);

    /// <summary>Lists datasets.</summary>
    public async Task<IReadOnlyList<DatasetDto>> ListDatasetsAsync(CancellationToken cancellationToken = default) =>
        (await GetAsync<ListDto<DatasetDto>>("v1/datasets", cancellationToken).ConfigureAwait(false)).Items;

    /// <summary>Returns a dataset.</summary>
    public Task<DatasetDto> GetDatasetAsync(string datasetId, CancellationToken cancellationToken = default) =>
        GetAsync<DatasetDto>($"v1/datasets/{Uri.EscapeDataString(datasetId)}", cancellationToken);

    /// <summary>Uploads a dataset version from a zip archive.</summary>
    public async Task<DatasetUploadResult> UploadDatasetZipAsync(string datasetId, byte[] zip, string format = "auto", string? description = null,
        bool strict = false, CancellationToken cancellationToken = default)
    {
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(zip);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
        form.Add(file, "file", "dataset.zip");
        form.Add(new StringContent(format), "format");
        form.Add(new StringContent(strict ? "true" : "false"), "strict");
        if (description is not null)
        {
            form.Add(new StringContent(description), "description");
        }

        return await SendContentAsync<DatasetUploadResult>(HttpMethod.Post, $"v1/datasets/{Uri.EscapeDataString(datasetId)}/versions", form, cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>Adds or replaces a knowledge entry.</summary>
    public Task<KnowledgeEntryDto> PutKnowledgeAsync(string datasetId, KnowledgeEntryDto entry, CancellationToken cancellationToken = default) =>
        SendAsync<KnowledgeEntryDto>(HttpMethod.Put, $"v1/datasets/{Uri.EscapeDataString(datasetId)}/knowledge/{Uri.EscapeDataString(entry.EntityId)}", entry,
            cancellationToken);

    /// <summary>Starts a fine-tuning job.</summary>
    public Task<FineTuneJobDto> CreateFineTuneAsync(CreateFineTuneBody body, CancellationToken cancellationToken = default) =>
        SendAsync<FineTuneJobDto>(HttpMethod.Post, "v1/fine-tunes", body, cancellationToken);

    /// <summary>Returns a job.</summary>
    public Task<FineTuneJobDto> GetFineTuneAsync(string jobId, CancellationToken cancellationToken = default) =>
        GetAsync<FineTuneJobDto>($"v1/fine-tunes/{Uri.EscapeDataString(jobId)}", cancellationToken);

    /// <summary>Returns a job's metric history.</summary>
    public Task<JobMetricsDto> GetFineTuneMetricsAsync(string jobId, CancellationToken cancellationToken = default) =>
        GetAsync<JobMetricsDto>($"v1/fine-tunes/{Uri.EscapeDataString(jobId)}/metrics", cancellationToken);

    /// <summary>Cancels a job.</summary>
    public Task<FineTuneJobDto> CancelFineTuneAsync(string jobId, string? reason = null, CancellationToken cancellationToken = default) =>
        SendAsync<FineTuneJobDto>(HttpMethod.Post, $"v1/fine-tunes/{Uri.EscapeDataString(jobId)}/cancel", new CancelBody(reason), cancellationToken);

    /// <summary>Resumes a job.</summary>
    public Task<FineTuneJobDto> ResumeFineTuneAsync(string jobId, CancellationToken cancellationToken = default) =>
        SendAsync<FineTuneJobDto>(HttpMethod.Post, $"v1/fine-tunes/{Uri.EscapeDataString(jobId)}/resume", null, cancellationToken);

    /// <summary>Lists models.</summary>
    public async Task<IReadOnlyList<ModelDto>> ListModelsAsync(CancellationToken cancellationToken = default) =>
        (await GetAsync<ListDto<ModelDto>>("v1/models", cancellationToken).ConfigureAwait(false)).Items;

    /// <summary>Returns a model.</summary>
    public Task<ModelDto> GetModelAsync(string modelId, CancellationToken cancellationToken = default) =>
        GetAsync<ModelDto>($"v1/models/{Uri.EscapeDataString(modelId)}", cancellationToken);

    /// <summary>Promotes a version.</summary>
    public Task<ModelDto> PromoteAsync(string modelId, int version, CancellationToken cancellationToken = default) =>
        SendAsync<ModelDto>(HttpMethod.Post, $"v1/models/{Uri.EscapeDataString(modelId)}/promote", new PromoteBody(version), cancellationToken);

    /// <summary>A job's GRPO rollouts: progress snapshots and the rollouts of its most recent steps.</summary>
    public Task<RolloutsDto> GetRolloutsAsync(string jobId, int? steps = null, CancellationToken cancellationToken = default) =>
        GetAsync<RolloutsDto>($"v1/fine-tunes/{Uri.EscapeDataString(jobId)}/rollouts" + (steps is { } n ? $"?steps={n}" : string.Empty), cancellationToken);

    /// <summary>Downloads the PNG image of one of a job's GRPO prompts.</summary>
    public async Task<byte[]> GetRolloutImageAsync(string jobId, string promptId, CancellationToken cancellationToken = default)
    {
        using var request = Request(HttpMethod.Get, $"v1/fine-tunes/{Uri.EscapeDataString(jobId)}/rollouts/images/{Uri.EscapeDataString(promptId)}", null);
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A version's lineage.</summary>
    public Task<LineageChainDto> GetLineageAsync(string modelId, int version, CancellationToken cancellationToken = default) =>
        GetAsync<LineageChainDto>($"v1/models/{Uri.EscapeDataString(modelId)}/versions/{version}/lineage", cancellationToken);

    /// <summary>Downloads a version (or the base checkpoint) as a zip of its Hugging Face folder.</summary>
    public async Task<byte[]> ExportModelAsync(string modelId, int? version = null, CancellationToken cancellationToken = default)
    {
        var path = $"v1/models/{Uri.EscapeDataString(modelId)}/export" + (version is { } v ? $"?version={v}" : string.Empty);
        using var request = Request(HttpMethod.Get, path, null);
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Starts an evaluation.</summary>
    public Task<EvaluationDto> CreateEvaluationAsync(CreateEvaluationBody body, CancellationToken cancellationToken = default) =>
        SendAsync<EvaluationDto>(HttpMethod.Post, "v1/evaluations", body, cancellationToken);

    /// <summary>Returns an evaluation.</summary>
    public Task<EvaluationDto> GetEvaluationAsync(string runId, CancellationToken cancellationToken = default) =>
        GetAsync<EvaluationDto>($"v1/evaluations/{Uri.EscapeDataString(runId)}", cancellationToken);

    /// <summary>Returns an evaluation's report.</summary>
    public Task<EvaluationReportDto> GetEvaluationReportAsync(string runId, CancellationToken cancellationToken = default) =>
        GetAsync<EvaluationReportDto>($"v1/evaluations/{Uri.EscapeDataString(runId)}/report", cancellationToken);

    /// <summary>Reads a public leaderboard (no key needed).</summary>
    public Task<LeaderboardDto> GetPublicLeaderboardAsync(string tenantId, string boardId, CancellationToken cancellationToken = default) =>
        GetAsync<LeaderboardDto>($"v1/public/leaderboards/{Uri.EscapeDataString(tenantId)}/{Uri.EscapeDataString(boardId)}", cancellationToken);

    /// <summary>Creates a leaderboard.</summary>
    public Task<LeaderboardDto> CreateLeaderboardAsync(CreateLeaderboardBody body, CancellationToken cancellationToken = default) =>
        SendAsync<LeaderboardDto>(HttpMethod.Post, "v1/leaderboards", body, cancellationToken);

    /// <summary>Submits a model version to a leaderboard.</summary>
    public Task<SubmissionDto> SubmitToLeaderboardAsync(string boardId, SubmitToLeaderboardBody body, CancellationToken cancellationToken = default) =>
        SendAsync<SubmissionDto>(HttpMethod.Post, $"v1/leaderboards/{Uri.EscapeDataString(boardId)}/submissions", body, cancellationToken);

    /// <summary>Creates a tenant (platform admins).</summary>
    public Task<TenantDto> CreateTenantAsync(CreateTenantBody body, CancellationToken cancellationToken = default) =>
        SendAsync<TenantDto>(HttpMethod.Post, "v1/admin/tenants", body, cancellationToken);

    /// <summary>Issues a key in any tenant (platform admins).</summary>
    public Task<IssuedApiKeyDto> CreateTenantKeyAsync(string tenantId, CreateApiKeyBody body, CancellationToken cancellationToken = default) =>
        SendAsync<IssuedApiKeyDto>(HttpMethod.Post, $"v1/admin/tenants/{Uri.EscapeDataString(tenantId)}/keys", body, cancellationToken);

    /// <summary>Sets a tenant's quotas (platform admins).</summary>
    public Task<TenantDto> SetBudgetAsync(string tenantId, SetBudgetBody body, CancellationToken cancellationToken = default) =>
        SendAsync<TenantDto>(HttpMethod.Put, $"v1/admin/tenants/{Uri.EscapeDataString(tenantId)}/budget", body, cancellationToken);

    /// <summary>Lists the GPU silos (platform admins).</summary>
    public async Task<IReadOnlyList<SiloDto>> ListSilosAsync(CancellationToken cancellationToken = default) =>
        (await GetAsync<ListDto<SiloDto>>("v1/admin/silos", cancellationToken).ConfigureAwait(false)).Items;

    /// <summary>The scheduler queue (platform admins).</summary>
    public Task<QueueDto> GetQueueAsync(CancellationToken cancellationToken = default) => GetAsync<QueueDto>("v1/admin/queue", cancellationToken);

    private static GroundBody Ground(string model, byte[] image, string query, int? version, int? maxNewTokens) =>
        new(model, query, Convert.ToBase64String(image), version, maxNewTokens);

    private Task<T> GetAsync<T>(string path, CancellationToken cancellationToken) => SendAsync<T>(HttpMethod.Get, path, null, cancellationToken);

    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var request = Request(method, path, body);
        return await ReadAsync<T>(request, cancellationToken).ConfigureAwait(false);
    }

    private async Task<T> SendContentAsync<T>(HttpMethod method, string path, HttpContent content, CancellationToken cancellationToken)
    {
        using var request = Request(method, path, null);
        request.Content = content;
        return await ReadAsync<T>(request, cancellationToken).ConfigureAwait(false);
    }

    private async Task<T> ReadAsync<T>(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NoContent)
        {
            return default!;
        }

        return (await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken).ConfigureAwait(false))!;
    }

    private HttpRequestMessage Request(HttpMethod method, string path, object? body)
    {
        var request = new HttpRequestMessage(method, path);
        if (_apiKey is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _apiKey);
        }

        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: Json);
        }

        return request;
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        string? code = null, title = null, detail = null;
        try
        {
            using var doc = JsonDocument.Parse(text);
            code = doc.RootElement.TryGetProperty("code", out var c) ? c.GetString() : null;
            title = doc.RootElement.TryGetProperty("title", out var t) ? t.GetString() : null;
            detail = doc.RootElement.TryGetProperty("detail", out var d) ? d.GetString() : null;
        }
        catch (JsonException)
        {
        }

        throw new DeepPerceptionApiException(response.StatusCode, code, title ?? response.ReasonPhrase, detail,
            response.Headers.RetryAfter?.Delta, text);
    }
}
