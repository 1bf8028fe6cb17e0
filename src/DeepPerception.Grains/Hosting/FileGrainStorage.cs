using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orleans.Storage;

namespace DeepPerception.Grains.Hosting;

/// <summary>Options of <see cref="FileGrainStorage"/>.</summary>
public sealed class FileGrainStorageOptions
{
    /// <summary>The folder holding one JSON file per grain state. Required.</summary>
    public string RootDirectory { get; set; } = string.Empty;

    /// <summary>Whether each write is flushed to disk (fsync) before it is acknowledged; default true.</summary>
    public bool FlushToDisk { get; set; } = true;
}

/// <summary>
/// Durable Orleans grain storage on the local file system for embedded (single-host) mode: one JSON document per grain
/// under <c>&lt;root&gt;/&lt;stateName&gt;/</c>, replaced atomically (temporary file + rename), with optimistic
/// concurrency: a write whose ETag does not match the stored one throws <see cref="InconsistentStateException"/>.
/// Several silos in one process may share a folder; separate processes must not.
/// </summary>
public sealed class FileGrainStorage : IGrainStorage
{
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Locks = new(StringComparer.Ordinal);
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private readonly string _root;
    private readonly bool _flush;

    /// <summary>Creates the storage; the folder is created when missing.</summary>
    public FileGrainStorage(FileGrainStorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.RootDirectory))
        {
            throw new ArgumentException($"{nameof(FileGrainStorageOptions.RootDirectory)} is required.", nameof(options));
        }

        _root = Path.GetFullPath(options.RootDirectory);
        _flush = options.FlushToDisk;
        Directory.CreateDirectory(_root);
    }

    /// <inheritdoc />
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathFor(stateName, grainId);
        return UnderLockAsync(path, async () =>
        {
            var stored = await ReadAsync(path).ConfigureAwait(false);
            if (stored is null)
            {
                grainState.State = Activator.CreateInstance<T>();
                grainState.ETag = null;
                grainState.RecordExists = false;
                return;
            }

            grainState.State = stored.Value.State is null
                ? Activator.CreateInstance<T>()
                : stored.Value.State.Deserialize<T>(JsonOptions) ?? Activator.CreateInstance<T>();
            grainState.ETag = stored.Value.ETag;
            grainState.RecordExists = true;
        });
    }

    /// <inheritdoc />
    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathFor(stateName, grainId);
        return UnderLockAsync(path, async () =>
        {
            var stored = await ReadAsync(path).ConfigureAwait(false);
            CheckETag(stateName, grainId, stored?.ETag, grainState.ETag);
            var etag = Guid.NewGuid().ToString("N");
            var document = new JsonObject
            {
                ["grainId"] = grainId.ToString(),
                ["etag"] = etag,
                ["state"] = JsonSerializer.SerializeToNode(grainState.State, JsonOptions),
            };
            await WriteAtomicallyAsync(path, Encoding.UTF8.GetBytes(document.ToJsonString(JsonOptions))).ConfigureAwait(false);
            grainState.ETag = etag;
            grainState.RecordExists = true;
        });
    }

    /// <inheritdoc />
    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathFor(stateName, grainId);
        return UnderLockAsync(path, async () =>
        {
            var stored = await ReadAsync(path).ConfigureAwait(false);
            CheckETag(stateName, grainId, stored?.ETag, grainState.ETag);
            File.Delete(path);
            grainState.ETag = null;
            grainState.RecordExists = false;
            grainState.State = Activator.CreateInstance<T>();
        });
    }

    /// <summary>Runs <paramref name="action"/> holding the file's lock (one writer or reader of a state file at a time).</summary>
    private static async Task UnderLockAsync(string path, Func<Task> action)
    {
        var gate = Locks.GetOrAdd(path, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync().ConfigureAwait(false);
        try
        {
            await action().ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    private static void CheckETag(string stateName, GrainId grainId, string? storedETag, string? expectedETag)
    {
        if (!string.Equals(storedETag, expectedETag, StringComparison.Ordinal))
        {
            throw new InconsistentStateException(
                $"State '{stateName}' of grain {grainId} was changed by someone else (stored ETag '{storedETag}', " +
                $"expected '{expectedETag}').", storedETag ?? "(none)", expectedETag ?? "(none)");
        }
    }

    private static async Task<(string ETag, JsonNode? State)?> ReadAsync(string path)
    {
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(path).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        var document = JsonNode.Parse(bytes) as JsonObject
                       ?? throw new InvalidOperationException($"Grain state file '{path}' is not a JSON object.");
        var etag = document["etag"]?.GetValue<string>()
                   ?? throw new InvalidOperationException($"Grain state file '{path}' has no ETag.");
        return (etag, document["state"]);
    }

    private async Task WriteAtomicallyAsync(string path, byte[] content)
    {
        var directory = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, useAsync: true))
            {
                await file.WriteAsync(content).ConfigureAwait(false);
                await file.FlushAsync().ConfigureAwait(false);
                if (_flush)
                {
                    file.Flush(flushToDisk: true);
                }
            }

            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    private string PathFor(string stateName, GrainId grainId)
    {
        var folder = Sanitize(stateName);
        var id = grainId.ToString();
        var name = Sanitize(id);
        if (name.Length > 150)
        {
            name = name[..80] + "-" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(id)))[..32].ToLowerInvariant();
        }

        return Path.Combine(_root, folder, name + ".json");
    }

    private static string Sanitize(string value)
    {
        var builder = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : $"%{(int)c:X2}");
        }

        var result = builder.ToString();
        return result.StartsWith('.') ? "%2E" + result[1..] : result;
    }
}
