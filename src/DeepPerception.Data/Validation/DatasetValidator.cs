using System.Globalization;
using System.Text.Json;

namespace DeepPerception.Data.Validation;

/// <summary>What is wrong with a record or with the dataset.</summary>
public enum ValidationIssueKind
{
    /// <summary>The records file or the knowledge file is missing.</summary>
    MissingFile,

    /// <summary>A line (or the knowledge file) is not valid JSON of the expected shape.</summary>
    MalformedJson,

    /// <summary>A required field is missing or has the wrong type.</summary>
    MissingField,

    /// <summary>The image file does not exist.</summary>
    MissingImage,

    /// <summary>The image path leaves the dataset folder or is absolute.</summary>
    UnsafeImagePath,

    /// <summary>The image cannot be decoded.</summary>
    UndecodableImage,

    /// <summary>The record's width/height differ from the decoded image.</summary>
    SizeMismatch,

    /// <summary>A box coordinate is NaN or infinite.</summary>
    NonFiniteBox,

    /// <summary>x2 ≤ x1 or y2 ≤ y1.</summary>
    InvertedBox,

    /// <summary>The box extends beyond the image.</summary>
    BoxOutsideImage,

    /// <summary>The entity is not in the knowledge base.</summary>
    UnknownEntity,

    /// <summary>The record's domain differs from the entity's domain in the knowledge base.</summary>
    DomainMismatch,

    /// <summary>A knowledge entry has no text, no attributes or no domain.</summary>
    EmptyKnowledge,
}

/// <summary>One problem found by <see cref="DatasetValidator"/>.</summary>
/// <param name="Source">The file the problem is in (<c>records.jsonl</c> or <c>knowledge.json</c>).</param>
/// <param name="LineNumber">1-based line in the records file; 0 for problems not tied to a line.</param>
/// <param name="Kind">Category of the problem.</param>
/// <param name="Message">What is wrong, naming the value.</param>
public sealed record ValidationIssue(string Source, int LineNumber, ValidationIssueKind Kind, string Message)
{
    /// <inheritdoc />
    public override string ToString() => LineNumber > 0 ? $"{Source}:{LineNumber}: {Kind}: {Message}" : $"{Source}: {Kind}: {Message}";
}

/// <summary>The result of validating a dataset: every problem, and which record lines are usable.</summary>
public sealed class ValidationReport
{
    internal ValidationReport(int recordCount, IReadOnlyList<ValidationIssue> issues)
    {
        RecordCount = recordCount;
        Issues = issues;
        BadLines = issues.Where(i => i.LineNumber > 0).Select(i => i.LineNumber).Distinct().Order().ToArray();
    }

    /// <summary>Number of non-empty record lines.</summary>
    public int RecordCount { get; }

    /// <summary>All problems, in file order (knowledge problems first).</summary>
    public IReadOnlyList<ValidationIssue> Issues { get; }

    /// <summary>The distinct 1-based record lines that have at least one problem.</summary>
    public IReadOnlyList<int> BadLines { get; }

    /// <summary>Records without problems.</summary>
    public int ValidRecordCount => RecordCount - BadLines.Count;

    /// <summary>True when nothing is wrong.</summary>
    public bool IsValid => Issues.Count == 0;

    /// <summary>The problems of one line.</summary>
    public IReadOnlyList<ValidationIssue> IssuesAt(int lineNumber) => Issues.Where(i => i.LineNumber == lineNumber).ToArray();
}

/// <summary>
/// Validates a dataset in the platform format (<c>records.jsonl</c> + images folder + <c>knowledge.json</c>). Every bad
/// record is reported with its line number and reason; nothing is dropped silently.
/// </summary>
public sealed class DatasetValidator
{
    private readonly HardenedImageDecoder _decoder;

    /// <summary>Creates a validator.</summary>
    public DatasetValidator(HardenedImageDecoder? decoder = null) => _decoder = decoder ?? new HardenedImageDecoder();

    /// <summary>Validates the dataset in <paramref name="directory"/>.</summary>
    public ValidationReport Validate(string directory, string recordsFile = "records.jsonl", string knowledgeFile = "knowledge.json")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var issues = new List<ValidationIssue>();
        var root = Path.GetFullPath(directory);
        var knowledge = ReadKnowledge(Path.Combine(root, knowledgeFile), knowledgeFile, issues);
        var recordsPath = Path.Combine(root, recordsFile);
        if (!File.Exists(recordsPath))
        {
            issues.Add(new ValidationIssue(recordsFile, 0, ValidationIssueKind.MissingFile, $"'{recordsFile}' does not exist in {directory}."));
            return new ValidationReport(0, issues);
        }

        var decoded = new Dictionary<string, ImageDecodeResult>(StringComparer.Ordinal);
        var lineNumber = 0;
        var records = 0;
        foreach (var line in File.ReadLines(recordsPath))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            records++;
            ValidateRecord(root, line, lineNumber, recordsFile, knowledge, decoded, issues);
        }

        return new ValidationReport(records, issues);
    }

    private static Dictionary<string, string>? ReadKnowledge(string path, string source, List<ValidationIssue> issues)
    {
        if (!File.Exists(path))
        {
            issues.Add(new ValidationIssue(source, 0, ValidationIssueKind.MissingFile, $"'{source}' does not exist; every entity is unknown."));
            return null;
        }

        var domains = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                issues.Add(new ValidationIssue(source, 0, ValidationIssueKind.MalformedJson, "The knowledge file must hold a JSON object (entity → entry)."));
                return domains;
            }

            foreach (var entry in doc.RootElement.EnumerateObject())
            {
                var problems = new List<string>();
                string? domain = null;
                if (string.IsNullOrWhiteSpace(entry.Name))
                {
                    problems.Add("empty entity name");
                }

                if (entry.Value.ValueKind != JsonValueKind.Object)
                {
                    problems.Add("entry is not an object");
                }
                else
                {
                    domain = entry.Value.TryGetProperty("domain", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
                    if (string.IsNullOrWhiteSpace(domain))
                    {
                        problems.Add("no domain");
                    }

                    if (!entry.Value.TryGetProperty("text", out var t) || t.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(t.GetString()))
                    {
                        problems.Add("no text");
                    }

                    var hasAttributes = entry.Value.TryGetProperty("attributes", out var a) && a.ValueKind switch
                    {
                        JsonValueKind.Object => a.EnumerateObject().Any(p => p.Value.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(p.Value.GetString())),
                        JsonValueKind.Array => a.EnumerateArray().Any(v => v.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(v.GetString())),
                        _ => false,
                    };
                    if (!hasAttributes)
                    {
                        problems.Add("no attributes");
                    }
                }

                if (problems.Count > 0)
                {
                    issues.Add(new ValidationIssue(source, 0, ValidationIssueKind.EmptyKnowledge, $"Knowledge entry '{entry.Name}' is incomplete: {string.Join(", ", problems)}."));
                }

                domains[entry.Name] = domain ?? string.Empty;
            }
        }
        catch (JsonException ex)
        {
            issues.Add(new ValidationIssue(source, 0, ValidationIssueKind.MalformedJson, $"The knowledge file is not valid JSON: {ex.Message}"));
        }

        return domains;
    }

    private void ValidateRecord(string root, string line, int lineNumber, string source, Dictionary<string, string>? knowledge,
        Dictionary<string, ImageDecodeResult> decoded, List<ValidationIssue> issues)
    {
        void Add(ValidationIssueKind kind, string message) => issues.Add(new ValidationIssue(source, lineNumber, kind, message));

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(line);
        }
        catch (JsonException ex)
        {
            Add(ValidationIssueKind.MalformedJson, $"Not valid JSON: {ex.Message}");
            return;
        }

        using (doc)
        {
            var r = doc.RootElement;
            if (r.ValueKind != JsonValueKind.Object)
            {
                Add(ValidationIssueKind.MalformedJson, "The record is not a JSON object.");
                return;
            }

            var image = GetString(r, "image");
            var entity = GetString(r, "entity");
            var domain = GetString(r, "domain");
            var width = GetInt(r, "width");
            var height = GetInt(r, "height");
            foreach (var (name, missing) in new[] { ("image", image is null), ("entity", entity is null), ("domain", domain is null), ("width", width is null), ("height", height is null) })
            {
                if (missing)
                {
                    Add(ValidationIssueKind.MissingField, $"Field '{name}' is missing or has the wrong type.");
                }
            }

            foreach (var name in new[] { "query", "answer" })
            {
                if (GetString(r, name) is null)
                {
                    Add(ValidationIssueKind.MissingField, $"Field '{name}' is missing or has the wrong type.");
                }
            }

            if (width is <= 0 || height is <= 0)
            {
                Add(ValidationIssueKind.MissingField, $"Width and height must be positive (got {width}x{height}).");
            }

            // Image: path safety, existence, decoding, size.
            if (image is not null)
            {
                var full = Path.GetFullPath(Path.Combine(root, image));
                if (Path.IsPathRooted(image) || !full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                {
                    Add(ValidationIssueKind.UnsafeImagePath, $"Image path '{image}' leaves the dataset folder.");
                }
                else if (!File.Exists(full))
                {
                    Add(ValidationIssueKind.MissingImage, $"Image '{image}' does not exist.");
                }
                else
                {
                    if (!decoded.TryGetValue(full, out var result))
                    {
                        result = _decoder.Decode(full);
                        decoded[full] = result;
                    }

                    if (!result.Success)
                    {
                        Add(ValidationIssueKind.UndecodableImage, $"Image '{image}' cannot be decoded: {result.Error}");
                    }
                    else if ((width is not null && width != result.Width) || (height is not null && height != result.Height))
                    {
                        Add(ValidationIssueKind.SizeMismatch, $"Record says {width}x{height} but '{image}' is {result.Width}x{result.Height}.");
                    }
                }
            }

            // Box.
            if (!r.TryGetProperty("box", out var boxElement) || boxElement.ValueKind != JsonValueKind.Array || boxElement.GetArrayLength() != 4)
            {
                Add(ValidationIssueKind.MissingField, "Field 'box' must be an array of 4 numbers [x1, y1, x2, y2].");
            }
            else
            {
                var values = new double[4];
                var ok = true;
                var i = 0;
                foreach (var v in boxElement.EnumerateArray())
                {
                    if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d))
                    {
                        values[i] = d;
                    }
                    else if (v.ValueKind == JsonValueKind.String && double.TryParse(v.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var s))
                    {
                        values[i] = s;
                    }
                    else
                    {
                        Add(ValidationIssueKind.MissingField, $"Box coordinate {i} is not a number ({v.GetRawText()}).");
                        ok = false;
                    }

                    i++;
                }

                if (ok)
                {
                    CheckBox(values, width, height, Add);
                }
            }

            // Entity and domain against the knowledge base.
            if (entity is not null && knowledge is not null)
            {
                if (!knowledge.TryGetValue(entity, out var knownDomain))
                {
                    Add(ValidationIssueKind.UnknownEntity, $"Entity '{entity}' is not in the knowledge base.");
                }
                else if (domain is not null && knownDomain.Length > 0 && knownDomain != domain)
                {
                    Add(ValidationIssueKind.DomainMismatch, $"Record domain '{domain}' differs from the knowledge base's '{knownDomain}' for '{entity}'.");
                }
            }
            else if (entity is not null)
            {
                Add(ValidationIssueKind.UnknownEntity, $"Entity '{entity}' cannot be checked: there is no knowledge base.");
            }
        }
    }

    private static void CheckBox(double[] b, int? width, int? height, Action<ValidationIssueKind, string> add)
    {
        var text = string.Join(", ", b.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
        if (b.Any(v => !double.IsFinite(v)))
        {
            add(ValidationIssueKind.NonFiniteBox, $"Box [{text}] has a NaN or infinite coordinate.");
            return;
        }

        if (b[2] <= b[0] || b[3] <= b[1])
        {
            add(ValidationIssueKind.InvertedBox, $"Box [{text}] is inverted or empty (needs x1 < x2 and y1 < y2).");
        }

        if (b.Min() < 0 || (width is > 0 && (b[0] > width || b[2] > width)) || (height is > 0 && (b[1] > height || b[3] > height)))
        {
            add(ValidationIssueKind.BoxOutsideImage, $"Box [{text}] is outside the {width}x{height} image.");
        }
    }

    private static string? GetString(JsonElement r, string name) =>
        r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static int? GetInt(JsonElement r, string name) =>
        r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : null;
}
