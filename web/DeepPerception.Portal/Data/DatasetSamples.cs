using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using DeepPerception.Api.Identity;
using DeepPerception.Api.Services;
using DeepPerception.Storage;

namespace DeepPerception.Portal.Data;

/// <summary>A sample of a dataset version for the gallery: its image as a data URL and its box on the 0–1000 grid.</summary>
/// <param name="Id">The record id.</param>
/// <param name="Entity">The target entity.</param>
/// <param name="Domain">The domain.</param>
/// <param name="Query">The grounding query.</param>
/// <param name="ImageDataUrl">The image.</param>
/// <param name="Image">The encoded image bytes.</param>
/// <param name="Box">The true box on the 0–1000 grid, or null when the answer is not a box.</param>
public sealed record DatasetSample(string Id, string Entity, string Domain, string Query, string ImageDataUrl, byte[] Image, DrawnBox? Box);

/// <summary>Reads a page of a dataset version's samples (platform format: <c>records.jsonl</c> and images) for display.</summary>
public sealed partial class DatasetSamples(DatasetService datasets, IArtifactStore store)
{
    /// <summary>The largest image shown in the gallery (bigger ones are listed without a picture).</summary>
    public const int MaxImageBytes = 4 << 20;

    /// <summary>Returns up to <paramref name="take"/> samples after <paramref name="skip"/>, and the total record count.</summary>
    public async Task<(IReadOnlyList<DatasetSample> Samples, int Total)> ReadAsync(PlatformPrincipal caller, string datasetId, int version, int skip, int take,
        CancellationToken cancellationToken = default)
    {
        var indexKey = await datasets.GetSamplesIndexKeyAsync(caller, datasetId, version);
        var folder = indexKey.Contains('/', StringComparison.Ordinal) ? indexKey[..indexKey.LastIndexOf('/')] : string.Empty;
        var lines = (await store.GetTextAsync(indexKey, cancellationToken))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var result = new List<DatasetSample>();
        foreach (var line in lines.Skip(skip).Take(take))
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            string Text(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() ?? string.Empty : string.Empty;
            var image = Text("image");
            var entity = Text("entity");
            var bytes = Array.Empty<byte>();
            var dataUrl = string.Empty;
            var key = folder.Length == 0 ? image : folder + "/" + image;
            if (image.Length > 0 && ArtifactKey.IsValid(key))
            {
                var content = await store.GetAsync(key, cancellationToken);
                if (content.Content.Length <= MaxImageBytes)
                {
                    bytes = content.Content;
                    dataUrl = $"data:{MimeType(image)};base64,{Convert.ToBase64String(bytes)}";
                }
            }

            var match = BoxPattern().Match(Text("answer"));
            var box = match.Success
                ? new DrawnBox(Num(match, 1), Num(match, 2), Num(match, 3), Num(match, 4), "true", entity)
                : null;
            result.Add(new DatasetSample(Text("id"), entity, Text("domain"), Text("query"), dataUrl, bytes, box));
        }

        return (result, lines.Length);
    }

    private static double Num(Match match, int group) => double.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);

    private static string MimeType(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".jpg" or ".jpeg" => "image/jpeg",
        ".gif" => "image/gif",
        ".webp" => "image/webp",
        ".bmp" => "image/bmp",
        _ => "image/png",
    };

    [GeneratedRegex(@"^\s*\((\d+),\s*(\d+)\),\s*\((\d+),\s*(\d+)\)\s*$")]
    private static partial Regex BoxPattern();
}
