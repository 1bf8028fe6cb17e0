using System.Globalization;
using System.Text.Json;
using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Tenancy;
using DeepPerception.Api.Identity;
using DeepPerception.ML.Preprocessing.Images;
using DeepPerception.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DeepPerception.Api;

/// <summary>Marks an endpoint as part of the HTTP API (authenticated unless <see cref="PublicApiEndpoint"/> is present too).</summary>
public sealed class ApiEndpoint
{
    /// <summary>The shared instance.</summary>
    public static ApiEndpoint Instance { get; } = new();
}

/// <summary>Marks an API endpoint that needs no key (leaderboard reads).</summary>
public sealed class PublicApiEndpoint
{
    /// <summary>The shared instance.</summary>
    public static PublicApiEndpoint Instance { get; } = new();
}

/// <summary>
/// Runs around every API endpoint: authenticates the API key, applies the key's request rate (the tenant's quota per key; 429 with
/// <c>Retry-After</c>), and turns typed errors into ProblemDetails (<c>application/problem+json</c>). A foreign
/// tenant's resource is indistinguishable from a missing one (404).
/// </summary>
public sealed class ApiMiddleware(RequestDelegate next, ILogger<ApiMiddleware> logger)
{
    /// <summary>The <see cref="HttpContext.Items"/> key of the authenticated principal.</summary>
    public const string PrincipalItem = "dp.principal";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Handles a request.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var endpoint = context.GetEndpoint();
        if (endpoint?.Metadata.GetMetadata<ApiEndpoint>() is null)
        {
            await next(context).ConfigureAwait(false);
            if (context.Request.Path.StartsWithSegments("/v1") && context.Response.StatusCode >= 400 && !context.Response.HasStarted
                && context.Response.ContentLength is null && context.Response.ContentType is null)
            {
                // Routing's own answers under /v1 (404 no route, 405 method, 415 content type) also as ProblemDetails.
                await WriteStatusProblemAsync(context).ConfigureAwait(false);
            }

            return;
        }

        try
        {
            if (endpoint.Metadata.GetMetadata<PublicApiEndpoint>() is null)
            {
                var authenticator = context.RequestServices.GetRequiredService<ApiKeyAuthenticator>();
                var secret = ApiKeyAuthenticator.ReadPresentedKey(context.Request)
                             ?? throw new UnauthenticatedException("An API key is required: 'Authorization: Bearer dpk_…' or 'X-Api-Key: dpk_…'.");
                var (principal, decision) = await authenticator.AdmitAsync(secret).ConfigureAwait(false);
                if (!decision.Allowed)
                {
                    throw new RateLimitedException("This API key's request rate is exceeded; retry later.", decision.RetryAfter);
                }

                context.Items[PrincipalItem] = principal;
            }

            await next(context).ConfigureAwait(false);
        }
        catch (Exception ex) when (!context.Response.HasStarted && ex is not OperationCanceledException)
        {
            await WriteProblemAsync(context, ex).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
    }

    private static (int Status, string Code, string Detail) ImageProblem(ImageDecodeFailureReason reason, string message) => reason switch
    {
        ImageDecodeFailureReason.TooLarge or ImageDecodeFailureReason.TooManyFrames => (413, "image_too_large", "The image is too large: " + message),
        ImageDecodeFailureReason.UnknownFormat or ImageDecodeFailureReason.Unsupported => (415, "unsupported_image", "The image format is not supported: " + message),
        _ => (422, "undecodable_image", "The image cannot be decoded: " + message),
    };

    /// <summary>Maps an exception to a ProblemDetails (status, title, detail, code).</summary>
    public static ProblemDetails ToProblem(Exception exception, out TimeSpan? retryAfter)
    {
        ArgumentNullException.ThrowIfNull(exception);
        retryAfter = null;
        var (status, code, detail) = exception switch
        {
            ApiException a => (a.StatusCode, a.Code, a.Message),
            ResourceNotFoundException e => (404, e.Code, e.Message),
            AccessDeniedException => (404, "not_found", "The resource does not exist."),
            InvalidRequestException e => (400, e.Code, e.Message),
            ConflictException e => (409, e.Code, e.Message),
            QuotaExceededException e => (429, "gpu_budget_exceeded", e.Message),
            ImageRefusedException e => ImageProblem(Enum.TryParse<ImageDecodeFailureReason>(e.Reason, out var reason) ? reason : ImageDecodeFailureReason.Corrupt,
                e.Message),
            PlatformException e => (400, e.Code, e.Message),
            ImageDecodeException e => ImageProblem(e.Reason, e.Message),
            BadHttpRequestException e => (e.StatusCode, "bad_request", e.Message),
            InvalidDataException e when e.Message.Contains("limit", StringComparison.OrdinalIgnoreCase) => (413, "payload_too_large", e.Message),
            InvalidDataException e => (400, "bad_request", e.Message),
            InvalidArtifactKeyException e => (400, "invalid_request", e.Message),
            ArtifactNotFoundException => (404, "not_found", "The resource does not exist."),
            _ => (500, "internal_error", "An unexpected error occurred; it has been logged."),
        };
        if (exception is RateLimitedException r)
        {
            retryAfter = r.RetryAfter;
        }
        else if (status == 429)
        {
            retryAfter = TimeSpan.FromSeconds(60);
        }

        var problem = new ProblemDetails
        {
            Status = status,
            Title = Title(status),
            Detail = detail,
            Type = $"https://httpstatuses.io/{status}",
        };
        problem.Extensions["code"] = code;
        if (exception is ApiException api)
        {
            foreach (var (key, value) in api.Extensions)
            {
                problem.Extensions[key] = value;
            }
        }

        if (exception is BudgetExceededException b)
        {
            problem.Extensions["remainingGpuSeconds"] = b.RemainingGpuSeconds;
        }

        return problem;
    }

    private async Task WriteProblemAsync(HttpContext context, Exception exception)
    {
        var problem = ToProblem(exception, out var retryAfter);
        if (problem.Status == 500)
        {
            logger.LogError(exception, "Unhandled error on {Method} {Path}", context.Request.Method, context.Request.Path);
        }

        problem.Instance = context.Request.Path;
        context.Response.Clear();
        context.Response.StatusCode = problem.Status ?? 500;
        if (retryAfter is { } wait)
        {
            context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        if (problem.Status == 401)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
        }

        context.Response.ContentType = "application/problem+json";
        await JsonSerializer.SerializeAsync(context.Response.Body, problem, Json, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task WriteStatusProblemAsync(HttpContext context)
    {
        var status = context.Response.StatusCode;
        var problem = new ProblemDetails
        {
            Status = status,
            Title = Title(status),
            Detail = status switch
            {
                404 => "No API endpoint has this path.",
                405 => $"The endpoint does not accept {context.Request.Method}.",
                415 => $"The endpoint does not accept the content type '{context.Request.ContentType ?? "none"}'.",
                _ => Title(status),
            },
            Type = $"https://httpstatuses.io/{status}",
            Instance = context.Request.Path,
        };
        problem.Extensions["code"] = status switch { 404 => "not_found", 405 => "method_not_allowed", 415 => "unsupported_media_type", _ => "error" };
        context.Response.ContentType = "application/problem+json";
        await JsonSerializer.SerializeAsync(context.Response.Body, problem, Json, context.RequestAborted).ConfigureAwait(false);
    }

    private static string Title(int status) => status switch
    {
        400 => "Bad request",
        401 => "Unauthenticated",
        403 => "Forbidden",
        404 => "Not found",
        409 => "Conflict",
        405 => "Method not allowed",
        413 => "Payload too large",
        415 => "Unsupported media type",
        422 => "Unprocessable content",
        429 => "Too many requests",
        503 => "Service unavailable",
        _ => "Internal server error",
    };
}
