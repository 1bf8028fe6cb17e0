namespace DeepPerception.Api;

/// <summary>Base type of the API's own typed errors; each maps to one HTTP status.</summary>
public abstract class ApiException(int statusCode, string code, string message) : Exception(message)
{
    /// <summary>The HTTP status.</summary>
    public int StatusCode { get; } = statusCode;

    /// <summary>A stable machine-readable code.</summary>
    public string Code { get; } = code;

    /// <summary>Extra ProblemDetails members.</summary>
    public IDictionary<string, object?> Extensions { get; } = new Dictionary<string, object?>(StringComparer.Ordinal);
}

/// <summary>No API key, or an unknown, malformed or revoked one (401).</summary>
public sealed class UnauthenticatedException(string message) : ApiException(401, "unauthenticated", message);

/// <summary>The key is valid but its role may not do this within its own tenant (403).</summary>
public sealed class ForbiddenException(string message) : ApiException(403, "forbidden", message);

/// <summary>The request body is larger than the endpoint's limit (413).</summary>
public sealed class PayloadTooLargeException(string message) : ApiException(413, "payload_too_large", message);

/// <summary>The content type or the image format is not supported (415).</summary>
public sealed class UnsupportedMediaTypeException(string message) : ApiException(415, "unsupported_media_type", message);

/// <summary>The request is well formed but its content cannot be used (422).</summary>
public sealed class UnprocessableException(string message) : ApiException(422, "unprocessable", message);

/// <summary>The request rate of the tenant is exceeded (429 with Retry-After).</summary>
public sealed class RateLimitedException(string message, TimeSpan retryAfter) : ApiException(429, "rate_limited", message)
{
    /// <summary>When to retry.</summary>
    public TimeSpan RetryAfter { get; } = retryAfter;
}

/// <summary>The tenant's GPU-seconds budget is spent (429).</summary>
public sealed class BudgetExceededException(string message, double remainingGpuSeconds) : ApiException(429, "gpu_budget_exceeded", message)
{
    /// <summary>The GPU seconds left.</summary>
    public double RemainingGpuSeconds { get; } = remainingGpuSeconds;
}

/// <summary>No GPU silo can serve the request now (503).</summary>
public sealed class ServiceUnavailableException(string message) : ApiException(503, "unavailable", message);
