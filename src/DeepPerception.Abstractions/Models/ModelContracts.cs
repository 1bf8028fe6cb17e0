using System.Collections.Immutable;

namespace DeepPerception.Abstractions.Models;

/// <summary>The fine-tuning method of a recipe (the paper's CoT-SFT stage or its GRPO stage).</summary>
[GenerateSerializer, Alias("dp.FineTuneMethod")]
public enum FineTuneMethod
{
    /// <summary>Supervised fine-tuning (chain-of-thought SFT).</summary>
    Sft = 0,

    /// <summary>Group relative policy optimisation.</summary>
    Grpo = 1,
}

/// <summary>A training recipe.</summary>
[GenerateSerializer, Immutable, Alias("dp.TrainingRecipe")]
public sealed record TrainingRecipe(
    [property: Id(0)] FineTuneMethod Method,
    [property: Id(1)] int MaxSteps,
    [property: Id(2)] double LearningRate,
    [property: Id(3)] int BatchSize,
    [property: Id(4)] int CheckpointEverySteps,
    [property: Id(5)] int Seed,
    [property: Id(6)] ImmutableDictionary<string, string> Settings);

/// <summary>Where a model version came from.</summary>
[GenerateSerializer, Immutable, Alias("dp.ModelLineage")]
public sealed record ModelLineage(
    [property: Id(0)] string BaseModel,
    [property: Id(1)] string? DatasetId,
    [property: Id(2)] int? DatasetVersion,
    [property: Id(3)] TrainingRecipe? Recipe,
    [property: Id(4)] int? ParentVersion,
    [property: Id(5)] string? JobKey);

/// <summary>A registered model version.</summary>
[GenerateSerializer, Immutable, Alias("dp.ModelVersionInfo")]
public sealed record ModelVersionInfo(
    [property: Id(0)] int Version,
    [property: Id(1)] string CheckpointKey,
    [property: Id(2)] ModelLineage Lineage,
    [property: Id(3)] ImmutableDictionary<string, double> Metrics,
    [property: Id(4)] DateTimeOffset CreatedAt);

/// <summary>Request to create a model from a base checkpoint.</summary>
[GenerateSerializer, Immutable, Alias("dp.CreateModelRequest")]
public sealed record CreateModelRequest(
    [property: Id(0)] string DisplayName,
    [property: Id(1)] string BaseModel,
    [property: Id(2)] string BaseCheckpointKey);

/// <summary>Request to register a version.</summary>
[GenerateSerializer, Immutable, Alias("dp.RegisterModelVersionRequest")]
public sealed record RegisterModelVersionRequest(
    [property: Id(0)] string CheckpointKey,
    [property: Id(1)] ModelLineage Lineage,
    [property: Id(2)] ImmutableDictionary<string, double> Metrics);

/// <summary>A model and its versions.</summary>
[GenerateSerializer, Immutable, Alias("dp.ModelInfo")]
public sealed record ModelInfo(
    [property: Id(0)] string TenantId,
    [property: Id(1)] string ModelId,
    [property: Id(2)] string DisplayName,
    [property: Id(3)] string BaseModel,
    [property: Id(4)] string BaseCheckpointKey,
    [property: Id(5)] DateTimeOffset CreatedAt,
    [property: Id(6)] ImmutableArray<ModelVersionInfo> Versions,
    [property: Id(7)] int? ActiveVersion);

/// <summary>A tenant's model: versions with lineage and the active (promoted) version. Keyed "{tenantId}/{modelId}".</summary>
[Alias("dp.IModelGrain")]
public interface IModelGrain : IGrainWithStringKey
{
    /// <summary>Creates the model (the tenant must exist).</summary>
    [Alias("Create")]
    Task<ModelInfo> CreateAsync(CreateModelRequest request);

    /// <summary>Returns whether the model exists.</summary>
    [Alias("Exists")]
    Task<bool> ExistsAsync();

    /// <summary>Returns the model.</summary>
    [Alias("Get")]
    Task<ModelInfo> GetAsync();

    /// <summary>Registers a version (numbered from 1); a parent version, when given, must exist.</summary>
    [Alias("RegisterVersion")]
    Task<ModelVersionInfo> RegisterVersionAsync(RegisterModelVersionRequest request);

    /// <summary>Returns a version.</summary>
    [Alias("GetVersion")]
    Task<ModelVersionInfo> GetVersionAsync(int version);

    /// <summary>Makes a version the active one.</summary>
    [Alias("Promote")]
    Task<ModelInfo> PromoteAsync(int version);

    /// <summary>Returns the checkpoint key of a version, or of the base checkpoint when <paramref name="version"/> is null.</summary>
    [Alias("GetCheckpointKey")]
    Task<string> GetCheckpointKeyAsync(int? version);

    /// <summary>
    /// What a ground request serves, in one call: <paramref name="version"/> when given, else the active version, else the
    /// base checkpoint (version null).
    /// </summary>
    [Alias("ResolveServing")]
    Task<ServingTarget> ResolveServingAsync(int? version);
}

/// <summary>The version (null: the base checkpoint) and checkpoint a ground request is served from.</summary>
[GenerateSerializer, Immutable, Alias("dp.ServingTarget")]
public sealed record ServingTarget([property: Id(0)] int? Version, [property: Id(1)] string CheckpointKey);
