using System.Security.Cryptography;
using System.Text.Json;
using DeepPerception.Storage;

namespace DeepPerception.Grains.Gpu;

/// <summary>
/// Folder artifacts (model checkpoints): a folder key <c>K</c> holds files <c>K/&lt;relative path&gt;</c>. Uploads write
/// every file and then, last, the manifest <c>K/manifest.json</c> (file list with lengths and SHA-256), so a folder
/// with a manifest is complete. Downloads use the manifest when present (and verify it), else every artifact under
/// <c>K/</c> (for base models uploaded by hand).
/// </summary>
public static class ArtifactFolders
{
    /// <summary>The manifest's file name.</summary>
    public const string ManifestFile = "manifest.json";

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>Uploads every file of <paramref name="directory"/> under <paramref name="folderKey"/>, manifest last.</summary>
    public static async Task<FolderManifest> UploadAsync(IArtifactStore store, string directory, string folderKey,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArtifactKey.Validate(folderKey);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"Folder to upload '{directory}' does not exist.");
        }

        var entries = new List<FolderManifestEntry>();
        foreach (var path in Directory.GetFiles(directory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var relative = Path.GetRelativePath(directory, path).Replace(Path.DirectorySeparatorChar, '/');
            if (relative == ManifestFile)
            {
                continue;
            }

            string sha;
            long length;
            await using (var file = File.OpenRead(path))
            {
                length = file.Length;
                sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken).ConfigureAwait(false));
            }

            await using (var file = File.OpenRead(path))
            {
                await store.PutAsync(ArtifactKey.Combine(folderKey, relative), file, new ArtifactWriteOptions { Overwrite = true },
                    cancellationToken).ConfigureAwait(false);
            }

            entries.Add(new FolderManifestEntry(relative, length, sha));
        }

        var manifest = new FolderManifest(entries);
        await store.PutBytesAsync(ArtifactKey.Combine(folderKey, ManifestFile), JsonSerializer.SerializeToUtf8Bytes(manifest, JsonOptions),
            new ArtifactWriteOptions { Overwrite = true, ContentType = "application/json" }, cancellationToken).ConfigureAwait(false);
        return manifest;
    }

    /// <summary>Whether <paramref name="folderKey"/> holds a complete (manifested) folder.</summary>
    public static Task<bool> IsCompleteAsync(IArtifactStore store, string folderKey, CancellationToken cancellationToken = default) =>
        store.ExistsAsync(ArtifactKey.Combine(folderKey, ManifestFile), cancellationToken);

    /// <summary>
    /// Downloads the folder <paramref name="folderKey"/> into <paramref name="directory"/> (created). With a manifest every
    /// listed file is fetched and its length and hash checked; without one every artifact under the key is fetched.
    /// </summary>
    /// <exception cref="ArtifactNotFoundException">Nothing is stored under the folder key.</exception>
    /// <exception cref="InvalidDataException">A file does not match the manifest.</exception>
    public static async Task DownloadAsync(IArtifactStore store, string folderKey, string directory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArtifactKey.Validate(folderKey);
        Directory.CreateDirectory(directory);
        var manifestKey = ArtifactKey.Combine(folderKey, ManifestFile);
        var root = Path.GetFullPath(directory);
        if (await store.ExistsAsync(manifestKey, cancellationToken).ConfigureAwait(false))
        {
            var manifest = JsonSerializer.Deserialize<FolderManifest>(await store.GetTextAsync(manifestKey, cancellationToken).ConfigureAwait(false), JsonOptions)
                           ?? throw new InvalidDataException($"Folder manifest '{manifestKey}' is empty.");
            foreach (var entry in manifest.Files)
            {
                var content = await store.GetAsync(ArtifactKey.Combine(folderKey, entry.Path), cancellationToken).ConfigureAwait(false);
                var sha = Convert.ToHexStringLower(SHA256.HashData(content.Content));
                if (content.Content.LongLength != entry.Length || sha != entry.Sha256)
                {
                    throw new InvalidDataException($"Artifact '{folderKey}/{entry.Path}' does not match its manifest (length or SHA-256 differ).");
                }

                await WriteLocalAsync(root, entry.Path, content.Content, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        var prefix = folderKey + "/";
        var found = 0;
        await foreach (var info in store.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            var content = await store.GetAsync(info.Key, cancellationToken).ConfigureAwait(false);
            await WriteLocalAsync(root, info.Key[prefix.Length..], content.Content, cancellationToken).ConfigureAwait(false);
            found++;
        }

        if (found == 0)
        {
            throw new ArtifactNotFoundException(folderKey);
        }
    }

    private static async Task WriteLocalAsync(string root, string relative, byte[] content, CancellationToken cancellationToken)
    {
        var path = Path.GetFullPath(Path.Combine(root, relative));
        if (!path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"Folder entry '{relative}' escapes the destination folder.");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, content, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>The manifest of a folder artifact.</summary>
/// <param name="Files">Every file, by relative path.</param>
public sealed record FolderManifest(IReadOnlyList<FolderManifestEntry> Files);

/// <summary>One file of a folder artifact.</summary>
/// <param name="Path">The '/'-separated path relative to the folder.</param>
/// <param name="Length">Bytes.</param>
/// <param name="Sha256">Lowercase hex SHA-256.</param>
public sealed record FolderManifestEntry(string Path, long Length, string Sha256);
