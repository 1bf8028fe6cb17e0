using System.Globalization;
using System.Text.Json;
using DeepPerception.Abstractions;
using DeepPerception.Api.Services;
using DeepPerception.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;

namespace DeepPerception.Api.Endpoints;

/// <summary>The <c>/v1</c> endpoints: thin adapters from HTTP to the application services.</summary>
internal static class ApiEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1").WithMetadata(ApiEndpoint.Instance);
        MapIdentity(v1);
        MapGround(v1);
        MapDatasets(v1);
        MapFineTunes(v1);
        MapModels(v1);
        MapEvaluations(v1);
        MapLeaderboards(v1);
        MapAdmin(v1);
    }

    private static long Limit(HttpContext context, long limit)
    {
        var feature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (feature is { IsReadOnly: false })
        {
            feature.MaxRequestBodySize = limit;
        }

        HttpBody.CheckLength(context.Request, limit);
        return limit;
    }

    private static Task<T> Body<T>(HttpContext context, DeepPerceptionApiOptions options)
        where T : class => HttpBody.ReadJsonAsync<T>(context.Request, Limit(context, Math.Min(options.MaxJsonBytes, 1024 * 1024)));

    private static void MapIdentity(RouteGroupBuilder v1)
    {
        var g = v1.MapGroup("").WithTags("Identity");
        g.MapGet("/whoami", (HttpContext c) => TenantService.WhoAmI(c.Caller())).WithSummary("The tenant and role of the presented key.");
        g.MapGet("/tenant", (HttpContext c, TenantService s) => s.GetAsync(c.Caller())).WithSummary("The caller's tenant with its quotas.");
        g.MapGet("/tenant/members", async (HttpContext c, TenantService s) => new ListDto<MemberDto>(await s.ListMembersAsync(c.Caller())));
        g.MapPut("/tenant/members/{userId}", async (string userId, HttpContext c, TenantService s, DeepPerceptionApiOptions o) =>
            await s.SetMemberAsync(c.Caller(), userId, await Body<SetMemberBody>(c, o))).Accepts<SetMemberBody>("application/json");
        g.MapDelete("/tenant/members/{userId}", async (string userId, HttpContext c, TenantService s) =>
        {
            await s.RemoveMemberAsync(c.Caller(), userId);
            return Results.NoContent();
        });
        g.MapGet("/tenant/keys", async (HttpContext c, TenantService s) => new ListDto<ApiKeyDto>(await s.ListKeysAsync(c.Caller())));
        g.MapPost("/tenant/keys", async (HttpContext c, TenantService s, DeepPerceptionApiOptions o) =>
            Results.Created((string?)null, await s.CreateKeyAsync(c.Caller(), await Body<CreateApiKeyBody>(c, o))))
            .Accepts<CreateApiKeyBody>("application/json").Produces<IssuedApiKeyDto>(201).WithSummary("Issues a key; the secret is shown once.");
        g.MapDelete("/tenant/keys/{keyId}", async (string keyId, HttpContext c, TenantService s) =>
        {
            await s.RevokeKeyAsync(c.Caller(), keyId);
            return Results.NoContent();
        });
    }

    private static void MapGround(RouteGroupBuilder v1)
    {
        var g = v1.MapGroup("/ground").WithTags("Ground");
        g.MapPost("", async (HttpContext c, GroundingService s, DeepPerceptionApiOptions o) =>
                await s.GroundAsync(c.Caller(), await ReadGroundAsync(c, o), c.RequestAborted))
            .Accepts<GroundBody>("application/json", "multipart/form-data").Produces<GroundResultDto>()
            .WithSummary("Grounds an entity or question in an image: box in original pixels and on the model grid, reasoning, parse status, timings.");
        g.MapPost("/stream", async (HttpContext c, GroundingService s, DeepPerceptionApiOptions o) =>
            {
                var request = await ReadGroundAsync(c, o);
                await using var events = s.StreamAsync(c.Caller(), request, c.RequestAborted).GetAsyncEnumerator(c.RequestAborted);
                var has = await events.MoveNextAsync();
                c.Response.ContentType = "text/event-stream";
                c.Response.Headers.CacheControl = "no-cache";
                while (has)
                {
                    var e = events.Current;
                    var data = e.Kind == "final" ? JsonSerializer.Serialize(e.Final, HttpBody.Json) : JsonSerializer.Serialize(new { text = e.Text }, HttpBody.Json);
                    await c.Response.WriteAsync($"event: {e.Kind}\ndata: {data}\n\n", c.RequestAborted);
                    await c.Response.Body.FlushAsync(c.RequestAborted);
                    try
                    {
                        has = await events.MoveNextAsync();
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        // The stream has started: the failure becomes a last 'error' event carrying the ProblemDetails.
                        var problem = ApiMiddleware.ToProblem(ex, out _);
                        await c.Response.WriteAsync($"event: error\ndata: {JsonSerializer.Serialize(problem, HttpBody.Json)}\n\n", c.RequestAborted);
                        return;
                    }
                }
            })
            .Accepts<GroundBody>("application/json", "multipart/form-data").Produces(200, contentType: "text/event-stream")
            .WithSummary("Server-sent events: 'token' events with reasoning text, then one 'final' event with the answer (or an 'error' event).");
    }

    private static async Task<GroundRequest> ReadGroundAsync(HttpContext c, DeepPerceptionApiOptions o)
    {
        var limit = Limit(c, o.MaxJsonBytes);
        if (c.Request.HasFormContentType)
        {
            var form = await c.Request.ReadFormAsync(new FormOptions { MultipartBodyLengthLimit = limit, ValueCountLimit = 64 }, c.RequestAborted);
            var file = form.Files.GetFile("image") ?? throw new InvalidRequestException("The multipart request needs a file part named 'image'.");
            if (file.Length > o.MaxImageBytes)
            {
                throw new PayloadTooLargeException($"The image has {file.Length} bytes; at most {o.MaxImageBytes} are accepted.");
            }

            await using var stream = file.OpenReadStream();
            var image = await HttpBody.ReadLimitedAsync(stream, o.MaxImageBytes, c.RequestAborted);
            string? Field(string name) => form.TryGetValue(name, out var v) && v.Count > 0 ? v[0] : null;
            return new GroundRequest(Field("model") ?? throw new InvalidRequestException("The multipart field 'model' is missing."),
                OptionalInt(Field("version"), "version"), image, Field("query") ?? throw new InvalidRequestException("The multipart field 'query' is missing."),
                GroundingService.Settings(OptionalInt(Field("maxNewTokens"), "maxNewTokens"), OptionalDouble(Field("temperature"), "temperature"),
                    OptionalDouble(Field("topP"), "topP"), OptionalInt(Field("topK"), "topK"), OptionalLong(Field("seed"), "seed"), Field("prompt")));
        }

        var body = await HttpBody.ReadJsonAsync<GroundBody>(c.Request, limit);
        if (string.IsNullOrEmpty(body.ImageBase64))
        {
            throw new InvalidRequestException("imageBase64 is missing (or send multipart/form-data with a file part 'image').");
        }

        byte[] bytes;
        try
        {
            var text = body.ImageBase64;
            var comma = text.StartsWith("data:", StringComparison.Ordinal) ? text.IndexOf(',', StringComparison.Ordinal) : -1;
            bytes = Convert.FromBase64String(comma >= 0 ? text[(comma + 1)..] : text);
        }
        catch (FormatException)
        {
            throw new InvalidRequestException("imageBase64 is not valid base64.");
        }

        return new GroundRequest(body.Model ?? throw new InvalidRequestException("model is missing."), body.Version, bytes,
            body.Query ?? throw new InvalidRequestException("query is missing."),
            GroundingService.Settings(body.MaxNewTokens, body.Temperature, body.TopP, body.TopK, body.Seed, body.Prompt));
    }

    private static void MapDatasets(RouteGroupBuilder v1)
    {
        var g = v1.MapGroup("/datasets").WithTags("Datasets");
        g.MapGet("", async (HttpContext c, DatasetService s) => new ListDto<DatasetDto>(await s.ListAsync(c.Caller(), c.RequestAborted)));
        g.MapPost("", async (HttpContext c, DatasetService s, DeepPerceptionApiOptions o) =>
                Results.Created((string?)null, await s.CreateAsync(c.Caller(), await Body<CreateDatasetBody>(c, o), c.RequestAborted)))
            .Accepts<CreateDatasetBody>("application/json").Produces<DatasetDto>(201);
        g.MapGet("/{datasetId}", (string datasetId, HttpContext c, DatasetService s) => s.GetAsync(c.Caller(), datasetId));
        g.MapGet("/{datasetId}/versions", async (string datasetId, HttpContext c, DatasetService s) =>
            new ListDto<DatasetVersionDto>((await s.GetAsync(c.Caller(), datasetId)).Versions));
        g.MapPost("/{datasetId}/versions", async (string datasetId, HttpContext c, DatasetService s, DeepPerceptionApiOptions o) =>
            {
                var limit = Limit(c, o.MaxUploadBytes);
                var files = new List<UploadFile>();
                string? format = c.Request.Query["format"], description = c.Request.Query["description"], strict = c.Request.Query["strict"];
                if (c.Request.HasFormContentType)
                {
                    var form = await c.Request.ReadFormAsync(new FormOptions { MultipartBodyLengthLimit = limit, ValueCountLimit = 64 }, c.RequestAborted);
                    files.AddRange(form.Files.Select(f => new UploadFile(f.FileName, f.OpenReadStream)));
                    format = form.TryGetValue("format", out var fv) ? fv.ToString() : format;
                    description = form.TryGetValue("description", out var dv) ? dv.ToString() : description;
                    strict = form.TryGetValue("strict", out var sv) ? sv.ToString() : strict;
                }
                else if (c.Request.ContentType is { } type && (type.StartsWith("application/zip", StringComparison.OrdinalIgnoreCase)
                                                               || type.StartsWith("application/octet-stream", StringComparison.OrdinalIgnoreCase)))
                {
                    var path = Path.Combine(o.ScratchDirectory ?? Path.GetTempPath(), $"dp-body-{Guid.NewGuid():N}.zip");
                    await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read, 81920,
                        FileOptions.DeleteOnClose | FileOptions.Asynchronous);
                    var buffer = new byte[81920];
                    long total = 0;
                    int read;
                    while ((read = await c.Request.Body.ReadAsync(buffer, c.RequestAborted)) > 0)
                    {
                        total += read;
                        if (total > limit)
                        {
                            throw new PayloadTooLargeException($"The upload exceeds {limit} bytes.");
                        }

                        await file.WriteAsync(buffer.AsMemory(0, read), c.RequestAborted);
                    }

                    await file.FlushAsync(c.RequestAborted);
                    files.Add(new UploadFile("upload.zip", () => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete)));
                    var result = await s.UploadAsync(c.Caller(), datasetId, files, format, description, ParseBool(strict, "strict"), c.RequestAborted);
                    return Results.Created((string?)null, result);
                }
                else
                {
                    throw new UnsupportedMediaTypeException(
                        $"Upload a dataset as multipart/form-data (a zip or the files) or as application/zip (got '{c.Request.ContentType ?? "none"}').");
                }

                return Results.Created((string?)null,
                    await s.UploadAsync(c.Caller(), datasetId, files, format, description, ParseBool(strict, "strict"), c.RequestAborted));
            })
            .Accepts<object>("multipart/form-data", "application/zip").Produces<DatasetUploadResult>(201)
            .WithSummary("Uploads a version (zip or files; format auto, platform, coco, refcoco, odvg or sharegpt); lists every rejected record and why.");
        g.MapGet("/{datasetId}/versions/{version:int}", (string datasetId, int version, HttpContext c, DatasetService s) =>
            s.GetVersionAsync(c.Caller(), datasetId, version));
        g.MapGet("/{datasetId}/versions/{version:int}/report", async (string datasetId, int version, HttpContext c, DatasetService s) =>
            (await s.GetVersionAsync(c.Caller(), datasetId, version)).Validation
            ?? throw new ResourceNotFoundException($"Version {version} has no validation report."));
        g.MapDelete("/{datasetId}/versions/{version:int}", async (string datasetId, int version, HttpContext c, DatasetService s) =>
        {
            await s.DeleteVersionAsync(c.Caller(), datasetId, version);
            return Results.NoContent();
        });
        g.MapGet("/{datasetId}/knowledge", async (string datasetId, HttpContext c, DatasetService s) =>
            new ListDto<KnowledgeEntryDto>(await s.GetKnowledgeAsync(c.Caller(), datasetId)));
        g.MapPut("/{datasetId}/knowledge/{entityId}", async (string datasetId, string entityId, HttpContext c, DatasetService s, DeepPerceptionApiOptions o) =>
            await s.PutKnowledgeAsync(c.Caller(), datasetId, entityId, await Body<KnowledgeEntryDto>(c, o))).Accepts<KnowledgeEntryDto>("application/json");
        g.MapDelete("/{datasetId}/knowledge/{entityId}", async (string datasetId, string entityId, HttpContext c, DatasetService s) =>
        {
            await s.RemoveKnowledgeAsync(c.Caller(), datasetId, entityId);
            return Results.NoContent();
        });
    }

    private static void MapFineTunes(RouteGroupBuilder v1)
    {
        var g = v1.MapGroup("/fine-tunes").WithTags("Fine-tuning");
        g.MapGet("", async (HttpContext c, TrainingService s) => new ListDto<FineTuneJobDto>(await s.ListAsync(c.Caller(), c.RequestAborted)));
        g.MapPost("", async (HttpContext c, TrainingService s, DeepPerceptionApiOptions o) =>
                Results.Created((string?)null, await s.CreateAsync(c.Caller(), await Body<CreateFineTuneBody>(c, o), c.RequestAborted)))
            .Accepts<CreateFineTuneBody>("application/json").Produces<FineTuneJobDto>(201)
            .WithSummary("Starts a fine-tune (recipe defaults from the paper: SFT lr 5e-6, GRPO lr 1e-6, batch 16, G=4, β=0.04, T=1, 512 tokens).");
        g.MapGet("/{jobId}", (string jobId, HttpContext c, TrainingService s) => s.GetAsync(c.Caller(), jobId));
        g.MapGet("/{jobId}/metrics", (string jobId, HttpContext c, TrainingService s) => s.GetMetricsAsync(c.Caller(), jobId));
        g.MapGet("/{jobId}/rollouts", (string jobId, int? steps, HttpContext c, TrainingService s) =>
                s.GetRolloutsAsync(c.Caller(), jobId, steps ?? TrainingService.DefaultRolloutSteps, c.RequestAborted))
            .WithSummary("GRPO progress snapshots and the rollouts (completion, rewards, predicted and true box) of the newest steps.");
        g.MapGet("/{jobId}/rollouts/images/{promptId}", async (string jobId, string promptId, HttpContext c, TrainingService s) =>
                Results.File(await s.GetRolloutImageAsync(c.Caller(), jobId, promptId, c.RequestAborted), "image/png"))
            .Produces(200, contentType: "image/png");
        g.MapPost("/{jobId}/cancel", async (string jobId, HttpContext c, TrainingService s, DeepPerceptionApiOptions o) =>
        {
            var reason = c.Request.ContentLength is > 0 ? (await Body<CancelBody>(c, o)).Reason : null;
            return await s.CancelAsync(c.Caller(), jobId, reason);
        });
        g.MapPost("/{jobId}/resume", (string jobId, HttpContext c, TrainingService s) => s.ResumeAsync(c.Caller(), jobId));
    }

    private static void MapModels(RouteGroupBuilder v1)
    {
        var g = v1.MapGroup("/models").WithTags("Models");
        g.MapGet("", async (HttpContext c, ModelService s) => new ListDto<ModelDto>(await s.ListAsync(c.Caller(), c.RequestAborted)));
        g.MapPost("", async (HttpContext c, ModelService s, DeepPerceptionApiOptions o) =>
            Results.Created((string?)null, await s.CreateAsync(c.Caller(), await Body<CreateModelBody>(c, o), c.RequestAborted)))
            .Accepts<CreateModelBody>("application/json").Produces<ModelDto>(201);
        g.MapGet("/{modelId}", (string modelId, HttpContext c, ModelService s) => s.GetAsync(c.Caller(), modelId));
        g.MapGet("/{modelId}/versions", async (string modelId, HttpContext c, ModelService s) =>
            new ListDto<ModelVersionDto>((await s.GetAsync(c.Caller(), modelId)).Versions));
        g.MapGet("/{modelId}/versions/{version:int}", (string modelId, int version, HttpContext c, ModelService s) =>
            s.GetVersionAsync(c.Caller(), modelId, version));
        g.MapGet("/{modelId}/versions/{version:int}/lineage", (string modelId, int version, HttpContext c, ModelService s) =>
            s.GetLineageAsync(c.Caller(), modelId, version));
        g.MapPost("/{modelId}/promote", async (string modelId, HttpContext c, ModelService s, DeepPerceptionApiOptions o) =>
            await s.PromoteAsync(c.Caller(), modelId, (await Body<PromoteBody>(c, o)).Version)).Accepts<PromoteBody>("application/json");
        g.MapGet("/{modelId}/export", async (string modelId, HttpContext c, ModelService s) =>
            {
                var export = await s.ExportAsync(c.Caller(), modelId, OptionalInt(c.Request.Query["version"], "version"), c.RequestAborted);
                return Results.File(export.Content, "application/zip", export.FileName);
            })
            .Produces(200, contentType: "application/zip").WithSummary("The version's Hugging Face folder as a zip (?version=N; the base checkpoint without).");
    }

    private static void MapEvaluations(RouteGroupBuilder v1)
    {
        var g = v1.MapGroup("/evaluations").WithTags("Evaluations");
        g.MapGet("", async (HttpContext c, EvaluationService s) => new ListDto<EvaluationDto>(await s.ListAsync(c.Caller(), c.RequestAborted)));
        g.MapPost("", async (HttpContext c, EvaluationService s, DeepPerceptionApiOptions o) =>
                Results.Created((string?)null, await s.CreateAsync(c.Caller(), await Body<CreateEvaluationBody>(c, o), c.RequestAborted)))
            .Accepts<CreateEvaluationBody>("application/json").Produces<EvaluationDto>(201);
        g.MapGet("/{runId}", (string runId, HttpContext c, EvaluationService s) => s.GetAsync(c.Caller(), runId));
        g.MapGet("/{runId}/report", (string runId, HttpContext c, EvaluationService s) => s.GetReportAsync(c.Caller(), runId, c.RequestAborted));
        g.MapPost("/{runId}/cancel", (string runId, HttpContext c, EvaluationService s) => s.CancelAsync(c.Caller(), runId));
        var b = v1.MapGroup("/benchmarks").WithTags("Evaluations");
        b.MapGet("", async (HttpContext c, EvaluationService s) => new ListDto<BenchmarkDto>(await s.ListBenchmarksAsync(c.Caller(), c.RequestAborted)));
        b.MapGet("/{benchmarkId}", (string benchmarkId, HttpContext c, EvaluationService s) => s.GetBenchmarkAsync(c.Caller(), benchmarkId, c.RequestAborted));
        b.MapPut("/{benchmarkId}", async (string benchmarkId, HttpContext c, EvaluationService s, DeepPerceptionApiOptions o) =>
            {
                var limit = Limit(c, o.MaxUploadBytes);
                Stream content;
                if (c.Request.HasFormContentType)
                {
                    var form = await c.Request.ReadFormAsync(new FormOptions { MultipartBodyLengthLimit = limit }, c.RequestAborted);
                    content = (form.Files.GetFile("file") ?? form.Files.FirstOrDefault()
                               ?? throw new InvalidRequestException("The multipart request has no file part.")).OpenReadStream();
                }
                else
                {
                    content = new MemoryStream(await HttpBody.ReadLimitedAsync(c.Request.Body, limit, c.RequestAborted));
                }

                await using (content)
                {
                    return Results.Created((string?)null, await s.UploadBenchmarkAsync(c.Caller(), benchmarkId, content, c.RequestAborted));
                }
            })
            .Accepts<object>("application/vnd.apache.parquet", "multipart/form-data").Produces<BenchmarkDto>(201)
            .WithSummary("Uploads a KVG-Bench parquet (question_id, category, question, answer, image).");
    }

    private static void MapLeaderboards(RouteGroupBuilder v1)
    {
        var g = v1.MapGroup("/leaderboards").WithTags("Leaderboards");
        g.MapGet("", async (HttpContext c, LeaderboardService s) => new ListDto<LeaderboardDto>(await s.ListAsync(c.Caller(), c.RequestAborted)));
        g.MapPost("", async (HttpContext c, LeaderboardService s, DeepPerceptionApiOptions o) =>
                Results.Created((string?)null, await s.CreateAsync(c.Caller(), await Body<CreateLeaderboardBody>(c, o), c.RequestAborted)))
            .Accepts<CreateLeaderboardBody>("application/json").Produces<LeaderboardDto>(201);
        g.MapPost("/{boardId}/submissions", async (string boardId, HttpContext c, LeaderboardService s, DeepPerceptionApiOptions o) =>
                Results.Created((string?)null, await s.SubmitAsync(c.Caller(), boardId, await Body<SubmitToLeaderboardBody>(c, o), c.RequestAborted)))
            .Accepts<SubmitToLeaderboardBody>("application/json").Produces<SubmissionDto>(201);
        g.MapGet("/{boardId}/submissions/{runId}", (string boardId, string runId, HttpContext c, LeaderboardService s) =>
            s.GetSubmissionAsync(c.Caller(), boardId, runId, c.RequestAborted));
        v1.MapGet("/public/leaderboards/{tenantId}/{boardId}", (string tenantId, string boardId, HttpContext c, LeaderboardService s) =>
                s.GetPublicAsync(tenantId, boardId, c.RequestAborted))
            .WithMetadata(PublicApiEndpoint.Instance).WithTags("Leaderboards").WithSummary("Public read of a leaderboard (no key needed).");
    }

    private static void MapAdmin(RouteGroupBuilder v1)
    {
        var g = v1.MapGroup("/admin").WithTags("Admin");
        g.MapGet("/tenants", async (HttpContext c, AdminService s) => new ListDto<TenantDto>(await s.ListTenantsAsync(c.Caller(), c.RequestAborted)));
        g.MapPost("/tenants", async (HttpContext c, AdminService s, DeepPerceptionApiOptions o) =>
                Results.Created((string?)null, await s.CreateTenantAsync(c.Caller(), await Body<CreateTenantBody>(c, o), c.RequestAborted)))
            .Accepts<CreateTenantBody>("application/json").Produces<TenantDto>(201);
        g.MapGet("/tenants/{tenantId}", (string tenantId, HttpContext c, AdminService s) => s.GetTenantAsync(c.Caller(), tenantId));
        g.MapPut("/tenants/{tenantId}/budget", async (string tenantId, HttpContext c, AdminService s, DeepPerceptionApiOptions o) =>
            await s.SetBudgetAsync(c.Caller(), tenantId, await Body<SetBudgetBody>(c, o))).Accepts<SetBudgetBody>("application/json");
        g.MapPost("/tenants/{tenantId}/keys", async (string tenantId, HttpContext c, AdminService s, DeepPerceptionApiOptions o) =>
                Results.Created((string?)null, await s.CreateTenantKeyAsync(c.Caller(), tenantId, await Body<CreateApiKeyBody>(c, o))))
            .Accepts<CreateApiKeyBody>("application/json").Produces<IssuedApiKeyDto>(201);
        g.MapGet("/silos", async (HttpContext c, AdminService s) => new ListDto<SiloDto>(await s.ListSilosAsync(c.Caller())));
        g.MapPost("/silos/{siloId}/cordon", (string siloId, HttpContext c, AdminService s) => s.SetCordonedAsync(c.Caller(), siloId, true));
        g.MapPost("/silos/{siloId}/uncordon", (string siloId, HttpContext c, AdminService s) => s.SetCordonedAsync(c.Caller(), siloId, false));
        g.MapPost("/silos/{siloId}/drain", (string siloId, HttpContext c, AdminService s) => s.SetDrainingAsync(c.Caller(), siloId, true));
        g.MapPost("/silos/{siloId}/undrain", (string siloId, HttpContext c, AdminService s) => s.SetDrainingAsync(c.Caller(), siloId, false));
        g.MapGet("/queue", (HttpContext c, AdminService s) => s.GetQueueAsync(c.Caller()));
    }

    private static bool ParseBool(string? value, string name) => value switch
    {
        null or "" or "false" or "0" => false,
        "true" or "1" => true,
        _ => throw new InvalidRequestException($"{name} must be true or false (got '{value}')."),
    };

    private static int? OptionalInt(string? value, string name) => string.IsNullOrEmpty(value) ? null
        : int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i
        : throw new InvalidRequestException($"{name} must be an integer (got '{value}').");

    private static long? OptionalLong(string? value, string name) => string.IsNullOrEmpty(value) ? null
        : long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i
        : throw new InvalidRequestException($"{name} must be an integer (got '{value}').");

    private static double? OptionalDouble(string? value, string name) => string.IsNullOrEmpty(value) ? null
        : double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) ? d
        : throw new InvalidRequestException($"{name} must be a finite number (got '{value}').");
}
