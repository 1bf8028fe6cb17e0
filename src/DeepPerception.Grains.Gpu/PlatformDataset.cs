using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using DeepPerception.Abstractions.Datasets;
using DeepPerception.Kvg;
using DeepPerception.ML.Preprocessing.Images;
using DeepPerception.Storage;

namespace DeepPerception.Grains.Gpu;

/// <summary>A dataset in the platform format is not usable for training (bad record, missing knowledge).</summary>
public sealed class DatasetFormatException(string message) : FormatException(message);

/// <summary>One training sample of a platform-format dataset, its image decoded.</summary>
/// <param name="Id">The record id.</param>
/// <param name="Image">The decoded image.</param>
/// <param name="Entity">The target entity.</param>
/// <param name="Domain">The domain (category).</param>
/// <param name="Query">The grounding query.</param>
/// <param name="Box">The answer box on the 0–1000 grid (x1, y1, x2, y2).</param>
public sealed record PlatformSample(string Id, RgbImage Image, string Entity, string Domain, string Query, (int X1, int Y1, int X2, int Y2) Box)
{
    /// <summary>The answer block (GRPO solution and the end of a CoT target).</summary>
    public string Solution => KvgPrompts.Solution(Entity, Box.X1, Box.Y1, Box.X2, Box.Y2);

    /// <summary>The direct (native grounding) target.</summary>
    public string DirectTarget => KvgPrompts.NativeAnswer(Entity, Box.X1, Box.Y1, Box.X2, Box.Y2);

    /// <summary>
    /// A chain-of-thought target: a think block that recalls the entity's knowledge-base description and locates it,
    /// then the answer block.
    /// </summary>
    public string CotTarget(KnowledgeEntry knowledge)
    {
        ArgumentNullException.ThrowIfNull(knowledge);
        var box = KvgPrompts.BoxText(Box.X1, Box.Y1, Box.X2, Box.Y2);
        return $"<think>{knowledge.Description.Trim()} The {Domain} that matches is at {box}. So it is {Entity}.</think>\n{Solution}";
    }
}

/// <summary>Reads platform-format datasets (<c>records.jsonl</c> + images next to it) from the artifact store.</summary>
public static partial class PlatformDataset
{
    /// <summary>
    /// Loads every record of the samples index <paramref name="samplesIndexKey"/>; image paths are relative to the
    /// index's folder.
    /// </summary>
    /// <exception cref="DatasetFormatException">A record is malformed.</exception>
    public static async Task<IReadOnlyList<PlatformSample>> LoadAsync(IArtifactStore store, string samplesIndexKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArtifactKey.Validate(samplesIndexKey);
        var slash = samplesIndexKey.LastIndexOf('/');
        var folder = slash < 0 ? string.Empty : samplesIndexKey[..slash];
        var text = await store.GetTextAsync(samplesIndexKey, cancellationToken).ConfigureAwait(false);
        var samples = new List<PlatformSample>();
        var lineNumber = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            string Where() => $"{samplesIndexKey}:{lineNumber}";
            JsonElement root;
            try
            {
                root = JsonDocument.Parse(line).RootElement.Clone();
            }
            catch (JsonException ex)
            {
                throw new DatasetFormatException($"{Where()}: not valid JSON ({ex.Message}).");
            }

            string Field(string name) =>
                root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s
                    ? s
                    : throw new DatasetFormatException($"{Where()}: missing or empty string field '{name}'.");
            var id = Field("id");
            var image = Field("image");
            var entity = Field("entity");
            var domain = Field("domain");
            var query = root.TryGetProperty("query", out var q) && q.ValueKind == JsonValueKind.String ? q.GetString()! : KvgPrompts.Query(entity);
            var answer = Field("answer");
            var m = BoxRegex().Match(answer);
            if (!m.Success)
            {
                throw new DatasetFormatException($"{Where()}: answer '{answer}' is not a box '(x1,y1),(x2,y2)' on the 0-1000 grid.");
            }

            var box = (Int(m, 1), Int(m, 2), Int(m, 3), Int(m, 4));
            var imageKey = folder.Length == 0 ? image : folder + "/" + image;
            if (!ArtifactKey.IsValid(imageKey))
            {
                throw new DatasetFormatException($"{Where()}: image path '{image}' is not a valid artifact path.");
            }

            var bytes = (await store.GetAsync(imageKey, cancellationToken).ConfigureAwait(false)).Content;
            RgbImage decoded;
            try
            {
                decoded = SafeImageDecoder.Default.Decode(bytes);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                throw new DatasetFormatException($"{Where()}: image '{imageKey}' cannot be decoded ({ex.Message}).");
            }

            samples.Add(new PlatformSample(id, decoded, entity, domain, query, box));
        }

        if (samples.Count == 0)
        {
            throw new DatasetFormatException($"{samplesIndexKey}: the dataset has no records.");
        }

        return samples;
    }

    /// <summary>Finds the knowledge entry of an entity by name, id or alias.</summary>
    public static KnowledgeEntry? FindKnowledge(IEnumerable<KnowledgeEntry> knowledge, string entity) =>
        knowledge.FirstOrDefault(k => k.Name == entity)
        ?? knowledge.FirstOrDefault(k => k.EntityId == entity || (!k.Aliases.IsDefault && k.Aliases.Contains(entity)));

    private static int Int(Match m, int group) => int.Parse(m.Groups[group].Value, NumberStyles.Integer, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^\s*\((\d+),\s*(\d+)\),\s*\((\d+),\s*(\d+)\)\s*$")]
    private static partial Regex BoxRegex();
}
