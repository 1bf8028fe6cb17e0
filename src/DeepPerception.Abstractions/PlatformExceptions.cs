namespace DeepPerception.Abstractions;

/// <summary>Base type of the platform's typed errors; they cross grain calls with their type and code.</summary>
[GenerateSerializer, Alias("dp.PlatformException")]
public class PlatformException : Exception
{
    /// <summary>Creates the exception.</summary>
    public PlatformException(string code, string message)
        : base(message)
    {
        Code = code;
    }

    /// <summary>A stable machine-readable error code.</summary>
    [Id(0)]
    public string Code { get; init; }
}

/// <summary>The request is malformed or names an invalid value.</summary>
[GenerateSerializer, Alias("dp.InvalidRequestException")]
public sealed class InvalidRequestException(string message) : PlatformException("invalid_request", message);

/// <summary>A named resource (tenant, dataset, model, version, job) does not exist.</summary>
[GenerateSerializer, Alias("dp.ResourceNotFoundException")]
public sealed class ResourceNotFoundException(string message) : PlatformException("not_found", message);

/// <summary>The request conflicts with the resource's state (already exists, immutable, wrong state).</summary>
[GenerateSerializer, Alias("dp.ConflictException")]
public sealed class ConflictException(string message) : PlatformException("conflict", message);

/// <summary>A tenant quota (GPU-seconds budget, request rate) refuses the request.</summary>
[GenerateSerializer, Alias("dp.QuotaExceededException")]
public sealed class QuotaExceededException(string message) : PlatformException("quota_exceeded", message);

/// <summary>The caller may not touch the named resource (for example another tenant's artifact).</summary>
[GenerateSerializer, Alias("dp.AccessDeniedException")]
public sealed class AccessDeniedException(string message) : PlatformException("access_denied", message);

/// <summary>
/// A GPU silo's hardened decoding refused the request's image; <see cref="Reason"/> names the decoder's failure reason
/// (for example <c>Truncated</c>, <c>TooLarge</c>, <c>UnknownFormat</c>) so the API answers with the matching status.
/// </summary>
[GenerateSerializer, Alias("dp.ImageRefusedException")]
public sealed class ImageRefusedException(string reason, string message) : PlatformException("image_refused", message)
{
    /// <summary>The decoder's failure reason, by name.</summary>
    [Id(0)]
    public string Reason { get; init; } = reason;
}
