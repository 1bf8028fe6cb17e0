using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace DeepPerception.Storage.FileSystem;

/// <summary>
/// <see cref="IArtifactStore"/> on a local folder, the embedded default. Each artifact is one file
/// <c>&lt;root&gt;/&lt;key&gt;.dpa</c> holding a small JSON header (content type, metadata, ETag, time) followed by the
/// content. A write goes to a hidden temporary file in the same folder, is flushed, and is then renamed over the
/// final name, so readers only ever see complete artifacts and a crash leaves at most an invisible temporary file.
/// </summary>
public sealed class FileSystemArtifactStore : IArtifactStore
{
    private const string FileSuffix = ArtifactKey.ReservedSuffix;
    private static readonly byte[] Magic = "DPA1"u8.ToArray();
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    private readonly string _root;
    private readonly bool _flush;
    private readonly TimeProvider _time;

    /// <summary>Creates the store; the root folder is created when missing.</summary>
    /// <exception cref="ArgumentException">The options are not valid.</exception>
    public FileSystemArtifactStore(FileSystemArtifactStoreOptions options, TimeProvider? timeProvider = null)
    {
        var errors = FileSystemArtifactStoreOptions.Validate(options);
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }

        _root = Path.GetFullPath(options.RootDirectory);
        _flush = options.FlushToDisk;
        _time = timeProvider ?? TimeProvider.System;
        Directory.CreateDirectory(_root);
    }

    /// <summary>The absolute root folder.</summary>
    public string RootDirectory => _root;

    /// <inheritdoc />
    public async Task<ArtifactInfo> PutAsync(string key, Stream content, ArtifactWriteOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        options ??= new ArtifactWriteOptions();
        var path = PathFor(key);
        ArtifactKey.ValidateMetadata(options.ContentType, options.Metadata);

        var directory = Path.GetDirectoryName(path)!;
        CreateDirectoryFor(key, directory);
        var temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        var header = new FileHeader(options.ContentType, new Dictionary<string, string>(options.Metadata),
            Guid.NewGuid().ToString("N"), _time.GetUtcNow());
        long length;
        try
        {
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None,
                             bufferSize: 81920, useAsync: true))
            {
                var headerBytes = JsonSerializer.SerializeToUtf8Bytes(header, JsonOptions);
                var prefix = new byte[Magic.Length + sizeof(int)];
                Magic.CopyTo(prefix, 0);
                BinaryPrimitives.WriteInt32LittleEndian(prefix.AsSpan(Magic.Length), headerBytes.Length);
                await file.WriteAsync(prefix, cancellationToken).ConfigureAwait(false);
                await file.WriteAsync(headerBytes, cancellationToken).ConfigureAwait(false);
                var contentStart = file.Position;
                await content.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
                length = file.Position - contentStart;
                await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                if (_flush)
                {
                    file.Flush(flushToDisk: true);
                }
            }

            cancellationToken.ThrowIfCancellationRequested();
            if (options.Overwrite)
            {
                File.Move(temp, path, overwrite: true);
            }
            else
            {
                try
                {
                    // Without overwrite the move fails atomically when the target exists.
                    File.Move(temp, path, overwrite: false);
                }
                catch (IOException ex) when (File.Exists(path))
                {
                    throw new ArtifactAlreadyExistsException(key, ex);
                }
            }
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        return new ArtifactInfo(key, length, header.ContentType, header.Metadata, header.LastModified, header.ETag);
    }

    /// <inheritdoc />
    public async Task<ArtifactContent> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        var (stream, info) = await OpenAsync(key, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new byte[info.Length];
            await stream.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);
            return new ArtifactContent(info, buffer);
        }
    }

    /// <inheritdoc />
    public async Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default)
    {
        var (stream, _) = await OpenAsync(key, cancellationToken).ConfigureAwait(false);
        return stream;
    }

    /// <inheritdoc />
    public async Task<ArtifactInfo?> GetInfoAsync(string key, CancellationToken cancellationToken = default)
    {
        var path = PathFor(key);
        try
        {
            await using var file = OpenFile(path);
            return await ReadHeaderAsync(key, file, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsNotFound(ex))
        {
            return null;
        }
    }

    /// <inheritdoc />
    public Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default)
    {
        var path = PathFor(key);
        return Task.FromResult(File.Exists(path));
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ArtifactInfo> ListAsync(string prefix,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArtifactKey.ValidatePrefix(prefix);
        RequireRoot(nameof(ListAsync), prefix);
        var slash = prefix.LastIndexOf('/');
        var folder = slash < 0 ? _root : Path.Combine(_root, prefix[..slash].Replace('/', Path.DirectorySeparatorChar));
        if (!Directory.Exists(folder))
        {
            yield break;
        }

        var keys = new List<string>();
        var enumeration = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true };
        foreach (var file in Directory.EnumerateFiles(folder, "*" + FileSuffix, enumeration))
        {
            var relative = Path.GetRelativePath(_root, file);
            var key = relative[..^FileSuffix.Length].Replace(Path.DirectorySeparatorChar, '/');
            if (key.StartsWith(prefix, StringComparison.Ordinal) && ArtifactKey.IsValid(key))
            {
                keys.Add(key);
            }
        }

        keys.Sort(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var info = await GetInfoAsync(key, cancellationToken).ConfigureAwait(false);
            if (info is not null)
            {
                yield return info;
            }
        }
    }

    /// <inheritdoc />
    public Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        var path = PathFor(key);
        if (!File.Exists(path))
        {
            return Task.FromResult(false);
        }

        try
        {
            File.Delete(path);
            return Task.FromResult(true);
        }
        catch (Exception ex) when (IsNotFound(ex))
        {
            return Task.FromResult(false);
        }
    }

    private async Task<(Stream Stream, ArtifactInfo Info)> OpenAsync(string key, CancellationToken cancellationToken)
    {
        var path = PathFor(key);
        FileStream file;
        try
        {
            file = OpenFile(path);
        }
        catch (Exception ex) when (IsNotFound(ex))
        {
            throw new ArtifactNotFoundException(key, ex);
        }

        try
        {
            var info = await ReadHeaderAsync(key, file, cancellationToken).ConfigureAwait(false);
            return (new OffsetReadStream(file, file.Position), info);
        }
        catch
        {
            await file.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static FileStream OpenFile(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 81920, useAsync: true);

    private static async Task<ArtifactInfo> ReadHeaderAsync(string key, FileStream file, CancellationToken cancellationToken)
    {
        var prefix = new byte[Magic.Length + sizeof(int)];
        await file.ReadExactlyAsync(prefix, cancellationToken).ConfigureAwait(false);
        if (!prefix.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            throw new ArtifactStoreException($"Artifact file for '{key}' is corrupt (bad magic).");
        }

        var headerLength = BinaryPrimitives.ReadInt32LittleEndian(prefix.AsSpan(Magic.Length));
        if (headerLength <= 0 || headerLength > 1 << 20)
        {
            throw new ArtifactStoreException($"Artifact file for '{key}' is corrupt (header length {headerLength}).");
        }

        var headerBytes = new byte[headerLength];
        await file.ReadExactlyAsync(headerBytes, cancellationToken).ConfigureAwait(false);
        var header = JsonSerializer.Deserialize<FileHeader>(headerBytes, JsonOptions)
                     ?? throw new ArtifactStoreException($"Artifact file for '{key}' is corrupt (empty header).");
        var length = file.Length - file.Position;
        return new ArtifactInfo(key, length, header.ContentType, header.Metadata, header.LastModified, header.ETag);
    }

    private string PathFor(string key, [CallerMemberName] string operation = "")
    {
        ArtifactKey.Validate(key);
        RequireRoot(operation, key);
        var path = Path.GetFullPath(Path.Combine(_root, key.Replace('/', Path.DirectorySeparatorChar) + FileSuffix));
        if (!path.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new InvalidArtifactKeyException(key, "the key resolves outside the store's root folder");
        }

        return path;
    }

    /// <summary>
    /// The root folder was created when the store was; when it is gone (an unmounted or lost volume) every operation
    /// reports the store unavailable instead of "not found", and writes never recreate it on another disk.
    /// </summary>
    private void RequireRoot(string operation, string? key)
    {
        if (!Directory.Exists(_root))
        {
            throw new ArtifactStoreUnavailableException(operation, key, 1,
                new DirectoryNotFoundException($"The artifact store's root folder '{_root}' is not available."));
        }
    }

    private static void CreateDirectoryFor(string key, string directory)
    {
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (IOException ex)
        {
            throw new ArtifactStoreException($"Cannot create the folder for artifact '{key}': {ex.Message}", ex);
        }
    }

    private static bool IsNotFound(Exception ex) => ex is FileNotFoundException or DirectoryNotFoundException;

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // The temporary file is hidden from readers and listings; leaving it behind is harmless.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private sealed record FileHeader(
        string ContentType,
        Dictionary<string, string> Metadata,
        string ETag,
        DateTimeOffset LastModified);
}
