using System.Collections.Immutable;
using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Compute;
using DeepPerception.Abstractions.Datasets;
using DeepPerception.Abstractions.Models;
using DeepPerception.Abstractions.Tenancy;
using DeepPerception.Abstractions.Work;
using DeepPerception.Client;

namespace DeepPerception.Api.Services;

/// <summary>Maps grain DTOs to the API's wire contracts (tenant prefixes stripped from ids).</summary>
public static class Mapping
{
    /// <summary>The wire name of a tenant role.</summary>
    public static string RoleName(TenantRole role) => role == TenantRole.TenantAdmin ? "admin" : "member";

    /// <summary>Parses a wire role name ("member" or "admin"; default member).</summary>
    public static TenantRole ParseRole(string? role) => role switch
    {
        null or "" or "member" => TenantRole.TenantMember,
        "admin" => TenantRole.TenantAdmin,
        _ => throw new InvalidRequestException($"role must be 'member' or 'admin' (got '{role}')."),
    };

    /// <summary>A tenant.</summary>
    public static TenantDto Tenant(TenantProfile p) => new(p.TenantId, p.DisplayName, p.CreatedAt, p.Quota.GpuSecondsBudget,
        p.Quota.GpuSecondsCharged, p.Quota.RemainingGpuSeconds, p.Quota.RequestsPerMinute, p.MemberCount);

    /// <summary>An API key.</summary>
    public static ApiKeyDto Key(ApiKeyInfo k) => new(k.KeyId, k.Name, RoleName(k.Role), k.CreatedAt, k.RevokedAt);

    /// <summary>A member.</summary>
    public static MemberDto Member(TenantMember m) => new(m.UserId, RoleName(m.Role), m.AddedAt);

    /// <summary>A dataset.</summary>
    public static DatasetDto Dataset(DatasetInfo d) => new(d.DatasetId, d.DisplayName, d.Description, d.CreatedAt,
        d.Versions.IsDefault ? [] : d.Versions.Select(DatasetVersion).ToArray(), d.KnowledgeEntryCount);

    /// <summary>A dataset version.</summary>
    public static DatasetVersionDto DatasetVersion(DatasetVersionInfo v) => new(v.Version, v.SampleCount, v.Description, v.CreatedAt,
        v.IsLocked, v.UsedBy.IsDefault ? [] : v.UsedBy.Select(LocalId).ToArray(), v.Validation is null ? null : Report(v.Validation));

    /// <summary>A validation report.</summary>
    public static ValidationReportDto Report(DatasetValidationReport r) => new(r.CheckedSamples, r.IsValid,
        r.Issues.IsDefault ? [] : r.Issues.Select(i => new ValidationIssueDto(i.IsError, i.Code, i.Message, i.SampleId)).ToArray(), r.ValidatedAt);

    /// <summary>A knowledge entry.</summary>
    public static KnowledgeEntryDto Knowledge(KnowledgeEntry e) => new(e.EntityId, e.Name, e.Description, e.Aliases.IsDefault ? [] : e.Aliases.ToArray());

    /// <summary>A recipe.</summary>
    public static RecipeDto Recipe(TrainingRecipe r) => new(r.Method == FineTuneMethod.Grpo ? "grpo" : "sft", r.MaxSteps, r.LearningRate,
        r.BatchSize, r.CheckpointEverySteps, r.Seed, r.Settings ?? ImmutableDictionary<string, string>.Empty);

    /// <summary>A progress snapshot.</summary>
    public static ProgressDto Progress(JobProgress p) => new(p.Step, p.TotalSteps,
        p.Metrics ?? ImmutableDictionary<string, double>.Empty, p.Message, p.CheckpointKey is not null);

    /// <summary>A fine-tuning job.</summary>
    public static FineTuneJobDto Job(FineTuneJobStatus s) => new(LocalId(s.JobKey), s.State.ToString().ToLowerInvariant(), s.Phase,
        s.Attempt, s.StatusMessage, s.LatestProgress is null ? null : Progress(s.LatestProgress), s.ResultModelVersion,
        s.Outcome?.Metrics, s.Outcome?.Error, s.SubmittedAt, s.UpdatedAt, s.Request.ModelId, s.Request.ParentModelVersion,
        s.Request.DatasetId, s.Request.DatasetVersion, Recipe(s.Request.Recipe), s.Request.EstimatedGpuSeconds);

    /// <summary>A model version.</summary>
    public static ModelVersionDto ModelVersion(ModelVersionInfo v) => new(v.Version, v.CreatedAt,
        v.Metrics ?? ImmutableDictionary<string, double>.Empty, Lineage(v.Lineage));

    /// <summary>A lineage.</summary>
    public static LineageDto Lineage(ModelLineage l) => new(l.BaseModel, l.DatasetId, l.DatasetVersion, l.ParentVersion,
        l.JobKey is null ? null : LocalId(l.JobKey), l.Recipe is null ? null : Recipe(l.Recipe));

    /// <summary>A model.</summary>
    public static ModelDto Model(ModelInfo m) => new(m.ModelId, m.DisplayName, m.BaseModel, m.CreatedAt, m.ActiveVersion,
        m.Versions.IsDefault ? [] : m.Versions.Select(ModelVersion).ToArray());

    /// <summary>A GPU silo.</summary>
    public static SiloDto Silo(GpuSiloStatus s) => new(s.Descriptor.SiloId, s.Descriptor.SiloName, s.Descriptor.DeviceName,
        s.Descriptor.DeviceMemoryBytes, s.Descriptor.MaxConcurrentWork, s.IsActive, s.IsCordoned, s.IsDraining, s.AcceptsWork,
        s.RunningWork.IsDefault ? [] : s.RunningWork.ToArray(), s.RegisteredAt);

    /// <summary>A scheduler placement.</summary>
    public static PlacementDto Placement(WorkPlacement p) => new(p.WorkKey, p.State.ToString().ToLowerInvariant(),
        p.Priority.ToString(), p.QueuePosition, p.SiloId, p.Reason);

    /// <summary>The id part of a tenant-scoped key ("tenant/id" → "id"); other strings unchanged.</summary>
    public static string LocalId(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        return slash >= 0 ? key[(slash + 1)..] : key;
    }
}
