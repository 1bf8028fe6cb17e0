using System.Collections.Immutable;
using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Datasets;
using DeepPerception.Data.Synth;
using DeepPerception.Storage;

namespace DeepPerception.Grains.Gpu;

/// <summary>A dataset published to the artifact store.</summary>
/// <param name="SamplesIndexKey">The key of <c>records.jsonl</c>.</param>
/// <param name="SampleCount">Records written.</param>
/// <param name="KnowledgeBase">The knowledge base as platform entries.</param>
public sealed record PublishedDataset(string SamplesIndexKey, int SampleCount, ImmutableArray<KnowledgeEntry> KnowledgeBase);

/// <summary>Publishes KVG-Synth samples in the platform dataset format (records.jsonl + images/ + knowledge.json).</summary>
public static class SynthDatasetPublisher
{
    /// <summary>
    /// The platform knowledge entries of a KVG-Synth knowledge base: id <see cref="EntityId"/> of the name, the entity
    /// name as name, its knowledge text as description.
    /// </summary>
    public static ImmutableArray<KnowledgeEntry> KnowledgeEntries(IReadOnlyDictionary<string, SynthKnowledgeEntry> knowledge)
    {
        ArgumentNullException.ThrowIfNull(knowledge);
        return knowledge.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => new KnowledgeEntry(EntityId(kv.Key), kv.Key, kv.Value.Text, [], []))
            .ToImmutableArray();
    }

    /// <summary>A platform entity id for an entity name (<see cref="PlatformKeys.EntityId"/>).</summary>
    /// <exception cref="ArgumentException">The name has no letter or digit.</exception>
    public static string EntityId(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return PlatformKeys.EntityId(name) ?? throw new ArgumentException($"Entity name '{name}' has no letter or digit.", nameof(name));
    }

    /// <summary>
    /// Exports <paramref name="samples"/> with <see cref="SynthExporter.ExportPlatform"/> into a scratch folder and uploads
    /// it with <see cref="UploadFolderAsync"/>.
    /// </summary>
    public static async Task<PublishedDataset> PublishAsync(IArtifactStore store, string prefix, IEnumerable<SynthSample> samples,
        IReadOnlyDictionary<string, SynthKnowledgeEntry> knowledge, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArtifactKey.ValidatePrefix(prefix);
        var scratch = Path.Combine(Path.GetTempPath(), $"dp-dataset-{Guid.NewGuid():N}");
        try
        {
            var count = SynthExporter.ExportPlatform(samples, knowledge, scratch);
            var key = await UploadFolderAsync(store, prefix, scratch, cancellationToken).ConfigureAwait(false);
            return new PublishedDataset(key, count, KnowledgeEntries(knowledge));
        }
        finally
        {
            if (Directory.Exists(scratch))
            {
                Directory.Delete(scratch, recursive: true);
            }
        }
    }

    /// <summary>
    /// Uploads a platform-format dataset folder under <paramref name="prefix"/>, <c>records.jsonl</c> last, and returns
    /// the samples index key.
    /// </summary>
    public static async Task<string> UploadFolderAsync(IArtifactStore store, string prefix, string directory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArtifactKey.ValidatePrefix(prefix);
        if (!File.Exists(Path.Combine(directory, SynthExporter.RecordsFile)))
        {
            throw new FileNotFoundException($"'{directory}' has no {SynthExporter.RecordsFile}.", Path.Combine(directory, SynthExporter.RecordsFile));
        }

        var files = Directory.GetFiles(directory, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(directory, f).Replace(Path.DirectorySeparatorChar, '/'))
            .OrderBy(f => f == SynthExporter.RecordsFile ? 1 : 0)
            .ThenBy(f => f, StringComparer.Ordinal);
        foreach (var relative in files)
        {
            await using var stream = File.OpenRead(Path.Combine(directory, relative));
            await store.PutAsync(ArtifactKey.Combine(prefix, relative), stream, new ArtifactWriteOptions
            {
                ContentType = relative.EndsWith(".png", StringComparison.Ordinal) ? "image/png" : "application/json",
            }, cancellationToken).ConfigureAwait(false);
        }

        return ArtifactKey.Combine(prefix, SynthExporter.RecordsFile);
    }
}
