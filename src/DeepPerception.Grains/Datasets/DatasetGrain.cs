using System.Collections.Immutable;
using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Datasets;
using DeepPerception.Abstractions.Tenancy;
using DeepPerception.Grains.Hosting;

namespace DeepPerception.Grains.Datasets;

/// <summary>The dataset grain: a thin shell over <see cref="DatasetState"/>.</summary>
[ControlPlane]
internal sealed class DatasetGrain(
    [PersistentState("dataset", PlatformStorage.Name)] IPersistentState<DatasetState> state,
    TimeProvider time) : Grain, IDatasetGrain
{
    private string Key => this.GetPrimaryKeyString();

    private DatasetState S => state.State;

    async Task<DatasetInfo> IDatasetGrain.CreateAsync(CreateDatasetRequest request)
    {
        var (tenantId, datasetId) = PlatformKeys.Split(Key);
        if (S.Created)
        {
            throw new ConflictException($"Dataset '{Key}' already exists.");
        }

        if (!await GrainFactory.GetGrain<ITenantGrain>(tenantId).ExistsAsync())
        {
            throw new ResourceNotFoundException($"Tenant '{tenantId}' does not exist.");
        }

        if (string.IsNullOrWhiteSpace(request.DisplayName))
        {
            throw new InvalidRequestException("The dataset display name is required.");
        }

        S.Created = true;
        S.DisplayName = request.DisplayName.Trim();
        S.Description = request.Description;
        S.CreatedAt = time.GetUtcNow();
        await state.WriteStateAsync();
        return S.ToInfo(tenantId, datasetId);
    }

    Task<bool> IDatasetGrain.ExistsAsync() => Task.FromResult(S.Created);

    Task<DatasetInfo> IDatasetGrain.GetAsync()
    {
        S.RequireCreated(Key);
        var (tenantId, datasetId) = PlatformKeys.Split(Key);
        return Task.FromResult(S.ToInfo(tenantId, datasetId));
    }

    async Task<DatasetVersionInfo> IDatasetGrain.AddVersionAsync(AddDatasetVersionRequest request)
    {
        S.RequireCreated(Key);
        var info = S.AddVersion(PlatformKeys.Split(Key).TenantId, request, time.GetUtcNow());
        await state.WriteStateAsync();
        return info;
    }

    Task<DatasetVersionInfo> IDatasetGrain.GetVersionAsync(int version)
    {
        S.RequireCreated(Key);
        return Task.FromResult(S.Version(Key, version));
    }

    async Task<DatasetVersionInfo> IDatasetGrain.SetValidationReportAsync(int version, DatasetValidationReport report)
    {
        S.RequireCreated(Key);
        var info = S.SetValidation(Key, version, report);
        await state.WriteStateAsync();
        return info;
    }

    async Task IDatasetGrain.DeleteVersionAsync(int version)
    {
        S.RequireCreated(Key);
        S.DeleteVersion(Key, version);
        await state.WriteStateAsync();
    }

    async Task<DatasetVersionInfo> IDatasetGrain.MarkVersionUsedAsync(int version, string usedBy)
    {
        S.RequireCreated(Key);
        var info = S.MarkUsed(Key, version, usedBy);
        await state.WriteStateAsync();
        return info;
    }

    async Task IDatasetGrain.UpsertKnowledgeEntryAsync(KnowledgeEntry entry)
    {
        S.RequireCreated(Key);
        S.Upsert(entry);
        await state.WriteStateAsync();
    }

    async Task<bool> IDatasetGrain.RemoveKnowledgeEntryAsync(string entityId)
    {
        S.RequireCreated(Key);
        var removed = S.Knowledge.Remove(entityId);
        if (removed)
        {
            await state.WriteStateAsync();
        }

        return removed;
    }

    Task<ImmutableArray<KnowledgeEntry>> IDatasetGrain.GetKnowledgeBaseAsync()
    {
        S.RequireCreated(Key);
        return Task.FromResult(S.Knowledge.Values.ToImmutableArray());
    }
}
