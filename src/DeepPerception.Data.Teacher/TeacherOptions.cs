namespace DeepPerception.Data.Teacher;

/// <summary>How to reach an OpenAI-compatible teacher model and how patiently to call it.</summary>
public sealed record TeacherOptions
{
    /// <summary>The API base address, up to and including the version segment (e.g. <c>http://host:8000/v1</c>).</summary>
    public required Uri Endpoint { get; init; }

    /// <summary>The model name sent with every request (e.g. <c>Qwen2-VL-72B-Instruct</c>).</summary>
    public required string Model { get; init; }

    /// <summary>The API key (sent as a bearer token); null for servers without authentication.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Time allowed for one attempt; a slower attempt is abandoned and retried.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Retries after the first attempt, on 5xx, 408, 429, timeouts and network errors.</summary>
    public int MaxRetries { get; init; } = 3;

    /// <summary>Wait before the first retry; each further retry waits twice as long, up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between two attempts.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Requests in flight at once.</summary>
    public int MaxConcurrency { get; init; } = 4;

    /// <summary>Sampling temperature sent to the teacher (null: the server's default).</summary>
    public float? Temperature { get; init; } = 0.2f;

    /// <summary>Most tokens of one rationale.</summary>
    public int MaxOutputTokens { get; init; } = 1024;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Endpoint);
        if (!Endpoint.IsAbsoluteUri || (Endpoint.Scheme != Uri.UriSchemeHttp && Endpoint.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"The teacher endpoint '{Endpoint}' must be an absolute http or https address.");
        }

        if (string.IsNullOrWhiteSpace(Model))
        {
            throw new ArgumentException("The teacher model name must not be empty.");
        }

        if (RequestTimeout <= TimeSpan.Zero || InitialBackoff < TimeSpan.Zero || MaxBackoff < InitialBackoff)
        {
            throw new ArgumentException($"Invalid timing: RequestTimeout {RequestTimeout}, InitialBackoff {InitialBackoff}, MaxBackoff {MaxBackoff}.");
        }

        if (MaxRetries < 0 || MaxConcurrency < 1 || MaxOutputTokens < 1)
        {
            throw new ArgumentException($"Invalid limits: MaxRetries {MaxRetries} (≥ 0), MaxConcurrency {MaxConcurrency} (≥ 1), MaxOutputTokens {MaxOutputTokens} (≥ 1).");
        }
    }
}
