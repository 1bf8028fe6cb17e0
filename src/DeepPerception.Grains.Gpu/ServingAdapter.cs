using System.Text.Json;
using DeepPerception.Storage;

namespace DeepPerception.Grains.Gpu;

/// <summary>
/// The LoRA delta a LoRA fine-tune keeps inside its model version folder (<c>adapter/</c>, PEFT layout) with
/// <c>adapter/base.json</c> naming the checkpoint it applies to. Serving loads such versions as adapters on a shared,
/// cached base; versions without it are served from their merged weights.
/// </summary>
public static class ServingAdapter
{
    /// <summary>The adapter's sub-folder of a model version folder.</summary>
    public const string Folder = "adapter";

    /// <summary>The file naming the adapter's base checkpoint.</summary>
    public const string BaseFile = "base.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Writes <see cref="BaseFile"/> into an adapter folder.</summary>
    public static void WriteBase(string adapterDirectory, string baseCheckpointKey) =>
        File.WriteAllText(Path.Combine(adapterDirectory, BaseFile), JsonSerializer.Serialize(new AdapterBase(baseCheckpointKey), Json));

    /// <summary>
    /// Returns the base checkpoint key of the version folder's adapter, or null when the version has no adapter or its
    /// base is not (completely) in the store.
    /// </summary>
    public static async Task<string?> ReadBaseAsync(IArtifactStore store, string checkpointKey, CancellationToken cancellationToken)
    {
        var key = ArtifactKey.Combine(checkpointKey, $"{Folder}/{BaseFile}");
        if (!await store.ExistsAsync(key, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var text = await store.GetTextAsync(key, cancellationToken).ConfigureAwait(false);
        var baseKey = JsonSerializer.Deserialize<AdapterBase>(text, Json)?.CheckpointKey;
        return baseKey is { Length: > 0 } && await ArtifactFolders.IsCompleteAsync(store, baseKey, cancellationToken).ConfigureAwait(false)
            ? baseKey
            : null;
    }

    private sealed record AdapterBase(string CheckpointKey);
}
