using Microsoft.Extensions.Options;

namespace DeepPerception.Storage.Resilience;

/// <summary>
/// Options of <see cref="RetryingArtifactStore"/>: exponential backoff with jitter, bounded by a number of attempts and
/// by the total time spent on one operation. Only transient failures are retried (see
/// <see cref="StorageFailures.IsTransient"/>).
/// </summary>
public sealed class ArtifactStoreRetryOptions
{
    /// <summary>Whether the registered artifact store is wrapped in <see cref="RetryingArtifactStore"/>; default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Attempts per operation, the first included (1 = no retry); default 6.</summary>
    public int MaxAttempts { get; set; } = 6;

    /// <summary>The delay before the first retry; default 0.5 s. Each further retry doubles it.</summary>
    public TimeSpan InitialDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest delay between two attempts; default 15 s.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>No retry starts once this much time has passed since the operation began; default 2 minutes.</summary>
    public TimeSpan MaxElapsed { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Returns the validation errors of <paramref name="options"/> (empty when valid).</summary>
    public static IReadOnlyList<string> Validate(ArtifactStoreRetryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.MaxAttempts is < 1 or > 100)
        {
            errors.Add($"{nameof(MaxAttempts)} must be between 1 and 100 (it is {options.MaxAttempts}).");
        }

        if (options.InitialDelay < TimeSpan.Zero || options.MaxDelay < options.InitialDelay)
        {
            errors.Add($"{nameof(InitialDelay)} must not be negative nor above {nameof(MaxDelay)}.");
        }

        if (options.MaxElapsed <= TimeSpan.Zero)
        {
            errors.Add($"{nameof(MaxElapsed)} must be positive.");
        }

        return errors;
    }
}

/// <summary>Validates <see cref="ArtifactStoreRetryOptions"/> at startup.</summary>
public sealed class ArtifactStoreRetryOptionsValidator : IValidateOptions<ArtifactStoreRetryOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, ArtifactStoreRetryOptions options)
    {
        var errors = ArtifactStoreRetryOptions.Validate(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
