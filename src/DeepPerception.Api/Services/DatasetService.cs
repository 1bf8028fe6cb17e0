using System.Collections.Immutable;
using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Datasets;
using DeepPerception.Api.Identity;
using DeepPerception.Api.Uploads;
using DeepPerception.Client;
using DeepPerception.Storage;
using Microsoft.Extensions.Logging;

namespace DeepPerception.Api.Services;

/// <summary>One uploaded file of a dataset upload.</summary>
/// <param name="FileName">The file name (a relative path; checked like a zip entry).</param>
/// <param name="Open">Opens its content.</param>
public sealed record UploadFile(string FileName, Func<Stream> Open);

/// <summary>
/// Datasets of the caller's tenant: create, list, upload versions (a zip or files in the platform JSONL, COCO,
/// RefCOCO-style, ODVG or ShareGPT format, with a report of every rejected record), versions and the knowledge base.
/// A failed upload stores nothing; an accepted one is written under a fresh prefix, so nothing stored is ever replaced.
/// </summary>
public sealed class DatasetService(
    IGrainFactory grains,
    IArtifactStore store,
    ResourceIndex index,
    SafeArchive archive,
    DeepPerceptionApiOptions options,
    ILogger<DatasetService> logger)
{
    private const string Kind = "datasets";

    private IDatasetGrain Grain(PlatformPrincipal caller, string datasetId) =>
        grains.GetGrain<IDatasetGrain>(PlatformKeys.Scoped(caller.TenantId, datasetId, "dataset id"));

    /// <summary>Creates a dataset.</summary>
    public async Task<DatasetDto> CreateAsync(PlatformPrincipal caller, CreateDatasetBody body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(body);
        var description = body.Description is { Length: > 4000 } ? throw new InvalidRequestException("description must be at most 4000 characters.") : body.Description;
        var info = await Grain(caller, body.DatasetId)
            .CreateAsync(new CreateDatasetRequest(TenantService.ValidateName(body.DisplayName, "display name"), description)).ConfigureAwait(false);
        await index.AddAsync(caller.TenantId, Kind, body.DatasetId, cancellationToken).ConfigureAwait(false);
        return Mapping.Dataset(info);
    }

    /// <summary>Lists the tenant's datasets.</summary>
    public async Task<IReadOnlyList<DatasetDto>> ListAsync(PlatformPrincipal caller, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var result = new List<DatasetDto>();
        foreach (var id in await index.ListAsync(caller.TenantId, Kind, cancellationToken).ConfigureAwait(false))
        {
            var grain = Grain(caller, id);
            if (await grain.ExistsAsync().ConfigureAwait(false))
            {
                result.Add(Mapping.Dataset(await grain.GetAsync().ConfigureAwait(false)));
            }
        }

        return result;
    }

    /// <summary>Returns a dataset.</summary>
    public async Task<DatasetDto> GetAsync(PlatformPrincipal caller, string datasetId) =>
        Mapping.Dataset(await Grain(caller, datasetId).GetAsync().ConfigureAwait(false));

    /// <summary>Returns a version.</summary>
    public async Task<DatasetVersionDto> GetVersionAsync(PlatformPrincipal caller, string datasetId, int version) =>
        Mapping.DatasetVersion(await Grain(caller, datasetId).GetVersionAsync(version).ConfigureAwait(false));

    /// <summary>Deletes a version that no work has used.</summary>
    public Task DeleteVersionAsync(PlatformPrincipal caller, string datasetId, int version) =>
        Grain(caller, datasetId).DeleteVersionAsync(version);

    /// <summary>Returns the samples index key of a version (for evaluations on a dataset split).</summary>
    public async Task<string> GetSamplesIndexKeyAsync(PlatformPrincipal caller, string datasetId, int version) =>
        (await Grain(caller, datasetId).GetVersionAsync(version).ConfigureAwait(false)).SamplesIndexKey;

    /// <summary>Lists the knowledge base.</summary>
    public async Task<IReadOnlyList<KnowledgeEntryDto>> GetKnowledgeAsync(PlatformPrincipal caller, string datasetId)
    {
        var grain = Grain(caller, datasetId);
        await grain.GetAsync().ConfigureAwait(false);
        return (await grain.GetKnowledgeBaseAsync().ConfigureAwait(false)).Select(Mapping.Knowledge).ToArray();
    }

    /// <summary>Adds or replaces a knowledge entry.</summary>
    public async Task<KnowledgeEntryDto> PutKnowledgeAsync(PlatformPrincipal caller, string datasetId, string entityId, KnowledgeEntryDto body)
    {
        ArgumentNullException.ThrowIfNull(body);
        PlatformKeys.ValidateId(entityId, "entity id");
        if (body.EntityId is { Length: > 0 } given && given != entityId)
        {
            throw new InvalidRequestException($"entityId '{given}' in the body differs from the path's '{entityId}'.");
        }

        var name = TenantService.ValidateName(body.Name, "entity name");
        if (string.IsNullOrWhiteSpace(body.Description) || body.Description.Length > 20_000)
        {
            throw new InvalidRequestException("description must be 1–20000 characters (the knowledge the model should recall).");
        }

        var aliases = (body.Aliases ?? []).Select(a => TenantService.ValidateName(a, "alias")).ToImmutableArray();
        var grain = Grain(caller, datasetId);
        await grain.GetAsync().ConfigureAwait(false);
        var entry = new KnowledgeEntry(entityId, name, body.Description.Trim(), aliases, []);
        await grain.UpsertKnowledgeEntryAsync(entry).ConfigureAwait(false);
        return Mapping.Knowledge(entry);
    }

    /// <summary>Removes a knowledge entry.</summary>
    public async Task RemoveKnowledgeAsync(PlatformPrincipal caller, string datasetId, string entityId)
    {
        PlatformKeys.ValidateId(entityId, "entity id");
        var grain = Grain(caller, datasetId);
        await grain.GetAsync().ConfigureAwait(false);
        if (!await grain.RemoveKnowledgeEntryAsync(entityId).ConfigureAwait(false))
        {
            throw new ResourceNotFoundException($"Knowledge entry '{entityId}' does not exist.");
        }
    }

    /// <summary>
    /// Uploads a new version from a zip archive or a set of files. <paramref name="format"/> is <c>auto</c> or one of
    /// <see cref="DatasetConverter.Formats"/>. Records with problems are left out and listed with their reasons; with
    /// <paramref name="strict"/> any rejected record refuses the whole upload (422). An upload without any usable record
    /// is refused (422) and stores nothing.
    /// </summary>
    public async Task<DatasetUploadResult> UploadAsync(PlatformPrincipal caller, string datasetId, IReadOnlyList<UploadFile> files, string? format,
        string? description, bool strict, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(files);
        var grain = Grain(caller, datasetId);
        await grain.GetAsync().ConfigureAwait(false);
        format = string.IsNullOrEmpty(format) ? "auto" : format;
        if (format != "auto" && !DatasetConverter.Formats.Contains(format))
        {
            throw new InvalidRequestException($"format must be one of auto, {string.Join(", ", DatasetConverter.Formats)} (got '{format}').");
        }

        if (description is { Length: > 4000 })
        {
            throw new InvalidRequestException("description must be at most 4000 characters.");
        }

        if (files.Count == 0)
        {
            throw new InvalidRequestException("The upload holds no file: send a zip archive or the images and annotation files.");
        }

        var scratch = Path.Combine(options.ScratchDirectory ?? Path.GetTempPath(), $"dp-upload-{Guid.NewGuid():N}");
        var extracted = Path.Combine(scratch, "in");
        var output = Path.Combine(scratch, "out");
        Directory.CreateDirectory(extracted);
        try
        {
            foreach (var file in files)
            {
                await using var stream = file.Open();
                if (file.FileName.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
                {
                    await archive.ExtractAsync(stream, extracted, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await archive.SaveFileAsync(stream, file.FileName, extracted, cancellationToken).ConfigureAwait(false);
                }
            }

            var detected = format == "auto" ? DatasetConverter.Detect(extracted) : format;
            var converted = DatasetConverter.Read(extracted, detected, options.MaxRecords);
            var knowledgeBase = await grain.GetKnowledgeBaseAsync().ConfigureAwait(false);
            var ingested = DatasetIngest.Build(extracted, output, converted, knowledgeBase);
            var received = ingested.Accepted + ingested.Rejected.Count;
            if (ingested.Accepted == 0 || (strict && ingested.Rejected.Count > 0))
            {
                var failure = new UnprocessableException(ingested.Accepted == 0
                    ? $"No record of the upload is usable ({ingested.Rejected.Count} rejected); nothing was stored."
                    : $"{ingested.Rejected.Count} record(s) were rejected and strict mode is on; nothing was stored.");
                failure.Extensions["result"] = new DatasetUploadResult(null, detected, received, 0, ingested.Rejected, ingested.Warnings);
                throw failure;
            }

            var prefix = $"{caller.TenantId}/datasets/{datasetId}/uploads/{Guid.NewGuid():N}";
            var key = await UploadFolderAsync(output, prefix, cancellationToken).ConfigureAwait(false);
            DatasetVersionInfo version;
            try
            {
                version = await grain.AddVersionAsync(new AddDatasetVersionRequest(key, ingested.Accepted, description)).ConfigureAwait(false);
            }
            catch
            {
                await DeletePrefixQuietlyAsync(prefix).ConfigureAwait(false);
                throw;
            }

            foreach (var (name, entry) in ingested.Knowledge.Where(k => converted.Knowledge.ContainsKey(k.Key)))
            {
                if (EntityId(name) is { } entityId && !knowledgeBase.Any(k => k.Name == name))
                {
                    await grain.UpsertKnowledgeEntryAsync(new KnowledgeEntry(entityId, name, entry.Text, [], [])).ConfigureAwait(false);
                }
            }

            var issues = ingested.Rejected
                .Select(r => new DatasetValidationIssue(false, "rejected_record",
                    $"{r.Source}:{r.Line}: rejected: {string.Join("; ", r.Reasons)}", r.RecordId))
                .Concat(ingested.Warnings.Select(w => new DatasetValidationIssue(false, "warning", w, null)))
                .ToImmutableArray();
            version = await grain.SetValidationReportAsync(version.Version,
                new DatasetValidationReport(received, issues, DateTimeOffset.UtcNow)).ConfigureAwait(false);
            logger.LogInformation("Dataset {Tenant}/{Dataset} v{Version}: {Accepted} accepted, {Rejected} rejected ({Format})",
                caller.TenantId, datasetId, version.Version, ingested.Accepted, ingested.Rejected.Count, detected);
            return new DatasetUploadResult(Mapping.DatasetVersion(version), detected, received, ingested.Accepted, ingested.Rejected, ingested.Warnings);
        }
        finally
        {
            try
            {
                Directory.Delete(scratch, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private async Task<string> UploadFolderAsync(string directory, string prefix, CancellationToken cancellationToken)
    {
        var files = Directory.GetFiles(directory, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(directory, f).Replace(Path.DirectorySeparatorChar, '/'))
            .OrderBy(f => f == "records.jsonl" ? 1 : 0).ThenBy(f => f, StringComparer.Ordinal).ToArray();
        try
        {
            foreach (var relative in files)
            {
                await using var stream = File.OpenRead(Path.Combine(directory, relative));
                await store.PutAsync(ArtifactKey.Combine(prefix, relative), stream, new ArtifactWriteOptions
                {
                    Overwrite = false,
                    ContentType = relative.EndsWith(".json", StringComparison.Ordinal) || relative.EndsWith(".jsonl", StringComparison.Ordinal)
                        ? "application/json" : "application/octet-stream",
                }, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            await DeletePrefixQuietlyAsync(prefix).ConfigureAwait(false);
            throw;
        }

        return ArtifactKey.Combine(prefix, "records.jsonl");
    }

    private async Task DeletePrefixQuietlyAsync(string prefix)
    {
        try
        {
            foreach (var item in await store.ListAllAsync(prefix + "/").ConfigureAwait(false))
            {
                await store.DeleteAsync(item.Key).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or ArtifactStoreException)
        {
            logger.LogWarning(ex, "Could not clean up the partial upload {Prefix}", prefix);
        }
    }

    /// <summary>A platform entity id for a name (<see cref="PlatformKeys.EntityId"/>).</summary>
    public static string? EntityId(string name) => PlatformKeys.EntityId(name);
}
