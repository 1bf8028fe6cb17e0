using System.Globalization;
using System.Text.Json;
using DeepPerception.Data.Synth;
using DeepPerception.ML.Preprocessing.Images;

namespace DeepPerception.Data.Synthesis;

/// <summary>
/// Reads a dataset folder in the platform format (<c>records.jsonl</c>, the images it names, <c>knowledge.json</c>), as
/// the platform stores every tenant dataset version, into <see cref="LabelledDataset"/>.
/// </summary>
public static class PlatformDatasetReader
{
    /// <summary>
    /// Loads the folder. Each record needs <c>id</c>, <c>image</c> (a path inside the folder), <c>entity</c>,
    /// <c>domain</c> and <c>box</c> (pixels [x1, y1, x2, y2]); the knowledge file maps entity → {domain, attributes
    /// (object or array of strings), text}.
    /// </summary>
    /// <exception cref="SynthesisInputException">A file is missing or a record or knowledge entry is malformed (named with its line).</exception>
    public static LabelledDataset Load(string directory, SafeImageDecoder? decoder = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        decoder ??= SafeImageDecoder.Default;
        var root = Path.GetFullPath(directory);
        var knowledge = ReadKnowledge(Path.Combine(root, SynthExporter.KnowledgeFile));
        var recordsPath = Path.Combine(root, SynthExporter.RecordsFile);
        if (!File.Exists(recordsPath))
        {
            throw new SynthesisInputException($"'{directory}' has no {SynthExporter.RecordsFile}.");
        }

        var images = new List<LabelledImage>();
        var decoded = new Dictionary<string, RgbImage>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var line in File.ReadLines(recordsPath))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var where = $"{SynthExporter.RecordsFile}:{lineNumber}";
            JsonElement r;
            try
            {
                using var doc = JsonDocument.Parse(line);
                r = doc.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                throw new SynthesisInputException($"{where}: not valid JSON ({ex.Message}).", ex);
            }

            if (r.ValueKind != JsonValueKind.Object)
            {
                throw new SynthesisInputException($"{where}: the record is not a JSON object.");
            }

            string Field(string name) =>
                r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s
                    ? s
                    : throw new SynthesisInputException($"{where}: missing or empty string field '{name}'.");
            var id = Field("id");
            var imagePath = Field("image");
            var entity = Field("entity");
            var domain = Field("domain");
            var full = Path.GetFullPath(Path.Combine(root, imagePath));
            if (Path.IsPathRooted(imagePath) || !full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                throw new SynthesisInputException($"{where}: image path '{imagePath}' leaves the dataset folder.");
            }

            if (!decoded.TryGetValue(full, out var image))
            {
                if (!File.Exists(full))
                {
                    throw new SynthesisInputException($"{where}: image '{imagePath}' does not exist.");
                }

                try
                {
                    image = decoder.DecodeFile(full);
                }
                catch (ImageDecodeException ex)
                {
                    throw new SynthesisInputException($"{where}: image '{imagePath}' cannot be decoded ({ex.Message}).", ex);
                }

                decoded[full] = image;
            }

            var box = ReadBox(r, where);
            try
            {
                images.Add(new LabelledImage(id, image, entity, domain, box));
            }
            catch (SynthesisInputException ex)
            {
                throw new SynthesisInputException($"{where}: {ex.Message}", ex);
            }
        }

        return new LabelledDataset(images, knowledge);
    }

    /// <summary>Reads <c>knowledge.json</c>: entity → {domain, attributes (object or array of strings), text}.</summary>
    /// <exception cref="SynthesisInputException">The file is missing or an entry has no domain or text.</exception>
    public static IReadOnlyDictionary<string, SynthKnowledgeEntry> ReadKnowledge(string path)
    {
        if (!File.Exists(path))
        {
            throw new SynthesisInputException($"The knowledge file '{path}' does not exist.");
        }

        var result = new SortedDictionary<string, SynthKnowledgeEntry>(StringComparer.Ordinal);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new SynthesisInputException($"'{path}' must hold a JSON object (entity → entry).");
            }

            foreach (var entry in doc.RootElement.EnumerateObject())
            {
                var e = entry.Value;
                string? Text(string name) => e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
                var domain = Text("domain");
                var text = Text("text");
                if (string.IsNullOrWhiteSpace(entry.Name) || string.IsNullOrWhiteSpace(domain) || string.IsNullOrWhiteSpace(text))
                {
                    throw new SynthesisInputException($"'{path}': knowledge entry '{entry.Name}' needs a non-empty name, domain and text.");
                }

                var attributes = new SortedDictionary<string, string>(StringComparer.Ordinal);
                if (e.TryGetProperty("attributes", out var a))
                {
                    if (a.ValueKind == JsonValueKind.Object)
                    {
                        foreach (var p in a.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(p.Value.GetString())))
                        {
                            attributes[p.Name] = p.Value.GetString()!;
                        }
                    }
                    else if (a.ValueKind == JsonValueKind.Array)
                    {
                        var i = 0;
                        foreach (var v in a.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(v.GetString())))
                        {
                            attributes[KnowledgeText.ListKey(i++)] = v.GetString()!;
                        }
                    }
                }

                result[entry.Name] = new SynthKnowledgeEntry(domain, attributes, text);
            }
        }
        catch (JsonException ex)
        {
            throw new SynthesisInputException($"'{path}' is not valid JSON ({ex.Message}).", ex);
        }

        return result;
    }

    private static PixelBox ReadBox(JsonElement r, string where)
    {
        if (!r.TryGetProperty("box", out var b) || b.ValueKind != JsonValueKind.Array || b.GetArrayLength() != 4)
        {
            throw new SynthesisInputException($"{where}: field 'box' must be an array of 4 pixel coordinates [x1, y1, x2, y2].");
        }

        var v = new double[4];
        var i = 0;
        foreach (var e in b.EnumerateArray())
        {
            if (e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out var d))
            {
                v[i] = d;
            }
            else if (e.ValueKind == JsonValueKind.String && double.TryParse(e.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var s))
            {
                v[i] = s;
            }
            else
            {
                throw new SynthesisInputException($"{where}: box coordinate {i} is not a number ({e.GetRawText()}).");
            }

            if (!double.IsFinite(v[i]))
            {
                throw new SynthesisInputException($"{where}: box coordinate {i} is not finite.");
            }

            i++;
        }

        // Pixel edges: the box covers every pixel it touches.
        return new PixelBox((int)Math.Floor(v[0]), (int)Math.Floor(v[1]), (int)Math.Ceiling(v[2]), (int)Math.Ceiling(v[3]));
    }
}
