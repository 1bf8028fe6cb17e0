using System.IO.Compression;

namespace DeepPerception.Api.Uploads;

/// <summary>
/// Extracts untrusted zip archives and uploaded file names into a scratch folder under limits: entry count, total
/// uncompressed bytes (counted while copying, not taken from the headers), per-entry compression ratio, and entry names
/// (no absolute paths, drive letters, '..' or '.' segments, control characters or symbolic links).
/// </summary>
public sealed class SafeArchive(DeepPerceptionApiOptions options)
{
    /// <summary>Extracts <paramref name="zip"/> into <paramref name="directory"/>; returns the relative paths written.</summary>
    /// <exception cref="UnprocessableException">The archive is corrupt, an entry name is unsafe or an entry is a zip bomb.</exception>
    /// <exception cref="PayloadTooLargeException">The archive holds more bytes or entries than allowed.</exception>
    public async Task<IReadOnlyList<string>> ExtractAsync(Stream zip, string directory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(zip);
        var root = Path.GetFullPath(directory);
        Directory.CreateDirectory(root);
        var written = new List<string>();
        ZipArchive archive;
        try
        {
            archive = new ZipArchive(zip, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException ex)
        {
            throw new UnprocessableException($"The upload is not a valid zip archive: {ex.Message}");
        }

        using (archive)
        {
            if (archive.Entries.Count > options.MaxZipEntries)
            {
                throw new PayloadTooLargeException($"The zip archive has {archive.Entries.Count} entries; at most {options.MaxZipEntries} are allowed.");
            }

            long total = 0;
            foreach (var entry in archive.Entries)
            {
                if (entry.FullName.EndsWith('/') || entry.FullName.EndsWith('\\'))
                {
                    continue;
                }

                var relative = SafeRelativePath(entry.FullName, "zip entry");
                var unixMode = (entry.ExternalAttributes >> 16) & 0xF000;
                if (unixMode == 0xA000)
                {
                    throw new UnprocessableException($"Zip entry '{entry.FullName}' is a symbolic link; links are not accepted.");
                }

                if (entry.CompressedLength > 0 && entry.Length / (double)entry.CompressedLength > options.MaxCompressionRatio && entry.Length > 1024 * 1024)
                {
                    throw new UnprocessableException(
                        $"Zip entry '{entry.FullName}' expands {entry.Length / (double)entry.CompressedLength:F0}× (at most {options.MaxCompressionRatio:F0}× is accepted): refused as a zip bomb.");
                }

                var path = Path.Combine(root, relative);
                if (File.Exists(path))
                {
                    throw new UnprocessableException($"Zip entry '{entry.FullName}' appears twice.");
                }

                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                try
                {
                    await using var source = entry.Open();
                    await using var target = File.Create(path);
                    total = await CopyLimitedAsync(source, target, total, entry.FullName, cancellationToken).ConfigureAwait(false);
                }
                catch (InvalidDataException ex)
                {
                    throw new UnprocessableException($"Zip entry '{entry.FullName}' is corrupt: {ex.Message}");
                }

                written.Add(relative.Replace(Path.DirectorySeparatorChar, '/'));
            }
        }

        return written;
    }

    /// <summary>Writes an uploaded file (its name checked like a zip entry) into <paramref name="directory"/>.</summary>
    public async Task<string> SaveFileAsync(Stream content, string fileName, string directory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        var relative = SafeRelativePath(fileName, "file name");
        var path = Path.Combine(Path.GetFullPath(directory), relative);
        if (File.Exists(path))
        {
            throw new UnprocessableException($"The file '{fileName}' is uploaded twice.");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using var target = File.Create(path);
        await CopyLimitedAsync(content, target, 0, fileName, cancellationToken).ConfigureAwait(false);
        return relative.Replace(Path.DirectorySeparatorChar, '/');
    }

    /// <summary>Checks an archive entry or file name and returns it as a relative path of the local file system.</summary>
    /// <exception cref="UnprocessableException">The name is absolute, has a drive letter, a '..' or '.' segment, or control characters.</exception>
    public static string SafeRelativePath(string name, string what)
    {
        ArgumentNullException.ThrowIfNull(name);
        var normalised = name.Replace('\\', '/');
        if (normalised.Length == 0 || normalised.Length > 1024 || normalised.StartsWith('/') || normalised.Contains(':', StringComparison.Ordinal)
            || normalised.Any(char.IsControl))
        {
            throw new UnprocessableException($"The {what} '{Printable(name)}' is not a safe relative path (absolute, drive letter or control characters).");
        }

        var segments = normalised.Split('/');
        if (segments.Any(s => s is "" or "." or ".."))
        {
            throw new UnprocessableException($"The {what} '{Printable(name)}' has an empty, '.' or '..' segment (path traversal is refused).");
        }

        return Path.Combine(segments);
    }

    private async Task<long> CopyLimitedAsync(Stream source, Stream target, long total, string name, CancellationToken cancellationToken)
    {
        var buffer = new byte[81920];
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            total += read;
            if (total > options.MaxExtractedBytes)
            {
                throw new PayloadTooLargeException(
                    $"The upload expands beyond {options.MaxExtractedBytes} bytes (at '{Printable(name)}'); refused.");
            }

            await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
        }

        return total;
    }

    private static string Printable(string s) => new(s.Select(c => char.IsControl(c) ? '?' : c).Take(200).ToArray());
}
