using System.Collections.Immutable;
using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Models;

namespace DeepPerception.Grains.Models;

/// <summary>The persistent state of a model and its rules.</summary>
public sealed class ModelState
{
    /// <summary>Whether the model was created.</summary>
    public bool Created { get; set; }

    /// <summary>The display name.</summary>
    public string DisplayName { get; set; } = string.Empty;

    /// <summary>The base model name.</summary>
    public string BaseModel { get; set; } = string.Empty;

    /// <summary>The base checkpoint.</summary>
    public string BaseCheckpointKey { get; set; } = string.Empty;

    /// <summary>When it was created.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>Versions by number.</summary>
    public SortedDictionary<int, ModelVersionInfo> Versions { get; set; } = new();

    /// <summary>The active version.</summary>
    public int? ActiveVersion { get; set; }

    /// <summary>Throws when the model does not exist.</summary>
    public void RequireCreated(string key)
    {
        if (!Created)
        {
            throw new ResourceNotFoundException($"Model '{key}' does not exist.");
        }
    }

    /// <summary>Returns a version or throws.</summary>
    public ModelVersionInfo Version(string key, int version) =>
        Versions.TryGetValue(version, out var info)
            ? info
            : throw new ResourceNotFoundException($"Model '{key}' has no version {version}.");

    /// <summary>Registers a version.</summary>
    public ModelVersionInfo Register(string key, string tenantId, RegisterModelVersionRequest request, DateTimeOffset now)
    {
        PlatformKeys.RequireTenantArtifact(tenantId, request.CheckpointKey, "checkpoint key");
        if (request.Lineage.ParentVersion is { } parent)
        {
            Version(key, parent);
        }

        if (request.Lineage.BaseModel != BaseModel)
        {
            throw new InvalidRequestException(
                $"Lineage base model '{request.Lineage.BaseModel}' does not match the model's base '{BaseModel}'.");
        }

        var number = Versions.Count == 0 ? 1 : Versions.Keys.Max() + 1;
        var info = new ModelVersionInfo(number, request.CheckpointKey, request.Lineage,
            request.Metrics ?? ImmutableDictionary<string, double>.Empty, now);
        Versions[number] = info;
        return info;
    }

    /// <summary>The model view.</summary>
    public ModelInfo ToInfo(string tenantId, string modelId) =>
        new(tenantId, modelId, DisplayName, BaseModel, BaseCheckpointKey, CreatedAt, Versions.Values.ToImmutableArray(),
            ActiveVersion);
}
