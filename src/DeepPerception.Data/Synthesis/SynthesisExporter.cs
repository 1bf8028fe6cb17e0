using System.Globalization;
using System.Text.Json;
using DeepPerception.Data.Synth;
using DeepPerception.Kvg;

namespace DeepPerception.Data.Synthesis;

/// <summary>
/// Writes a synthesis result as an SFT chain-of-thought dataset: the platform format in <c>platform/</c>
/// (<c>records.jsonl</c>, <c>images/</c>, <c>knowledge.json</c>; each record also carries <c>objects</c> and the CoT
/// target in <c>cot</c>), LLaMA-Factory ShareGPT in <c>sharegpt/</c> (<c>sharegpt.json</c> + <c>images/</c>; the
/// user turn is the r1 prompt) and <c>report.json</c> (kept and rejected-with-reason counts, every rejection listed).
/// </summary>
public static class SynthesisExporter
{
    /// <summary>The platform-format subfolder.</summary>
    public const string PlatformFolder = "platform";

    /// <summary>The ShareGPT subfolder.</summary>
    public const string ShareGptFolder = "sharegpt";

    /// <summary>The ShareGPT file name.</summary>
    public const string ShareGptFile = "sharegpt.json";

    /// <summary>The report file name.</summary>
    public const string ReportFile = "report.json";

    /// <summary>Writes everything into <paramref name="directory"/>; returns the number of kept records written.</summary>
    public static int Write(SynthesisResult result, IReadOnlyDictionary<string, SynthKnowledgeEntry> knowledge, string directory)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(knowledge);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var platform = Path.Combine(directory, PlatformFolder);
        var sharegpt = Path.Combine(directory, ShareGptFolder);
        Directory.CreateDirectory(Path.Combine(platform, SynthExporter.ImagesFolder));
        Directory.CreateDirectory(Path.Combine(sharegpt, SynthExporter.ImagesFolder));

        using (var records = new FileStream(Path.Combine(platform, SynthExporter.RecordsFile), FileMode.Create, FileAccess.Write))
        using (var shareStream = new FileStream(Path.Combine(sharegpt, ShareGptFile), FileMode.Create, FileAccess.Write))
        using (var share = new Utf8JsonWriter(shareStream, SynthExporter.IndentedJson))
        {
            share.WriteStartArray();
            foreach (var example in result.Kept)
            {
                var s = example.Composite.Sample;
                var png = s.Image.EncodePng();
                var image = SynthExporter.ImagePath(s);
                File.WriteAllBytes(Path.Combine(platform, image), png);
                File.WriteAllBytes(Path.Combine(sharegpt, image), png);
                using (var w = new Utf8JsonWriter(records, SynthExporter.CompactJson))
                {
                    w.WriteStartObject();
                    w.WriteString("id", s.Id);
                    w.WriteString("image", image);
                    w.WriteNumber("width", s.Image.Width);
                    w.WriteNumber("height", s.Image.Height);
                    w.WriteString("entity", s.Target.Label);
                    w.WriteString("domain", s.Domain);
                    w.WriteString("layout", SynthExporter.LayoutName(s.Layout));
                    WriteBox(w, "box", s.TargetBox);
                    w.WriteString("query", s.Query);
                    w.WriteString("answer", s.Answer);
                    w.WriteString("cot", example.Target);
                    w.WriteStartArray("objects");
                    for (var i = 0; i < s.Objects.Count; i++)
                    {
                        w.WriteStartObject();
                        w.WriteString("entity", s.Objects[i].Label);
                        WriteBox(w, "box", s.Objects[i].Box);
                        w.WriteString("source", example.Composite.SourceIds[i]);
                        w.WriteEndObject();
                    }

                    w.WriteEndArray();
                    w.WriteEndObject();
                }

                records.WriteByte((byte)'\n');

                share.WriteStartObject();
                share.WriteStartArray("messages");
                share.WriteStartObject();
                share.WriteString("role", "user");
                share.WriteString("content", "<image>" + KvgPrompts.R1(s.Query));
                share.WriteEndObject();
                share.WriteStartObject();
                share.WriteString("role", "assistant");
                share.WriteString("content", example.Target);
                share.WriteEndObject();
                share.WriteEndArray();
                share.WriteStartArray("images");
                share.WriteStringValue(image);
                share.WriteEndArray();
                share.WriteEndObject();
            }

            share.WriteEndArray();
        }

        var used = result.Kept.SelectMany(k => k.Composite.Sample.Objects.Select(o => o.Label)).ToHashSet(StringComparer.Ordinal);
        SynthExporter.WriteKnowledge(knowledge.Where(kv => used.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal),
            Path.Combine(platform, SynthExporter.KnowledgeFile));
        WriteReport(result, Path.Combine(directory, ReportFile));
        return result.Kept.Count;
    }

    /// <summary>The report name of a rejection reason (<c>empty</c>, <c>no-box</c>, <c>low-iou</c>, <c>teacher-error</c>).</summary>
    public static string ReasonName(RationaleRejection reason) => reason switch
    {
        RationaleRejection.Empty => "empty",
        RationaleRejection.NoBox => "no-box",
        RationaleRejection.LowIoU => "low-iou",
        RationaleRejection.TeacherError => "teacher-error",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, "Unknown rejection reason."),
    };

    private static void WriteReport(SynthesisResult result, string path)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
        using var w = new Utf8JsonWriter(stream, SynthExporter.IndentedJson);
        var r = result.Report;
        w.WriteStartObject();
        w.WriteString("teacher", r.Teacher);
        w.WriteNumber("composites", r.Composites);
        w.WriteNumber("kept", r.Kept);
        w.WriteNumber("rejected", r.RejectedTotal);
        w.WriteNumber("iouThreshold", r.IouThreshold);
        w.WriteStartObject("rejectedByReason");
        foreach (var (reason, count) in r.Rejected)
        {
            w.WriteNumber(ReasonName(reason), count);
        }

        w.WriteEndObject();
        w.WriteStartArray("rejections");
        foreach (var x in result.Rejected)
        {
            w.WriteStartObject();
            w.WriteString("id", x.Composite.Sample.Id);
            w.WriteString("reason", ReasonName(x.Verdict.Rejection!.Value));
            w.WriteNumber("iou", Math.Round(x.Verdict.IoU, 4));
            if (x.Verdict.FinalBox is { } b)
            {
                w.WriteString("finalBox", string.Create(CultureInfo.InvariantCulture, $"({b.X1},{b.Y1}),({b.X2},{b.Y2})"));
            }

            w.WriteString("label", x.Composite.Sample.Answer);
            if (x.Error is not null)
            {
                w.WriteString("error", x.Error);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteBox(Utf8JsonWriter w, string name, PixelBox box)
    {
        w.WriteStartArray(name);
        w.WriteNumberValue(box.X1);
        w.WriteNumberValue(box.Y1);
        w.WriteNumberValue(box.X2);
        w.WriteNumberValue(box.Y2);
        w.WriteEndArray();
    }
}
