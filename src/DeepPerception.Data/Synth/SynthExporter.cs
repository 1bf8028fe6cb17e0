using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using DeepPerception.Kvg;

namespace DeepPerception.Data.Synth;

/// <summary>Which assistant target a ShareGPT export holds.</summary>
public enum SynthTargetKind
{
    /// <summary>Short templated rationale: <c>&lt;think&gt;…&lt;/think&gt;</c> then the answer block; the user turn is the r1 prompt.</summary>
    Cot,

    /// <summary>The native grounding answer only; the user turn is the raw query.</summary>
    Direct,
}

/// <summary>
/// Writes samples in the platform dataset format (JSONL + PNG folder + <c>knowledge.json</c>), as LLaMA-Factory
/// ShareGPT JSON, and as a KVG-Bench-style parquet file.
/// </summary>
public static class SynthExporter
{
    /// <summary>Records file of the platform format.</summary>
    public const string RecordsFile = "records.jsonl";

    /// <summary>Images folder (PNG files named after the sample id).</summary>
    public const string ImagesFolder = "images";

    /// <summary>Knowledge-base file of the platform format.</summary>
    public const string KnowledgeFile = "knowledge.json";

    internal static readonly JsonWriterOptions CompactJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = false };

    internal static readonly JsonWriterOptions IndentedJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = true };

    /// <summary>The image path of a sample relative to the dataset folder (<c>images/&lt;id&gt;.png</c>).</summary>
    public static string ImagePath(SynthSample sample) => $"{ImagesFolder}/{sample.Id}.png";

    /// <summary>
    /// Writes the platform format into <paramref name="directory"/>: one JSONL record per sample
    /// (<c>id, image, width, height, entity, domain, layout, box</c> [pixels x1,y1,x2,y2], <c>query, answer</c>, and
    /// <c>objects</c>: every object drawn in the image as <c>{entity, answer}</c> on the 0–1000 grid), the PNG
    /// images and <c>knowledge.json</c> (entity → {domain, attributes, text}). Returns the number of records.
    /// </summary>
    public static int ExportPlatform(IEnumerable<SynthSample> samples, IReadOnlyDictionary<string, SynthKnowledgeEntry> knowledge, string directory)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(knowledge);
        Directory.CreateDirectory(Path.Combine(directory, ImagesFolder));
        var count = 0;
        using (var records = new FileStream(Path.Combine(directory, RecordsFile), FileMode.Create, FileAccess.Write))
        {
            foreach (var s in samples)
            {
                if (!knowledge.ContainsKey(s.Target.Label))
                {
                    throw new ArgumentException($"Sample {s.Id} targets '{s.Target.Label}', which the knowledge base does not contain.", nameof(knowledge));
                }

                WriteImage(s, directory);
                using (var w = new Utf8JsonWriter(records, CompactJson))
                {
                    w.WriteStartObject();
                    w.WriteString("id", s.Id);
                    w.WriteString("image", ImagePath(s));
                    w.WriteNumber("width", s.Image.Width);
                    w.WriteNumber("height", s.Image.Height);
                    w.WriteString("entity", s.Target.Label);
                    w.WriteString("domain", s.Domain);
                    w.WriteString("layout", LayoutName(s.Layout));
                    w.WriteStartArray("box");
                    w.WriteNumberValue(s.TargetBox.X1);
                    w.WriteNumberValue(s.TargetBox.Y1);
                    w.WriteNumberValue(s.TargetBox.X2);
                    w.WriteNumberValue(s.TargetBox.Y2);
                    w.WriteEndArray();
                    w.WriteString("query", s.Query);
                    w.WriteString("answer", s.Answer);
                    w.WriteStartArray("objects");
                    foreach (var o in s.Objects)
                    {
                        w.WriteStartObject();
                        w.WriteString("entity", o.Label);
                        w.WriteString("answer", o.Box.ToGrid(s.Image.Width, s.Image.Height).ToBoxText());
                        w.WriteEndObject();
                    }

                    w.WriteEndArray();
                    w.WriteEndObject();
                }

                records.WriteByte((byte)'\n');
                count++;
            }
        }

        WriteKnowledge(knowledge, Path.Combine(directory, KnowledgeFile));
        return count;
    }

    /// <summary>Writes a knowledge base as <c>knowledge.json</c>: entity → {domain, attributes, text}, names in ordinal order.</summary>
    public static void WriteKnowledge(IReadOnlyDictionary<string, SynthKnowledgeEntry> knowledge, string path)
    {
        ArgumentNullException.ThrowIfNull(knowledge);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
        using var w = new Utf8JsonWriter(stream, IndentedJson);
        w.WriteStartObject();
        foreach (var (name, entry) in knowledge.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            w.WriteStartObject(name);
            w.WriteString("domain", entry.Domain);
            w.WriteStartObject("attributes");
            foreach (var (k, v) in entry.Attributes.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                w.WriteString(k, v);
            }

            w.WriteEndObject();
            w.WriteString("text", entry.Text);
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    /// <summary>
    /// Writes LLaMA-Factory ShareGPT JSON (<paramref name="fileName"/> in <paramref name="directory"/>): an array of
    /// <c>{messages: [{role: user, content: "&lt;image&gt;" + prompt}, {role: assistant, content: target}], images: [path]}</c>,
    /// plus the PNG images in <c>images/</c>. Returns the number of records.
    /// </summary>
    public static int ExportShareGpt(IEnumerable<SynthSample> samples, string directory, SynthTargetKind target, string fileName = "sharegpt.json")
    {
        ArgumentNullException.ThrowIfNull(samples);
        Directory.CreateDirectory(Path.Combine(directory, ImagesFolder));
        var count = 0;
        using var stream = new FileStream(Path.Combine(directory, fileName), FileMode.Create, FileAccess.Write);
        using var w = new Utf8JsonWriter(stream, IndentedJson);
        w.WriteStartArray();
        foreach (var s in samples)
        {
            WriteImage(s, directory);
            var (prompt, answer) = target switch
            {
                SynthTargetKind.Cot => (SynthText.R1Prompt(s.Query), SynthTargets.Cot(s)),
                SynthTargetKind.Direct => (s.Query, SynthTargets.Direct(s)),
                _ => throw new ArgumentOutOfRangeException(nameof(target), target, "Unknown target kind."),
            };
            w.WriteStartObject();
            w.WriteStartArray("messages");
            w.WriteStartObject();
            w.WriteString("role", "user");
            w.WriteString("content", "<image>" + prompt);
            w.WriteEndObject();
            w.WriteStartObject();
            w.WriteString("role", "assistant");
            w.WriteString("content", answer);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteStartArray("images");
            w.WriteStringValue(ImagePath(s));
            w.WriteEndArray();
            w.WriteEndObject();
            count++;
        }

        w.WriteEndArray();
        return count;
    }

    /// <summary>
    /// The KVG-Bench rows of some samples: <c>question_id</c> "&lt;category&gt;/&lt;n&gt;" (n counts per category from 0),
    /// <c>category, question</c>, <c>answer</c> "&lt;|box_start|&gt;(x1,y1),(x2,y2)&lt;|box_end|&gt;", the PNG bytes and every drawn object
    /// (<see cref="KvgObjects"/>, the optional <c>objects</c> column).
    /// </summary>
    public static IEnumerable<KvgBenchItem> ToKvgBenchItems(IEnumerable<SynthSample> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var counters = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var s in samples)
        {
            counters.TryGetValue(s.Domain, out var n);
            counters[s.Domain] = n + 1;
            var id = string.Create(CultureInfo.InvariantCulture, $"{s.Domain}/{n}");
            yield return new KvgBenchItem(id, s.Domain, s.Query, $"<|box_start|>{s.Answer}<|box_end|>", s.Image.EncodePng(), $"{s.Id}.png", KvgObjects(s));
        }
    }

    /// <summary>Every object drawn in a sample as (label, box on the 0–1000 grid), in drawing order.</summary>
    public static IReadOnlyList<KvgObject> KvgObjects(SynthSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        return sample.Objects.Select(o => new KvgObject(o.Label, o.Box.ToGrid(sample.Image.Width, sample.Image.Height).ToBoundingBox())).ToArray();
    }

    /// <summary>Writes a KVG-Bench-style parquet file (via <see cref="KvgBenchFile"/>).</summary>
    public static Task ExportKvgParquetAsync(IEnumerable<SynthSample> samples, string path, CancellationToken cancellationToken = default) =>
        KvgBenchFile.WriteAsync(path, ToKvgBenchItems(samples), cancellationToken: cancellationToken);

    /// <summary>Writes the knowledge text corpus, one sentence per line (UTF-8, LF).</summary>
    public static void WriteKnowledgeCorpus(SynthWorld world, string path)
    {
        ArgumentNullException.ThrowIfNull(world);
        var sb = new StringBuilder();
        foreach (var line in world.KnowledgeCorpus())
        {
            sb.Append(line).Append('\n');
        }

        File.WriteAllText(path, sb.ToString(), new UTF8Encoding(false));
    }

    /// <summary>The layout's name in records (<c>horizontal</c>, <c>vertical</c>, <c>grid</c>, <c>random</c>).</summary>
    public static string LayoutName(SynthLayout layout) => layout switch
    {
        SynthLayout.HorizontalConcat => "horizontal",
        SynthLayout.VerticalConcat => "vertical",
        SynthLayout.Grid => "grid",
        SynthLayout.RandomPlacement => "random",
        _ => throw new ArgumentOutOfRangeException(nameof(layout), layout, "Unknown layout."),
    };

    private static void WriteImage(SynthSample s, string directory) =>
        File.WriteAllBytes(Path.Combine(directory, ImagesFolder, s.Id + ".png"), s.Image.EncodePng());
}
