using System.Collections.Immutable;

namespace DeepPerception.Abstractions.Datasets;

/// <summary>An entity of a dataset's knowledge base (the fine-grained categories the model must tell apart).</summary>
[GenerateSerializer, Immutable, Alias("dp.KnowledgeEntry")]
public sealed record KnowledgeEntry(
    [property: Id(0)] string EntityId,
    [property: Id(1)] string Name,
    [property: Id(2)] string Description,
    [property: Id(3)] ImmutableArray<string> Aliases,
    [property: Id(4)] ImmutableArray<string> ReferenceImageKeys);

/// <summary>One finding of a dataset validation.</summary>
[GenerateSerializer, Immutable, Alias("dp.DatasetValidationIssue")]
public sealed record DatasetValidationIssue(
    [property: Id(0)] bool IsError,
    [property: Id(1)] string Code,
    [property: Id(2)] string Message,
    [property: Id(3)] string? SampleId);

/// <summary>The validation report of a dataset version.</summary>
[GenerateSerializer, Immutable, Alias("dp.DatasetValidationReport")]
public sealed record DatasetValidationReport(
    [property: Id(0)] int CheckedSamples,
    [property: Id(1)] ImmutableArray<DatasetValidationIssue> Issues,
    [property: Id(2)] DateTimeOffset ValidatedAt)
{
    /// <summary>Whether the version has no error (warnings allowed).</summary>
    public bool IsValid => !Issues.Any(i => i.IsError);
}

/// <summary>Request to create a dataset.</summary>
[GenerateSerializer, Immutable, Alias("dp.CreateDatasetRequest")]
public sealed record CreateDatasetRequest(
    [property: Id(0)] string DisplayName,
    [property: Id(1)] string? Description);

/// <summary>Request to add a dataset version whose samples index is already in the artifact store.</summary>
[GenerateSerializer, Immutable, Alias("dp.AddDatasetVersionRequest")]
public sealed record AddDatasetVersionRequest(
    [property: Id(0)] string SamplesIndexKey,
    [property: Id(1)] int SampleCount,
    [property: Id(2)] string? Description);

/// <summary>A dataset version. Once a job has used it (<see cref="IsLocked"/>) it can no longer change.</summary>
[GenerateSerializer, Immutable, Alias("dp.DatasetVersionInfo")]
public sealed record DatasetVersionInfo(
    [property: Id(0)] int Version,
    [property: Id(1)] string SamplesIndexKey,
    [property: Id(2)] int SampleCount,
    [property: Id(3)] string? Description,
    [property: Id(4)] DateTimeOffset CreatedAt,
    [property: Id(5)] DatasetValidationReport? Validation,
    [property: Id(6)] ImmutableArray<string> UsedBy)
{
    /// <summary>Whether the version is frozen because work used it.</summary>
    public bool IsLocked => !UsedBy.IsDefaultOrEmpty;
}

/// <summary>A dataset and its versions.</summary>
[GenerateSerializer, Immutable, Alias("dp.DatasetInfo")]
public sealed record DatasetInfo(
    [property: Id(0)] string TenantId,
    [property: Id(1)] string DatasetId,
    [property: Id(2)] string DisplayName,
    [property: Id(3)] string? Description,
    [property: Id(4)] DateTimeOffset CreatedAt,
    [property: Id(5)] ImmutableArray<DatasetVersionInfo> Versions,
    [property: Id(6)] int KnowledgeEntryCount);

/// <summary>
/// A tenant's dataset: metadata, immutable-once-used versions pointing at a samples index in the artifact store,
/// a per-entity knowledge base and validation reports. Keyed "{tenantId}/{datasetId}".
/// </summary>
[Alias("dp.IDatasetGrain")]
public interface IDatasetGrain : IGrainWithStringKey
{
    /// <summary>Creates the dataset (the tenant must exist).</summary>
    [Alias("Create")]
    Task<DatasetInfo> CreateAsync(CreateDatasetRequest request);

    /// <summary>Returns whether the dataset exists.</summary>
    [Alias("Exists")]
    Task<bool> ExistsAsync();

    /// <summary>Returns the dataset.</summary>
    [Alias("Get")]
    Task<DatasetInfo> GetAsync();

    /// <summary>Adds a version (numbered from 1); the samples index key must be under the tenant's prefix.</summary>
    [Alias("AddVersion")]
    Task<DatasetVersionInfo> AddVersionAsync(AddDatasetVersionRequest request);

    /// <summary>Returns a version.</summary>
    [Alias("GetVersion")]
    Task<DatasetVersionInfo> GetVersionAsync(int version);

    /// <summary>Attaches a validation report; refused once the version is locked.</summary>
    [Alias("SetValidationReport")]
    Task<DatasetVersionInfo> SetValidationReportAsync(int version, DatasetValidationReport report);

    /// <summary>Deletes a version; refused once the version is locked.</summary>
    [Alias("DeleteVersion")]
    Task DeleteVersionAsync(int version);

    /// <summary>
    /// Records that work (a job key) uses the version, which freezes it. Refused when the version's validation report
    /// has errors.
    /// </summary>
    [Alias("MarkVersionUsed")]
    Task<DatasetVersionInfo> MarkVersionUsedAsync(int version, string usedBy);

    /// <summary>Adds or replaces a knowledge-base entry.</summary>
    [Alias("UpsertKnowledgeEntry")]
    Task UpsertKnowledgeEntryAsync(KnowledgeEntry entry);

    /// <summary>Removes a knowledge-base entry; returns false when absent.</summary>
    [Alias("RemoveKnowledgeEntry")]
    Task<bool> RemoveKnowledgeEntryAsync(string entityId);

    /// <summary>Lists the knowledge base.</summary>
    [Alias("GetKnowledgeBase")]
    Task<ImmutableArray<KnowledgeEntry>> GetKnowledgeBaseAsync();
}
