using System.Collections.Immutable;
using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Datasets;

namespace DeepPerception.Grains.Datasets;

/// <summary>The persistent state of a dataset and its rules.</summary>
public sealed class DatasetState
{
    /// <summary>Whether the dataset was created.</summary>
    public bool Created { get; set; }

    /// <summary>The display name.</summary>
    public string DisplayName { get; set; } = string.Empty;

    /// <summary>A description.</summary>
    public string? Description { get; set; }

    /// <summary>When it was created.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The next version number.</summary>
    public int NextVersion { get; set; } = 1;

    /// <summary>The versions by number.</summary>
    public SortedDictionary<int, DatasetVersionInfo> Versions { get; set; } = new();

    /// <summary>The knowledge base by entity id.</summary>
    public SortedDictionary<string, KnowledgeEntry> Knowledge { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Throws when the dataset does not exist.</summary>
    public void RequireCreated(string key)
    {
        if (!Created)
        {
            throw new ResourceNotFoundException($"Dataset '{key}' does not exist.");
        }
    }

    /// <summary>Returns a version or throws.</summary>
    public DatasetVersionInfo Version(string key, int version) =>
        Versions.TryGetValue(version, out var info)
            ? info
            : throw new ResourceNotFoundException($"Dataset '{key}' has no version {version}.");

    /// <summary>Adds a version.</summary>
    public DatasetVersionInfo AddVersion(string tenantId, AddDatasetVersionRequest request, DateTimeOffset now)
    {
        PlatformKeys.RequireTenantArtifact(tenantId, request.SamplesIndexKey, "samples index key");
        if (request.SampleCount <= 0)
        {
            throw new InvalidRequestException($"A dataset version needs at least one sample (got {request.SampleCount}).");
        }

        var info = new DatasetVersionInfo(NextVersion, request.SamplesIndexKey, request.SampleCount, request.Description,
            now, null, []);
        Versions[NextVersion] = info;
        NextVersion++;
        return info;
    }

    /// <summary>Attaches a validation report to an unlocked version.</summary>
    public DatasetVersionInfo SetValidation(string key, int version, DatasetValidationReport report)
    {
        var info = RequireUnlocked(key, version, "replace its validation report");
        var updated = info with { Validation = report };
        Versions[version] = updated;
        return updated;
    }

    /// <summary>Deletes an unlocked version.</summary>
    public void DeleteVersion(string key, int version)
    {
        RequireUnlocked(key, version, "delete it");
        Versions.Remove(version);
    }

    /// <summary>Freezes a version for the given user of it.</summary>
    public DatasetVersionInfo MarkUsed(string key, int version, string usedBy)
    {
        var info = Version(key, version);
        if (info.Validation is { IsValid: false })
        {
            throw new ConflictException(
                $"Dataset '{key}' version {version} failed validation ({info.Validation.Issues.Count(i => i.IsError)} errors) and cannot be used.");
        }

        if (info.UsedBy.Contains(usedBy))
        {
            return info;
        }

        var updated = info with { UsedBy = info.UsedBy.IsDefault ? [usedBy] : info.UsedBy.Add(usedBy) };
        Versions[version] = updated;
        return updated;
    }

    /// <summary>Adds or replaces a knowledge entry.</summary>
    public void Upsert(KnowledgeEntry entry)
    {
        PlatformKeys.ValidateId(entry.EntityId, "entity id");
        if (string.IsNullOrWhiteSpace(entry.Name))
        {
            throw new InvalidRequestException($"Knowledge entry '{entry.EntityId}' needs a name.");
        }

        Knowledge[entry.EntityId] = entry;
    }

    /// <summary>The dataset view.</summary>
    public DatasetInfo ToInfo(string tenantId, string datasetId) =>
        new(tenantId, datasetId, DisplayName, Description, CreatedAt, Versions.Values.ToImmutableArray(), Knowledge.Count);

    private DatasetVersionInfo RequireUnlocked(string key, int version, string action)
    {
        var info = Version(key, version);
        if (info.IsLocked)
        {
            throw new ConflictException(
                $"Dataset '{key}' version {version} is immutable because it was used by {string.Join(", ", info.UsedBy)}; cannot {action}.");
        }

        return info;
    }
}
