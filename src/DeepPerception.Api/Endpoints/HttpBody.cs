using System.Text.Json;
using System.Text.Json.Serialization;
using DeepPerception.Abstractions;
using DeepPerception.Api.Identity;
using Microsoft.AspNetCore.Http;

namespace DeepPerception.Api.Endpoints;

/// <summary>Request helpers: the caller, and JSON bodies read under a size limit with precise errors.</summary>
public static class HttpBody
{
    /// <summary>The API's JSON settings (camelCase, strict numbers).</summary>
    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = JsonNumberHandling.Strict,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
        MaxDepth = 32,
    };

    /// <summary>The authenticated caller of an API endpoint.</summary>
    public static PlatformPrincipal Caller(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Items[ApiMiddleware.PrincipalItem] as PlatformPrincipal
               ?? throw new UnauthenticatedException("An API key is required.");
    }

    /// <summary>Throws <see cref="PayloadTooLargeException"/> when the declared body length exceeds <paramref name="limit"/>.</summary>
    public static void CheckLength(HttpRequest request, long limit)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.ContentLength is { } length && length > limit)
        {
            throw new PayloadTooLargeException($"The request body has {length} bytes; this endpoint accepts at most {limit}.");
        }
    }

    /// <summary>Reads a JSON body of at most <paramref name="limit"/> bytes.</summary>
    public static async Task<T> ReadJsonAsync<T>(HttpRequest request, long limit)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!request.HasJsonContentType())
        {
            throw new UnsupportedMediaTypeException($"The body must be application/json (got '{request.ContentType ?? "none"}').");
        }

        CheckLength(request, limit);
        var bytes = await ReadLimitedAsync(request.Body, limit, request.HttpContext.RequestAborted).ConfigureAwait(false);
        if (bytes.Length == 0)
        {
            throw new InvalidRequestException("The request body is empty; a JSON object is expected.");
        }

        try
        {
            return JsonSerializer.Deserialize<T>(bytes, Json) ?? throw new InvalidRequestException("The request body is JSON null; a JSON object is expected.");
        }
        catch (JsonException ex)
        {
            var where = ex.Path is { Length: > 1 } path ? $" at {path}" : string.Empty;
            throw new InvalidRequestException($"The request body is not valid JSON for this endpoint{where}: {FirstSentence(ex.Message)}");
        }
    }

    /// <summary>Reads a stream to its end, refusing more than <paramref name="limit"/> bytes.</summary>
    public static async Task<byte[]> ReadLimitedAsync(Stream body, long limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                throw new PayloadTooLargeException($"The request body exceeds {limit} bytes.");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }
}
