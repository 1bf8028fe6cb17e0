using System.Globalization;
using System.Text.Json;
using DeepPerception.Abstractions;
using DeepPerception.Client;
using DeepPerception.Kvg;

namespace DeepPerception.Api.Uploads;

/// <summary>One annotation read from an upload, before normalisation.</summary>
/// <param name="Source">The annotation file.</param>
/// <param name="Line">Its 1-based line or record index.</param>
/// <param name="Id">The record id, when the format has one.</param>
/// <param name="Image">The image path relative to the upload root (or to the annotation file's folder).</param>
/// <param name="Entity">The target entity.</param>
/// <param name="Domain">The domain (category); "object" when the format has none.</param>
/// <param name="Box">The box in pixels (x1, y1, x2, y2), or null when it is given on the 0–1000 grid.</param>
/// <param name="GridBox">The box on the 0–1000 grid, when the format gives it that way.</param>
/// <param name="Query">The query, when the format has one.</param>
/// <param name="DeclaredWidth">The width the annotation declares, if any.</param>
/// <param name="DeclaredHeight">The height the annotation declares, if any.</param>
public sealed record UploadRecord(string Source, int Line, string? Id, string Image, string Entity, string Domain, double[]? Box,
    double[]? GridBox, string? Query, int? DeclaredWidth = null, int? DeclaredHeight = null);

/// <summary>What the converter read from an upload.</summary>
public sealed record ConvertedUpload(
    string Format,
    IReadOnlyList<UploadRecord> Records,
    IReadOnlyList<RejectedRecordDto> Rejected,
    IReadOnlyDictionary<string, UploadedKnowledge> Knowledge,
    IReadOnlyList<string> Warnings);

/// <summary>A knowledge entry that came with the upload (<c>knowledge.json</c>).</summary>
public sealed record UploadedKnowledge(string Domain, string Text, IReadOnlyDictionary<string, string> Attributes);

/// <summary>
/// Reads dataset annotations in the formats the API accepts and turns them into <see cref="UploadRecord"/>s:
/// the platform's JSONL (<c>records.jsonl</c>), COCO detection JSON, RefCOCO-style (COCO plus <c>refs</c> with referring
/// sentences), ODVG JSONL (detection or grounding) and ShareGPT (conversations with a box in the answer). Every
/// annotation that cannot be read is returned as a rejected record with its reason.
/// </summary>
public static class DatasetConverter
{
    /// <summary>The accepted format names.</summary>
    public static IReadOnlyList<string> Formats { get; } = ["platform", "coco", "refcoco", "odvg", "sharegpt"];

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };

    /// <summary>Detects the format of an extracted upload.</summary>
    /// <exception cref="UnprocessableException">No annotation file of a known format is found.</exception>
    public static string Detect(string root)
    {
        if (File.Exists(Path.Combine(root, "records.jsonl")))
        {
            return "platform";
        }

        foreach (var file in AnnotationFiles(root, "*.jsonl"))
        {
            var first = File.ReadLines(file).FirstOrDefault(l => !string.IsNullOrWhiteSpace(l));
            if (first is not null && first.Contains("\"filename\"", StringComparison.Ordinal))
            {
                return "odvg";
            }
        }

        foreach (var file in AnnotationFiles(root, "*.json"))
        {
            if (Path.GetFileName(file) == "knowledge.json")
            {
                continue;
            }

            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllBytes(file), DocumentOptions);
                var r = doc.RootElement;
                if (r.ValueKind == JsonValueKind.Object && r.TryGetProperty("images", out _) && r.TryGetProperty("annotations", out _))
                {
                    return r.TryGetProperty("refs", out _) || AnnotationFiles(root, "*.json").Any(f => IsRefsFile(f)) ? "refcoco" : "coco";
                }

                if (r.ValueKind == JsonValueKind.Array && r.GetArrayLength() > 0 && r[0].ValueKind == JsonValueKind.Object
                    && (r[0].TryGetProperty("messages", out _) || r[0].TryGetProperty("conversations", out _)))
                {
                    return "sharegpt";
                }
            }
            catch (JsonException)
            {
                // Reported when the file is read in its detected format; detection just moves on.
            }
        }

        throw new UnprocessableException(
            "No annotations of a known format found: expected records.jsonl (platform), a COCO or RefCOCO JSON, ODVG JSONL or a ShareGPT JSON array.");
    }

    /// <summary>Reads the upload in <paramref name="format"/>.</summary>
    public static ConvertedUpload Read(string root, string format, int maxRecords)
    {
        var records = new List<UploadRecord>();
        var rejected = new List<RejectedRecordDto>();
        var warnings = new List<string>();
        var knowledge = ReadKnowledge(root, warnings);
        switch (format)
        {
            case "platform":
                ReadPlatform(root, records, rejected);
                break;
            case "coco":
            case "refcoco":
                ReadCoco(root, format == "refcoco", records, rejected);
                break;
            case "odvg":
                ReadOdvg(root, records, rejected);
                break;
            case "sharegpt":
                ReadShareGpt(root, records, rejected);
                break;
            default:
                throw new InvalidRequestException($"format must be one of auto, {string.Join(", ", Formats)} (got '{format}').");
        }

        if (records.Count + rejected.Count > maxRecords)
        {
            throw new PayloadTooLargeException($"The upload has {records.Count + rejected.Count} records; at most {maxRecords} are accepted.");
        }

        return new ConvertedUpload(format, records, rejected, knowledge, warnings);
    }

    private static IEnumerable<string> AnnotationFiles(string root, string pattern) =>
        Directory.EnumerateFiles(root, pattern, SearchOption.AllDirectories).Order(StringComparer.Ordinal);

    private static bool IsRefsFile(string file)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file), DocumentOptions);
            return doc.RootElement.ValueKind == JsonValueKind.Array && doc.RootElement.GetArrayLength() > 0
                   && doc.RootElement[0].ValueKind == JsonValueKind.Object && doc.RootElement[0].TryGetProperty("sentences", out _);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static Dictionary<string, UploadedKnowledge> ReadKnowledge(string root, List<string> warnings)
    {
        var result = new Dictionary<string, UploadedKnowledge>(StringComparer.Ordinal);
        var path = Path.Combine(root, "knowledge.json");
        if (!File.Exists(path))
        {
            return result;
        }

        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path), DocumentOptions);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new UnprocessableException("knowledge.json must hold a JSON object (entity name → {domain, text, attributes}).");
            }

            foreach (var entry in doc.RootElement.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.Object || string.IsNullOrWhiteSpace(entry.Name))
                {
                    warnings.Add($"knowledge.json: entry '{entry.Name}' is not an object with a name; skipped.");
                    continue;
                }

                var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
                if (entry.Value.TryGetProperty("attributes", out var a) && a.ValueKind == JsonValueKind.Object)
                {
                    foreach (var p in a.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String))
                    {
                        attributes[p.Name] = p.Value.GetString()!;
                    }
                }

                result[entry.Name] = new UploadedKnowledge(Str(entry.Value, "domain") ?? string.Empty, Str(entry.Value, "text") ?? string.Empty, attributes);
            }
        }
        catch (JsonException ex)
        {
            throw new UnprocessableException($"knowledge.json is not valid JSON: {ex.Message}");
        }

        return result;
    }

    /// <summary>
    /// The parsed records of a JSON-lines file with their 1-based line numbers; blank lines are skipped and lines that
    /// are not valid JSON are rejected (named by <paramref name="source"/> and line).
    /// </summary>
    private static IEnumerable<(int Line, JsonElement Record)> JsonLines(string path, string source, List<RejectedRecordDto> rejected)
    {
        var line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            JsonElement record;
            try
            {
                using var doc = JsonDocument.Parse(text, DocumentOptions);
                record = doc.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                rejected.Add(new RejectedRecordDto(source, line, null, [$"MalformedJson: not valid JSON ({ex.Message})"]));
                continue;
            }

            yield return (line, record);
        }
    }

    private static void ReadPlatform(string root, List<UploadRecord> records, List<RejectedRecordDto> rejected)
    {
        const string source = "records.jsonl";
        foreach (var (line, r) in JsonLines(Path.Combine(root, source), source, rejected))
        {
            if (r.ValueKind != JsonValueKind.Object)
            {
                rejected.Add(new RejectedRecordDto(source, line, null, ["MalformedJson: the record is not a JSON object"]));
                continue;
            }

            var id = Str(r, "id");
            var reasons = new List<string>();
            var image = Required(r, "image", reasons);
            var entity = Required(r, "entity", reasons);
            var domain = Required(r, "domain", reasons);
            var box = r.TryGetProperty("box", out var b) ? Numbers(b, 4, "box", reasons) : null;
            double[]? grid = null;
            if (box is null && !r.TryGetProperty("box", out _))
            {
                var answer = Str(r, "answer");
                if (answer is null)
                {
                    reasons.Add("MissingField: needs 'box' (pixels) or 'answer' (0–1000 grid)");
                }
                else
                {
                    grid = GridFromAnswer(answer, reasons);
                }
            }

            if (reasons.Count > 0)
            {
                rejected.Add(new RejectedRecordDto(source, line, id, reasons));
                continue;
            }

            records.Add(new UploadRecord(source, line, id, image ?? string.Empty, entity ?? string.Empty, domain ?? string.Empty, box, grid, Str(r, "query"), Int(r, "width"), Int(r, "height")));
        }
    }

    private static void ReadCoco(string root, bool referring, List<UploadRecord> records, List<RejectedRecordDto> rejected)
    {
        foreach (var file in AnnotationFiles(root, "*.json"))
        {
            if (Path.GetFileName(file) == "knowledge.json" || IsRefsFile(file))
            {
                continue;
            }

            var source = Path.GetRelativePath(root, file).Replace('\\', '/');
            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(File.ReadAllBytes(file), DocumentOptions);
            }
            catch (JsonException ex)
            {
                rejected.Add(new RejectedRecordDto(source, 0, null, [$"MalformedJson: {ex.Message}"]));
                continue;
            }

            using (doc)
            {
                var r = doc.RootElement;
                if (r.ValueKind != JsonValueKind.Object || !r.TryGetProperty("images", out var imagesEl) || imagesEl.ValueKind != JsonValueKind.Array
                    || !r.TryGetProperty("annotations", out var annsEl) || annsEl.ValueKind != JsonValueKind.Array)
                {
                    rejected.Add(new RejectedRecordDto(source, 0, null, ["MalformedJson: a COCO file needs 'images' and 'annotations' arrays"]));
                    continue;
                }

                var folder = Path.GetDirectoryName(source)?.Replace('\\', '/') ?? string.Empty;
                var images = new Dictionary<long, (string File, int? W, int? H)>();
                foreach (var im in imagesEl.EnumerateArray())
                {
                    if (LongOf(im, "id") is { } imageId && Str(im, "file_name") is { } fileName)
                    {
                        images[imageId] = (Join(folder, fileName), Int(im, "width"), Int(im, "height"));
                    }
                }

                var categories = new Dictionary<long, (string Name, string Domain)>();
                if (r.TryGetProperty("categories", out var catsEl) && catsEl.ValueKind == JsonValueKind.Array)
                {
                    foreach (var c in catsEl.EnumerateArray())
                    {
                        if (LongOf(c, "id") is { } cid && Str(c, "name") is { Length: > 0 } name)
                        {
                            categories[cid] = (name, Str(c, "supercategory") is { Length: > 0 } super ? super : "object");
                        }
                    }
                }

                var annotations = new Dictionary<long, (int Index, JsonElement Element)>();
                var index = 0;
                foreach (var ann in annsEl.EnumerateArray())
                {
                    index++;
                    if (LongOf(ann, "id") is { } annId)
                    {
                        annotations[annId] = (index, ann);
                    }
                }

                UploadRecord? FromAnnotation(JsonElement ann, int at, string? query, string id, List<string> reasons)
                {
                    if (ann.ValueKind != JsonValueKind.Object)
                    {
                        reasons.Add("MalformedJson: the annotation is not an object");
                        return null;
                    }

                    var imageId = LongOf(ann, "image_id");
                    var categoryId = LongOf(ann, "category_id");
                    (string File, int? W, int? H) image = default;
                    (string Name, string Domain) category = default;
                    if (imageId is null || !images.TryGetValue(imageId.Value, out image))
                    {
                        reasons.Add($"MissingImage: image_id {imageId?.ToString(CultureInfo.InvariantCulture) ?? "(none)"} is not in 'images'");
                    }

                    if (categoryId is null || !categories.TryGetValue(categoryId.Value, out category))
                    {
                        reasons.Add($"MissingField: category_id {categoryId?.ToString(CultureInfo.InvariantCulture) ?? "(none)"} is not in 'categories'");
                    }

                    var bbox = ann.TryGetProperty("bbox", out var bb) ? Numbers(bb, 4, "bbox", reasons) : null;
                    if (bbox is null && !ann.TryGetProperty("bbox", out _))
                    {
                        reasons.Add("MissingField: 'bbox' [x, y, width, height] is missing");
                    }

                    if (reasons.Count > 0)
                    {
                        return null;
                    }

                    var box = new[] { bbox![0], bbox[1], bbox[0] + bbox[2], bbox[1] + bbox[3] };
                    if (bbox[2] <= 0 || bbox[3] <= 0)
                    {
                        reasons.Add($"InvertedBox: bbox width and height must be positive (got {bbox[2]}x{bbox[3]})");
                        return null;
                    }

                    return new UploadRecord(source, at, id, image.File ?? string.Empty, category.Name ?? string.Empty, category.Domain ?? string.Empty, box, null, query, image.W, image.H);
                }

                if (!referring)
                {
                    foreach (var (annId, (at, ann)) in annotations.OrderBy(kv => kv.Value.Index))
                    {
                        var reasons = new List<string>();
                        var record = FromAnnotation(ann, at, null, $"ann-{annId}", reasons);
                        Add(record, reasons, source, at, $"ann-{annId}", records, rejected);
                    }

                    continue;
                }

                var refs = new List<JsonElement>();
                if (r.TryGetProperty("refs", out var refsEl) && refsEl.ValueKind == JsonValueKind.Array)
                {
                    refs.AddRange(refsEl.EnumerateArray().Select(e => e.Clone()));
                }

                foreach (var refsFile in AnnotationFiles(root, "*.json").Where(IsRefsFile))
                {
                    using var refsDoc = JsonDocument.Parse(File.ReadAllBytes(refsFile), DocumentOptions);
                    refs.AddRange(refsDoc.RootElement.EnumerateArray().Select(e => e.Clone()));
                }

                var refIndex = 0;
                foreach (var reference in refs)
                {
                    refIndex++;
                    var refId = LongOf(reference, "ref_id")?.ToString(CultureInfo.InvariantCulture) ?? refIndex.ToString(CultureInfo.InvariantCulture);
                    var annId = LongOf(reference, "ann_id");
                    if (annId is null || !annotations.TryGetValue(annId.Value, out var found))
                    {
                        rejected.Add(new RejectedRecordDto(source, refIndex, $"ref-{refId}", [$"MissingField: ann_id {annId?.ToString(CultureInfo.InvariantCulture) ?? "(none)"} is not in 'annotations'"]));
                        continue;
                    }

                    var sentences = reference.TryGetProperty("sentences", out var s) && s.ValueKind == JsonValueKind.Array
                        ? s.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Object ? Str(x, "sent") ?? Str(x, "raw") : x.ValueKind == JsonValueKind.String ? x.GetString() : null)
                            .Where(x => !string.IsNullOrWhiteSpace(x)).ToArray()
                        : [];
                    if (sentences.Length == 0)
                    {
                        rejected.Add(new RejectedRecordDto(source, refIndex, $"ref-{refId}", ["MissingField: the ref has no sentences"]));
                        continue;
                    }

                    for (var i = 0; i < sentences.Length; i++)
                    {
                        var reasons = new List<string>();
                        var id = $"ref-{refId}-{i}";
                        var record = FromAnnotation(found.Element, refIndex, sentences[i], id, reasons);
                        Add(record, reasons, source, refIndex, id, records, rejected);
                    }
                }
            }
        }
    }

    private static void ReadOdvg(string root, List<UploadRecord> records, List<RejectedRecordDto> rejected)
    {
        foreach (var file in AnnotationFiles(root, "*.jsonl"))
        {
            var source = Path.GetRelativePath(root, file).Replace('\\', '/');
            var folder = Path.GetDirectoryName(source)?.Replace('\\', '/') ?? string.Empty;
            foreach (var (line, r) in JsonLines(file, source, rejected))
            {
                var fileName = r.ValueKind == JsonValueKind.Object ? Str(r, "filename") : null;
                if (fileName is null)
                {
                    rejected.Add(new RejectedRecordDto(source, line, null, ["MissingField: 'filename' is missing"]));
                    continue;
                }

                var regions = new List<(JsonElement Element, string? Label)>();
                if (r.TryGetProperty("detection", out var det) && det.ValueKind == JsonValueKind.Object
                    && det.TryGetProperty("instances", out var inst) && inst.ValueKind == JsonValueKind.Array)
                {
                    regions.AddRange(inst.EnumerateArray().Select(e => (e, e.ValueKind == JsonValueKind.Object ? Str(e, "category") : null)));
                }
                else if (r.TryGetProperty("grounding", out var gr) && gr.ValueKind == JsonValueKind.Object
                         && gr.TryGetProperty("regions", out var reg) && reg.ValueKind == JsonValueKind.Array)
                {
                    regions.AddRange(reg.EnumerateArray().Select(e => (e, e.ValueKind == JsonValueKind.Object ? Str(e, "phrase") : null)));
                }
                else
                {
                    rejected.Add(new RejectedRecordDto(source, line, fileName, ["MissingField: needs 'detection.instances' or 'grounding.regions'"]));
                    continue;
                }

                var n = 0;
                foreach (var (element, label) in regions)
                {
                    var id = $"{Path.GetFileNameWithoutExtension(fileName)}-{n++}";
                    var reasons = new List<string>();
                    if (string.IsNullOrWhiteSpace(label))
                    {
                        reasons.Add("MissingField: the region has no 'category' or 'phrase'");
                    }

                    var box = element.ValueKind == JsonValueKind.Object && element.TryGetProperty("bbox", out var bb) ? Numbers(bb, 4, "bbox", reasons) : null;
                    if (box is null && reasons.Count == 0)
                    {
                        reasons.Add("MissingField: the region has no 'bbox'");
                    }

                    var record = reasons.Count == 0
                        ? new UploadRecord(source, line, id, Join(folder, fileName), label!, "object", box, null, null, Int(r, "width"), Int(r, "height"))
                        : null;
                    Add(record, reasons, source, line, id, records, rejected);
                }
            }
        }
    }

    private static void ReadShareGpt(string root, List<UploadRecord> records, List<RejectedRecordDto> rejected)
    {
        foreach (var file in AnnotationFiles(root, "*.json"))
        {
            if (Path.GetFileName(file) == "knowledge.json")
            {
                continue;
            }

            var source = Path.GetRelativePath(root, file).Replace('\\', '/');
            var folder = Path.GetDirectoryName(source)?.Replace('\\', '/') ?? string.Empty;
            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(File.ReadAllBytes(file), DocumentOptions);
            }
            catch (JsonException ex)
            {
                rejected.Add(new RejectedRecordDto(source, 0, null, [$"MalformedJson: {ex.Message}"]));
                continue;
            }

            using (doc)
            {
                if (doc.RootElement.ValueKind != JsonValueKind.Array)
                {
                    continue;
                }

                var index = 0;
                foreach (var item in doc.RootElement.EnumerateArray())
                {
                    index++;
                    var reasons = new List<string>();
                    if (item.ValueKind != JsonValueKind.Object)
                    {
                        rejected.Add(new RejectedRecordDto(source, index, null, ["MalformedJson: the item is not an object"]));
                        continue;
                    }

                    var id = Str(item, "id") ?? $"item-{index}";
                    var messages = item.TryGetProperty("messages", out var m) ? m : item.TryGetProperty("conversations", out var c) ? c : default;
                    string? question = null, answer = null;
                    if (messages.ValueKind == JsonValueKind.Array)
                    {
                        foreach (var msg in messages.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.Object))
                        {
                            var role = Str(msg, "role") ?? Str(msg, "from");
                            var content = Str(msg, "content") ?? Str(msg, "value");
                            if (role is "user" or "human")
                            {
                                question ??= content;
                            }
                            else if (role is "assistant" or "gpt")
                            {
                                answer ??= content;
                            }
                        }
                    }

                    string? image = null;
                    if (item.TryGetProperty("images", out var imgs) && imgs.ValueKind == JsonValueKind.Array && imgs.GetArrayLength() > 0
                        && imgs[0].ValueKind == JsonValueKind.String)
                    {
                        image = imgs[0].GetString();
                    }
                    else
                    {
                        image = Str(item, "image");
                    }

                    if (image is null)
                    {
                        reasons.Add("MissingField: 'images' (or 'image') is missing");
                    }

                    if (question is null || answer is null)
                    {
                        reasons.Add("MissingField: needs a user and an assistant message");
                    }

                    var entity = Str(item, "entity") ?? (question is null ? null : KvgPrompts.ExtractEntity(question));
                    if (entity is null && reasons.Count == 0)
                    {
                        reasons.Add("MissingField: no 'entity' field and the question names no <|object_ref_start|>entity<|object_ref_end|>");
                    }

                    double[]? grid = null;
                    if (answer is not null && reasons.Count == 0)
                    {
                        var parsed = KvgAnswerParser.Parse(answer);
                        if (parsed.IsFailure)
                        {
                            reasons.Add($"MissingField: the assistant message has no box ({parsed.Status})");
                        }
                        else
                        {
                            grid = [parsed.X1, parsed.Y1, parsed.X2, parsed.Y2];
                        }
                    }

                    var record = reasons.Count == 0
                        ? new UploadRecord(source, index, id, Join(folder, image!), entity!, Str(item, "domain") ?? Str(item, "category") ?? "object", null, grid,
                            KvgPrompts.Query(entity!))
                        : null;
                    Add(record, reasons, source, index, id, records, rejected);
                }
            }
        }
    }

    private static void Add(UploadRecord? record, List<string> reasons, string source, int line, string? id, List<UploadRecord> records,
        List<RejectedRecordDto> rejected)
    {
        if (record is not null && reasons.Count == 0)
        {
            records.Add(record);
        }
        else
        {
            rejected.Add(new RejectedRecordDto(source, line, id, reasons.Count > 0 ? reasons : ["MalformedJson: unreadable annotation"]));
        }
    }

    private static double[]? GridFromAnswer(string answer, List<string> reasons)
    {
        try
        {
            var box = KvgPrompts.ParseGroundTruth(answer);
            return [box.X1, box.Y1, box.X2, box.Y2];
        }
        catch (KvgFormatException ex)
        {
            reasons.Add($"MissingField: answer '{Truncate(answer)}' has no box ({ex.Message})");
            return null;
        }
    }

    private static double[]? Numbers(JsonElement element, int count, string name, List<string> reasons)
    {
        if (element.ValueKind != JsonValueKind.Array || element.GetArrayLength() != count)
        {
            reasons.Add($"MissingField: '{name}' must be an array of {count} numbers (got {Truncate(element.GetRawText())})");
            return null;
        }

        var values = new double[count];
        var i = 0;
        foreach (var v in element.EnumerateArray())
        {
            if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) && double.IsFinite(d))
            {
                values[i++] = d;
            }
            else if (v.ValueKind == JsonValueKind.String && double.TryParse(v.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var s))
            {
                if (!double.IsFinite(s))
                {
                    reasons.Add($"NonFiniteBox: '{name}' coordinate {i} is {v.GetString()}");
                    return null;
                }

                values[i++] = s;
            }
            else
            {
                reasons.Add($"NonFiniteBox: '{name}' coordinate {i} is not a finite number ({Truncate(v.GetRawText())})");
                return null;
            }
        }

        return values;
    }

    private static string? Required(JsonElement r, string name, List<string> reasons)
    {
        var value = Str(r, name);
        if (string.IsNullOrWhiteSpace(value))
        {
            reasons.Add($"MissingField: '{name}' is missing, empty or not a string");
            return null;
        }

        return value;
    }

    private static string? Str(JsonElement r, string name) =>
        r.ValueKind == JsonValueKind.Object && r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static int? Int(JsonElement r, string name) =>
        r.ValueKind == JsonValueKind.Object && r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : null;

    private static long? LongOf(JsonElement r, string name) =>
        r.ValueKind == JsonValueKind.Object && r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var i) ? i : null;

    private static string Join(string folder, string file) => folder.Length == 0 ? file : folder + "/" + file;

    private static string Truncate(string s) => s.Length <= 80 ? s : s[..80] + "…";
}
