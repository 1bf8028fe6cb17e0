using DeepPerception.Data.Synthesis;

namespace DeepPerception.Data.Teacher;

/// <summary>The teacher endpoint answered, but not with a usable chat completion (malformed body, no text).</summary>
public sealed class TeacherProtocolException(string message, Exception? inner = null) : RationaleTeacherException(message, inner);

/// <summary>The teacher endpoint refused the request with a status that retrying cannot fix (400, 401, 403, 404, …).</summary>
public sealed class TeacherRequestException(int status, string message, Exception? inner = null) : RationaleTeacherException(message, inner)
{
    /// <summary>The HTTP status.</summary>
    public int Status { get; } = status;
}

/// <summary>Every attempt failed with a transient error (5xx, 408, 429, timeout, network).</summary>
public sealed class TeacherUnavailableException(int attempts, string message, Exception? inner = null) : RationaleTeacherException(message, inner)
{
    /// <summary>Attempts made.</summary>
    public int Attempts { get; } = attempts;
}
