using System.Globalization;
using System.Text.Json;
using DeepPerception.Abstractions.Datasets;
using DeepPerception.Client;
using DeepPerception.Data.Validation;
using DeepPerception.Kvg;
using DeepPerception.ML.Preprocessing.Images;

namespace DeepPerception.Api.Uploads;

/// <summary>The platform-format folder built from an upload: the accepted records and every rejected one.</summary>
/// <param name="Directory">The folder (records.jsonl, images/, knowledge.json) holding only accepted records.</param>
/// <param name="Accepted">Accepted records.</param>
/// <param name="Rejected">Rejected records with reasons (conversion and validation).</param>
/// <param name="Warnings">Findings not tied to a record.</param>
/// <param name="Knowledge">The knowledge base written to knowledge.json.</param>
public sealed record IngestedDataset(string Directory, int Accepted, IReadOnlyList<RejectedRecordDto> Rejected, IReadOnlyList<string> Warnings,
    IReadOnlyDictionary<string, UploadedKnowledge> Knowledge);

/// <summary>
/// Normalises converted records into the platform format (one image file per distinct image, renamed to safe artifact
/// names; width/height from the image header; the answer on the 0–1000 grid), writes <c>knowledge.json</c> from the
/// upload's knowledge and the dataset's knowledge base, runs <see cref="DatasetValidator"/> and keeps only the records
/// without problems.
/// </summary>
public static class DatasetIngest
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Builds the platform folder <paramref name="output"/> from the upload at <paramref name="root"/>.</summary>
    public static IngestedDataset Build(string root, string output, ConvertedUpload upload, IEnumerable<KnowledgeEntry> knowledgeBase)
    {
        ArgumentNullException.ThrowIfNull(upload);
        Directory.CreateDirectory(Path.Combine(output, "images"));
        var rejected = new List<RejectedRecordDto>(upload.Rejected);
        var warnings = new List<string>(upload.Warnings);
        var imageMap = new Dictionary<string, (string Relative, int Width, int Height, ExifOrientation Orientation)?>(StringComparer.Ordinal);
        var byName = new Lazy<ILookup<string, string>>(() => Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .ToLookup(f => Path.GetFileName(f), StringComparer.Ordinal));
        var lines = new List<(UploadRecord Record, string Json)>();
        var fullRoot = Path.GetFullPath(root);
        foreach (var record in upload.Records)
        {
            var reasons = new List<string>();
            var image = ResolveImage(fullRoot, record.Image, byName, imageMap, output, reasons);
            if (image is null)
            {
                rejected.Add(new RejectedRecordDto(record.Source, record.Line, record.Id, reasons));
                continue;
            }

            var (relative, width, height, orientation) = image.Value;
            if ((record.DeclaredWidth is { } dw && dw != width) || (record.DeclaredHeight is { } dh && dh != height))
            {
                // Sizes and boxes are in the pixels of the image as displayed (EXIF orientation applied).
                var rotated = orientation.SwapsAxes() && record.DeclaredWidth == height && record.DeclaredHeight == width
                    ? $" as displayed: its EXIF orientation {(int)orientation} turns the stored {height}x{width} pixels; sizes and boxes must be in the displayed image's pixels"
                    : string.Empty;
                rejected.Add(new RejectedRecordDto(record.Source, record.Line, record.Id,
                    [$"SizeMismatch: the annotation says {record.DeclaredWidth}x{record.DeclaredHeight} but '{record.Image}' is {width}x{height}{rotated}"]));
                continue;
            }

            var box = record.Box ?? (record.GridBox is { } g
                ? [g[0] * width / 1000.0, g[1] * height / 1000.0, g[2] * width / 1000.0, g[3] * height / 1000.0]
                : null);
            if (box is null || box.Any(v => !double.IsFinite(v)))
            {
                rejected.Add(new RejectedRecordDto(record.Source, record.Line, record.Id, ["NonFiniteBox: the box has a NaN or infinite coordinate"]));
                continue;
            }

            var grid = record.GridBox is { } gb
                ? gb.Select(v => (int)Math.Clamp(Math.Round(v), 0, 1000)).ToArray()
                : [Grid(box[0], width), Grid(box[1], height), Grid(box[2], width), Grid(box[3], height)];
            var id = record.Id ?? $"{Path.GetFileNameWithoutExtension(record.Source)}-{record.Line}";
            var json = JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["id"] = id,
                ["image"] = relative,
                ["width"] = width,
                ["height"] = height,
                ["entity"] = record.Entity,
                ["domain"] = record.Domain,
                ["box"] = box,
                ["query"] = record.Query ?? KvgPrompts.Query(record.Entity),
                ["answer"] = KvgPrompts.BoxText(grid[0], grid[1], grid[2], grid[3]),
            });
            lines.Add((record with { Id = id }, json));
        }

        var knowledge = BuildKnowledge(upload, knowledgeBase, lines.Select(l => l.Record));
        File.WriteAllText(Path.Combine(output, "knowledge.json"), JsonSerializer.Serialize(knowledge.ToDictionary(kv => kv.Key, kv => new
        {
            domain = kv.Value.Domain,
            text = kv.Value.Text,
            attributes = kv.Value.Attributes,
        }), Indented));
        var recordsPath = Path.Combine(output, "records.jsonl");
        File.WriteAllLines(recordsPath, lines.Select(l => l.Json));
        var report = new DatasetValidator().Validate(output);
        var bad = report.BadLines.ToHashSet();
        foreach (var issue in report.Issues.Where(i => i.LineNumber == 0))
        {
            warnings.Add(issue.ToString());
        }

        foreach (var lineNumber in report.BadLines)
        {
            var (record, _) = lines[lineNumber - 1];
            rejected.Add(new RejectedRecordDto(record.Source, record.Line, record.Id,
                report.IssuesAt(lineNumber).Select(i => $"{i.Kind}: {i.Message}").ToArray()));
        }

        var kept = lines.Where((_, i) => !bad.Contains(i + 1)).ToArray();
        File.WriteAllLines(recordsPath, kept.Select(l => l.Json));
        var used = kept.Select(l => JsonDocument.Parse(l.Json).RootElement.GetProperty("image").GetString()!).ToHashSet(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(Path.Combine(output, "images")))
        {
            if (!used.Contains("images/" + Path.GetFileName(file)))
            {
                File.Delete(file);
            }
        }

        return new IngestedDataset(output, kept.Length, rejected.OrderBy(r => r.Source, StringComparer.Ordinal).ThenBy(r => r.Line).ToArray(), warnings, knowledge);
    }

    private static (string Relative, int Width, int Height, ExifOrientation Orientation)? ResolveImage(string root, string image, Lazy<ILookup<string, string>> byName,
        Dictionary<string, (string Relative, int Width, int Height, ExifOrientation Orientation)?> map, string output, List<string> reasons)
    {
        string relative;
        try
        {
            relative = SafeArchive.SafeRelativePath(image, "image path");
        }
        catch (UnprocessableException ex)
        {
            reasons.Add($"UnsafeImagePath: {ex.Message}");
            return null;
        }

        var path = Path.GetFullPath(Path.Combine(root, relative));
        if (!File.Exists(path))
        {
            // COCO and ODVG files often name images relative to another folder: fall back to a unique file of that name.
            var candidates = byName.Value[Path.GetFileName(relative)].ToArray();
            if (candidates.Length != 1)
            {
                reasons.Add(candidates.Length == 0
                    ? $"MissingImage: image '{image}' is not in the upload"
                    : $"MissingImage: image '{image}' is ambiguous ({candidates.Length} files of that name)");
                return null;
            }

            path = candidates[0];
        }

        if (map.TryGetValue(path, out var known))
        {
            if (known is null)
            {
                reasons.Add($"UndecodableImage: image '{image}' cannot be decoded (see the first record that uses it)");
            }

            return known;
        }

        try
        {
            var bytes = File.ReadAllBytes(path);
            var header = SafeImageDecoder.Default.Inspect(bytes);
            var extension = header.Format.ToString().ToLowerInvariant();
            var name = $"images/{map.Count:D6}.{extension}";
            File.WriteAllBytes(Path.Combine(output, name), bytes);
            var entry = (name, header.Width, header.Height, header.Orientation);
            map[path] = entry;
            return entry;
        }
        catch (ImageDecodeException ex)
        {
            map[path] = null;
            reasons.Add($"UndecodableImage: image '{image}' cannot be decoded ({ex.Reason}: {ex.Message})");
            return null;
        }
    }

    private static Dictionary<string, UploadedKnowledge> BuildKnowledge(ConvertedUpload upload, IEnumerable<KnowledgeEntry> knowledgeBase,
        IEnumerable<UploadRecord> records)
    {
        var domains = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var r in records)
        {
            domains.TryAdd(r.Entity, r.Domain);
        }

        var result = new Dictionary<string, UploadedKnowledge>(upload.Knowledge, StringComparer.Ordinal);
        foreach (var entry in knowledgeBase)
        {
            if (result.ContainsKey(entry.Name))
            {
                continue;
            }

            var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
            if (!entry.Aliases.IsDefault)
            {
                for (var i = 0; i < entry.Aliases.Length; i++)
                {
                    attributes[string.Create(CultureInfo.InvariantCulture, $"alias_{i}")] = entry.Aliases[i];
                }
            }

            result[entry.Name] = new UploadedKnowledge(domains.GetValueOrDefault(entry.Name, string.Empty), entry.Description, attributes);
        }

        return result;
    }

    private static int Grid(double v, int size) => Math.Clamp((int)Math.Floor(v * 1000 / size), 0, 1000);
}
