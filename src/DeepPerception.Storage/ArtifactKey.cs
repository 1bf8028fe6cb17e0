namespace DeepPerception.Storage;

/// <summary>
/// Rules for artifact keys, shared by every adapter so that a key valid in one store is valid in all of them.
/// A key is 1–1024 characters of '/'-separated segments; each segment is 1–255 characters of
/// <c>[A-Za-z0-9._-]</c>, starts with a letter or digit and does not end in the reserved suffix
/// <see cref="ReservedSuffix"/>. Empty segments, '.' and '..' are rejected, so a key can never escape the store.
/// </summary>
public static class ArtifactKey
{
    /// <summary>The longest key accepted.</summary>
    public const int MaxLength = 1024;

    /// <summary>The longest segment accepted.</summary>
    public const int MaxSegmentLength = 255;

    /// <summary>A segment suffix reserved for the file-system adapter's own files.</summary>
    public const string ReservedSuffix = ".dpa";

    /// <summary>Throws <see cref="InvalidArtifactKeyException"/> when <paramref name="key"/> is not a valid key.</summary>
    public static void Validate(string? key)
    {
        var error = GetError(key);
        if (error is not null)
        {
            throw new InvalidArtifactKeyException(key, error);
        }
    }

    /// <summary>Returns whether <paramref name="key"/> is a valid key.</summary>
    public static bool IsValid(string? key) => GetError(key) is null;

    /// <summary>Joins segments with '/' and validates the result.</summary>
    public static string Combine(params string[] segments)
    {
        var key = string.Join('/', segments);
        Validate(key);
        return key;
    }

    /// <summary>
    /// Throws <see cref="InvalidArtifactKeyException"/> when <paramref name="prefix"/> is not a valid list prefix:
    /// empty, or made only of key characters with no '.'/'..' segment, no empty segment and no leading '/'.
    /// </summary>
    public static void ValidatePrefix(string? prefix)
    {
        if (prefix is null)
        {
            throw new InvalidArtifactKeyException(prefix, "the prefix must not be null (use an empty prefix to list everything)");
        }

        if (prefix.Length == 0)
        {
            return;
        }

        if (prefix.Length > MaxLength)
        {
            throw new InvalidArtifactKeyException(prefix, $"the prefix is longer than {MaxLength} characters");
        }

        foreach (var c in prefix)
        {
            if (!IsKeyChar(c) && c != '/')
            {
                throw new InvalidArtifactKeyException(prefix, $"the prefix contains the character '{Printable(c)}'");
            }
        }

        if (prefix[0] == '/')
        {
            throw new InvalidArtifactKeyException(prefix, "the prefix must not start with '/'");
        }

        var segments = prefix.Split('/');
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            var isLast = i == segments.Length - 1;
            if (segment.Length == 0 && !isLast)
            {
                throw new InvalidArtifactKeyException(prefix, "the prefix contains an empty segment ('//')");
            }

            if (!isLast && (segment == "." || segment == ".."))
            {
                throw new InvalidArtifactKeyException(prefix, "the prefix contains a '.' or '..' segment");
            }
        }
    }

    /// <summary>Throws <see cref="InvalidArtifactKeyException"/> when the content type or metadata are not storable.</summary>
    public static void ValidateMetadata(string contentType, IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        if (string.IsNullOrWhiteSpace(contentType) || contentType.Length > 255 || !contentType.All(IsPrintableAscii))
        {
            throw new InvalidArtifactKeyException(contentType, "the content type must be 1–255 printable ASCII characters");
        }

        foreach (var (name, value) in metadata)
        {
            if (string.IsNullOrEmpty(name) || name.Length > 64 || name[0] is < 'a' or > 'z'
                || !name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_'))
            {
                throw new InvalidArtifactKeyException(name, "metadata names must match [a-z][a-z0-9_]* and be at most 64 characters");
            }

            if (value is null || value.Length > 1024 || !value.All(IsPrintableAscii))
            {
                throw new InvalidArtifactKeyException(name, "metadata values must be at most 1024 printable ASCII characters");
            }
        }
    }

    private static string? GetError(string? key)
    {
        if (string.IsNullOrEmpty(key))
        {
            return "the key must not be empty";
        }

        if (key.Length > MaxLength)
        {
            return $"the key is longer than {MaxLength} characters";
        }

        foreach (var c in key)
        {
            if (!IsKeyChar(c) && c != '/')
            {
                return $"the key contains the character '{Printable(c)}' (allowed: letters, digits, '.', '_', '-' and '/')";
            }
        }

        foreach (var segment in key.Split('/'))
        {
            if (segment.Length == 0)
            {
                return "the key has an empty segment (leading, trailing or doubled '/')";
            }

            if (segment == "." || segment == "..")
            {
                return "the key has a '.' or '..' segment";
            }

            if (segment.Length > MaxSegmentLength)
            {
                return $"a segment is longer than {MaxSegmentLength} characters";
            }

            if (!char.IsAsciiLetterOrDigit(segment[0]))
            {
                return $"the segment '{segment}' must start with a letter or digit";
            }

            if (segment.EndsWith(ReservedSuffix, StringComparison.OrdinalIgnoreCase))
            {
                return $"the segment '{segment}' ends with the reserved suffix '{ReservedSuffix}'";
            }
        }

        return null;
    }

    private static bool IsKeyChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-';

    private static bool IsPrintableAscii(char c) => c is >= ' ' and <= '~';

    private static string Printable(char c) => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString();
}
