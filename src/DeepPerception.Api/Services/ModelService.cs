using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Models;
using DeepPerception.Api.Identity;
using DeepPerception.Client;
using DeepPerception.Storage;

namespace DeepPerception.Api.Services;

/// <summary>An exported model folder: a zip in a temporary file that is deleted when the stream closes.</summary>
/// <param name="FileName">The suggested download name.</param>
/// <param name="Content">The zip.</param>
public sealed record ModelExport(string FileName, Stream Content);

/// <summary>Models of the caller's tenant: list, versions, lineage, promote, create from another model, export as a Hugging Face folder.</summary>
public sealed class ModelService(IGrainFactory grains, IArtifactStore store, ResourceIndex index)
{
    private const string Kind = "models";

    private IModelGrain Grain(PlatformPrincipal caller, string modelId) =>
        grains.GetGrain<IModelGrain>(PlatformKeys.Scoped(caller.TenantId, modelId, "model id"));

    /// <summary>Lists the tenant's models.</summary>
    public async Task<IReadOnlyList<ModelDto>> ListAsync(PlatformPrincipal caller, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var result = new List<ModelDto>();
        foreach (var id in await index.ListAsync(caller.TenantId, Kind, cancellationToken).ConfigureAwait(false))
        {
            var grain = Grain(caller, id);
            if (await grain.ExistsAsync().ConfigureAwait(false))
            {
                result.Add(Mapping.Model(await grain.GetAsync().ConfigureAwait(false)));
            }
        }

        return result;
    }

    /// <summary>Records a model created outside the API (for example by the host's demo seeding) so that it is listed.</summary>
    public Task RegisterAsync(string tenantId, string modelId, CancellationToken cancellationToken = default) =>
        index.AddAsync(tenantId, Kind, modelId, cancellationToken);

    /// <summary>Returns a model.</summary>
    public async Task<ModelDto> GetAsync(PlatformPrincipal caller, string modelId) =>
        Mapping.Model(await Grain(caller, modelId).GetAsync().ConfigureAwait(false));

    /// <summary>Returns a version.</summary>
    public async Task<ModelVersionDto> GetVersionAsync(PlatformPrincipal caller, string modelId, int version) =>
        Mapping.ModelVersion(await Grain(caller, modelId).GetVersionAsync(version).ConfigureAwait(false));

    /// <summary>Creates a model whose base checkpoint is another model's base checkpoint or version (same tenant).</summary>
    public async Task<ModelDto> CreateAsync(PlatformPrincipal caller, CreateModelBody body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(body);
        PlatformKeys.ValidateId(body.ModelId, "model id");
        var source = Grain(caller, body.FromModelId);
        var sourceInfo = await source.GetAsync().ConfigureAwait(false);
        var key = await source.GetCheckpointKeyAsync(body.FromVersion).ConfigureAwait(false);
        var info = await Grain(caller, body.ModelId)
            .CreateAsync(new CreateModelRequest(TenantService.ValidateName(body.DisplayName, "display name"), sourceInfo.BaseModel, key)).ConfigureAwait(false);
        await index.AddAsync(caller.TenantId, Kind, body.ModelId, cancellationToken).ConfigureAwait(false);
        return Mapping.Model(info);
    }

    /// <summary>Makes a version the active one (served when a ground request names no version).</summary>
    public async Task<ModelDto> PromoteAsync(PlatformPrincipal caller, string modelId, int version) =>
        Mapping.Model(await Grain(caller, modelId).PromoteAsync(version).ConfigureAwait(false));

    /// <summary>The version, its parent, and so on back to the base checkpoint.</summary>
    public async Task<LineageChainDto> GetLineageAsync(PlatformPrincipal caller, string modelId, int version)
    {
        var grain = Grain(caller, modelId);
        var info = await grain.GetAsync().ConfigureAwait(false);
        var chain = new List<ModelVersionDto>();
        int? current = version;
        var seen = new HashSet<int>();
        while (current is { } v && seen.Add(v))
        {
            var entry = await grain.GetVersionAsync(v).ConfigureAwait(false);
            chain.Add(Mapping.ModelVersion(entry));
            current = entry.Lineage.ParentVersion;
        }

        return new LineageChainDto(modelId, version, info.BaseModel, chain);
    }

    /// <summary>
    /// Exports a version (or the base checkpoint when <paramref name="version"/> is null) as a zip of its Hugging Face
    /// folder (config.json, safetensors, tokenizer files; LoRA adapters in PEFT layout). Files are checked against the
    /// folder manifest when there is one.
    /// </summary>
    public async Task<ModelExport> ExportAsync(PlatformPrincipal caller, string modelId, int? version, CancellationToken cancellationToken = default)
    {
        var grain = Grain(caller, modelId);
        await grain.GetAsync().ConfigureAwait(false);
        var folderKey = await grain.GetCheckpointKeyAsync(version).ConfigureAwait(false);
        PlatformKeys.RequireTenantArtifact(caller.TenantId, folderKey, "checkpoint");
        var files = await FolderFilesAsync(folderKey, cancellationToken).ConfigureAwait(false);
        var path = Path.Combine(Path.GetTempPath(), $"dp-export-{Guid.NewGuid():N}.zip");
        var stream = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        try
        {
            using (var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
            {
                foreach (var (relative, sha) in files)
                {
                    var content = await store.GetAsync(ArtifactKey.Combine(folderKey, relative), cancellationToken).ConfigureAwait(false);
                    if (sha is not null && !string.Equals(Convert.ToHexStringLower(SHA256.HashData(content.Content)), sha, StringComparison.OrdinalIgnoreCase))
                    {
                        throw new ConflictException($"The stored file '{relative}' of the checkpoint does not match its manifest.");
                    }

                    var entry = zip.CreateEntry(relative, relative.EndsWith(".safetensors", StringComparison.Ordinal) ? CompressionLevel.NoCompression : CompressionLevel.Fastest);
                    using var target = entry.Open();
                    target.Write(content.Content);
                }
            }

            stream.Position = 0;
            return new ModelExport($"{modelId}-{(version is { } v ? "v" + v : "base")}.zip", stream);
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task<IReadOnlyList<(string Path, string? Sha)>> FolderFilesAsync(string folderKey, CancellationToken cancellationToken)
    {
        var manifestKey = ArtifactKey.Combine(folderKey, "manifest.json");
        if (await store.ExistsAsync(manifestKey, cancellationToken).ConfigureAwait(false))
        {
            using var doc = JsonDocument.Parse(await store.GetTextAsync(manifestKey, cancellationToken).ConfigureAwait(false));
            return doc.RootElement.GetProperty("files").EnumerateArray()
                .Select(f => (f.GetProperty("path").GetString()!, (string?)f.GetProperty("sha256").GetString())).ToArray();
        }

        var prefix = folderKey + "/";
        var listed = await store.ListAllAsync(prefix, cancellationToken).ConfigureAwait(false);
        if (listed.Count == 0)
        {
            throw new ResourceNotFoundException("The checkpoint's files are not in the artifact store.");
        }

        return listed.Select(i => (i.Key[prefix.Length..], (string?)null)).ToArray();
    }
}
