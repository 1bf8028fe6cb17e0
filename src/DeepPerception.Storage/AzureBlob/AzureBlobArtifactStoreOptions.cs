using Azure.Storage.Blobs;
using Microsoft.Extensions.Options;

namespace DeepPerception.Storage.AzureBlob;

/// <summary>Options of <see cref="AzureBlobArtifactStore"/>.</summary>
public sealed class AzureBlobArtifactStoreOptions
{
    /// <summary>The storage connection string (for example <c>UseDevelopmentStorage=true</c>). Required unless
    /// <see cref="ServiceClient"/> is set.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>A ready client (for credential-based authentication); when set, <see cref="ConnectionString"/>,
    /// <see cref="ServiceVersion"/> and the retry settings are not used.</summary>
    public BlobServiceClient? ServiceClient { get; set; }

    /// <summary>The container holding the artifacts (3–63 lowercase letters, digits and single hyphens). Required.</summary>
    public string ContainerName { get; set; } = "artifacts";

    /// <summary>An optional blob-name prefix put before every key (a valid artifact key), e.g. an environment name.</summary>
    public string? KeyPrefix { get; set; }

    /// <summary>
    /// The Blob service REST version. Pinned to 2026-06-06 by default: Azure.Storage.Blobs 12.30.1 would otherwise send
    /// 2026-10-06, which the Azurite 3.37 emulator rejects.
    /// </summary>
    public BlobClientOptions.ServiceVersion ServiceVersion { get; set; } = BlobClientOptions.ServiceVersion.V2026_06_06;

    /// <summary>How many times a failed request is retried (exponential backoff); default 5.</summary>
    public int MaxRetries { get; set; } = 5;

    /// <summary>The first retry delay; default 0.5 s.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest retry delay; default 30 s.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The timeout of one network operation; default 100 s.</summary>
    public TimeSpan NetworkTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>The size of each staged block; default 4 MiB (1 KiB to 100 MiB).</summary>
    public int BlockSizeBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Whether the container is created on first write when missing; default true.</summary>
    public bool CreateContainerIfNotExists { get; set; } = true;

    /// <summary>Returns the validation errors of <paramref name="options"/> (empty when valid).</summary>
    public static IReadOnlyList<string> Validate(AzureBlobArtifactStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.ServiceClient is null && string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            errors.Add($"{nameof(ConnectionString)} or {nameof(ServiceClient)} is required.");
        }

        var name = options.ContainerName;
        if (string.IsNullOrEmpty(name) || name.Length is < 3 or > 63
            || !name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')
            || name[0] == '-' || name[^1] == '-' || name.Contains("--", StringComparison.Ordinal))
        {
            errors.Add($"{nameof(ContainerName)} '{name}' is not a valid container name (3–63 lowercase letters, digits and single hyphens).");
        }

        if (options.KeyPrefix is not null && !ArtifactKey.IsValid(options.KeyPrefix))
        {
            errors.Add($"{nameof(KeyPrefix)} '{options.KeyPrefix}' must be a valid artifact key.");
        }

        if (options.MaxRetries is < 0 or > 20)
        {
            errors.Add($"{nameof(MaxRetries)} must be between 0 and 20.");
        }

        if (options.RetryDelay <= TimeSpan.Zero || options.MaxRetryDelay < options.RetryDelay)
        {
            errors.Add($"{nameof(RetryDelay)} must be positive and not above {nameof(MaxRetryDelay)}.");
        }

        if (options.NetworkTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{nameof(NetworkTimeout)} must be positive.");
        }

        if (options.BlockSizeBytes is < 1024 or > 100 * 1024 * 1024)
        {
            errors.Add($"{nameof(BlockSizeBytes)} must be between 1 KiB and 100 MiB.");
        }

        return errors;
    }
}

/// <summary>Validates <see cref="AzureBlobArtifactStoreOptions"/> at startup.</summary>
public sealed class AzureBlobArtifactStoreOptionsValidator : IValidateOptions<AzureBlobArtifactStoreOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, AzureBlobArtifactStoreOptions options)
    {
        var errors = AzureBlobArtifactStoreOptions.Validate(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
