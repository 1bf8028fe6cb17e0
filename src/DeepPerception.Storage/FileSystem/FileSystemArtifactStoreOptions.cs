using Microsoft.Extensions.Options;

namespace DeepPerception.Storage.FileSystem;

/// <summary>Options of <see cref="FileSystemArtifactStore"/>.</summary>
public sealed class FileSystemArtifactStoreOptions
{
    /// <summary>The folder that holds the artifacts (created if missing). Required.</summary>
    public string RootDirectory { get; set; } = string.Empty;

    /// <summary>Whether a write is flushed to disk (fsync) before it becomes visible; default true.</summary>
    public bool FlushToDisk { get; set; } = true;

    /// <summary>Returns the validation errors of <paramref name="options"/> (empty when valid).</summary>
    public static IReadOnlyList<string> Validate(FileSystemArtifactStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.RootDirectory))
        {
            errors.Add($"{nameof(RootDirectory)} is required.");
        }
        else if (options.RootDirectory.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            errors.Add($"{nameof(RootDirectory)} '{options.RootDirectory}' contains invalid path characters.");
        }

        return errors;
    }
}

/// <summary>Validates <see cref="FileSystemArtifactStoreOptions"/> at startup.</summary>
public sealed class FileSystemArtifactStoreOptionsValidator : IValidateOptions<FileSystemArtifactStoreOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, FileSystemArtifactStoreOptions options)
    {
        var errors = FileSystemArtifactStoreOptions.Validate(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
