using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Models;
using DeepPerception.Abstractions.Tenancy;
using DeepPerception.Grains.Hosting;

namespace DeepPerception.Grains.Models;

/// <summary>The model grain: a thin shell over <see cref="ModelState"/>.</summary>
[ControlPlane]
internal sealed class ModelGrain(
    [PersistentState("model", PlatformStorage.Name)] IPersistentState<ModelState> state,
    TimeProvider time) : Grain, IModelGrain
{
    private string Key => this.GetPrimaryKeyString();

    private ModelState S => state.State;

    async Task<ModelInfo> IModelGrain.CreateAsync(CreateModelRequest request)
    {
        var (tenantId, modelId) = PlatformKeys.Split(Key);
        if (S.Created)
        {
            throw new ConflictException($"Model '{Key}' already exists.");
        }

        if (!await GrainFactory.GetGrain<ITenantGrain>(tenantId).ExistsAsync())
        {
            throw new ResourceNotFoundException($"Tenant '{tenantId}' does not exist.");
        }

        if (string.IsNullOrWhiteSpace(request.DisplayName) || string.IsNullOrWhiteSpace(request.BaseModel))
        {
            throw new InvalidRequestException("A model needs a display name and a base model.");
        }

        PlatformKeys.RequireTenantArtifact(tenantId, request.BaseCheckpointKey, "base checkpoint key");
        S.Created = true;
        S.DisplayName = request.DisplayName.Trim();
        S.BaseModel = request.BaseModel;
        S.BaseCheckpointKey = request.BaseCheckpointKey;
        S.CreatedAt = time.GetUtcNow();
        await state.WriteStateAsync();
        return S.ToInfo(tenantId, modelId);
    }

    Task<bool> IModelGrain.ExistsAsync() => Task.FromResult(S.Created);

    Task<ModelInfo> IModelGrain.GetAsync()
    {
        S.RequireCreated(Key);
        var (tenantId, modelId) = PlatformKeys.Split(Key);
        return Task.FromResult(S.ToInfo(tenantId, modelId));
    }

    async Task<ModelVersionInfo> IModelGrain.RegisterVersionAsync(RegisterModelVersionRequest request)
    {
        S.RequireCreated(Key);
        var info = S.Register(Key, PlatformKeys.Split(Key).TenantId, request, time.GetUtcNow());
        await state.WriteStateAsync();
        return info;
    }

    Task<ModelVersionInfo> IModelGrain.GetVersionAsync(int version)
    {
        S.RequireCreated(Key);
        return Task.FromResult(S.Version(Key, version));
    }

    async Task<ModelInfo> IModelGrain.PromoteAsync(int version)
    {
        S.RequireCreated(Key);
        S.Version(Key, version);
        S.ActiveVersion = version;
        await state.WriteStateAsync();
        var (tenantId, modelId) = PlatformKeys.Split(Key);
        return S.ToInfo(tenantId, modelId);
    }

    Task<string> IModelGrain.GetCheckpointKeyAsync(int? version)
    {
        S.RequireCreated(Key);
        return Task.FromResult(version is { } v ? S.Version(Key, v).CheckpointKey : S.BaseCheckpointKey);
    }

    Task<ServingTarget> IModelGrain.ResolveServingAsync(int? version)
    {
        S.RequireCreated(Key);
        var resolved = version ?? S.ActiveVersion;
        return Task.FromResult(new ServingTarget(resolved, resolved is { } v ? S.Version(Key, v).CheckpointKey : S.BaseCheckpointKey));
    }
}
