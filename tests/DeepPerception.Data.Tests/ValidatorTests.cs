using System.Text.Json;
using System.Text.Json.Nodes;
using DeepPerception.Data.Synth;
using DeepPerception.Data.Validation;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.PixelFormats;

namespace DeepPerception.Data.Tests;

/// <summary>Dataset validation: each kind of bad input is reported with its line number; nothing is dropped silently.</summary>
public sealed class ValidatorTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly List<JsonObject> _records;

    public ValidatorTests()
    {
        var samples = TestData.Samples(6, stream: 41).ToList();
        SynthExporter.ExportPlatform(samples, TestData.World.Knowledge, _dir.Path);
        _records = File.ReadAllLines(RecordsPath).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
    }

    private string RecordsPath => Path.Combine(_dir.Path, SynthExporter.RecordsFile);

    public void Dispose() => _dir.Dispose();

    private ValidationReport Rewrite(Action<List<JsonObject>> change)
    {
        change(_records);
        File.WriteAllLines(RecordsPath, _records.Select(r => r.ToJsonString()));
        return new DatasetValidator().Validate(_dir.Path);
    }

    private static void AssertOnly(ValidationReport report, int line, ValidationIssueKind kind)
    {
        Assert.Contains(report.Issues, i => i.LineNumber == line && i.Kind == kind);
        Assert.Equal([line], report.BadLines);
        Assert.Equal(report.RecordCount - 1, report.ValidRecordCount);
    }

    [Fact]
    public void CleanExport_IsValid()
    {
        var report = new DatasetValidator().Validate(_dir.Path);
        Assert.True(report.IsValid, string.Join("\n", report.Issues));
        Assert.Equal(6, report.RecordCount);
    }

    [Fact]
    public void MissingImage_IsReported()
    {
        File.Delete(Path.Combine(_dir.Path, _records[2]["image"]!.GetValue<string>()));
        AssertOnly(new DatasetValidator().Validate(_dir.Path), 3, ValidationIssueKind.MissingImage);
    }

    [Fact]
    public void GarbageImage_IsUndecodable()
    {
        File.WriteAllBytes(Path.Combine(_dir.Path, _records[1]["image"]!.GetValue<string>()), Enumerable.Range(0, 2560).Select(i => (byte)(i * 37)).ToArray());
        AssertOnly(new DatasetValidator().Validate(_dir.Path), 2, ValidationIssueKind.UndecodableImage);
    }

    [Fact]
    public void TruncatedPng_IsUndecodable()
    {
        var path = Path.Combine(_dir.Path, _records[0]["image"]!.GetValue<string>());
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..60]);
        AssertOnly(new DatasetValidator().Validate(_dir.Path), 1, ValidationIssueKind.UndecodableImage);
    }

    [Fact]
    public void HugeDimensionHeader_IsRejected_BeforeDecoding()
    {
        // A PNG whose IHDR claims 50000 × 50000.
        var path = Path.Combine(_dir.Path, _records[4]["image"]!.GetValue<string>());
        var bytes = File.ReadAllBytes(path);
        void Put(int offset, int v)
        {
            bytes[offset] = (byte)(v >> 24);
            bytes[offset + 1] = (byte)(v >> 16);
            bytes[offset + 2] = (byte)(v >> 8);
            bytes[offset + 3] = (byte)v;
        }

        Put(16, 50000);
        Put(20, 50000);
        File.WriteAllBytes(path, bytes);
        var report = new DatasetValidator().Validate(_dir.Path);
        AssertOnly(report, 5, ValidationIssueKind.UndecodableImage);
    }

    [Fact]
    public void AnimatedGif_DecodesFirstFrameOnly_AndIsAccepted()
    {
        var path = Path.Combine(_dir.Path, "images", "anim.gif");
        using (var gif = new Image<Rgb24>(40, 30, new Rgb24(10, 200, 10)))
        {
            for (var f = 0; f < 3; f++)
            {
                using var frame = new Image<Rgb24>(40, 30, new Rgb24((byte)(60 * f), 0, 0));
                gif.Frames.AddFrame(frame.Frames.RootFrame);
            }

            gif.SaveAsGif(path, new GifEncoder());
        }

        var result = new HardenedImageDecoder().Decode(path);
        Assert.True(result.Success, result.Error);
        Assert.Equal((40, 30), (result.Width, result.Height));
        Assert.Equal(1, result.Frames);
        using var full = Image.Load(path);
        Assert.Equal(4, full.Frames.Count);
    }

    [Fact]
    public void BoxOutsideImage_IsReported()
    {
        var w = _records[3]["width"]!.GetValue<int>();
        var report = Rewrite(r => r[3]["box"] = new JsonArray(10, 10, w + 5, 20));
        AssertOnly(report, 4, ValidationIssueKind.BoxOutsideImage);
        Assert.Contains(w.ToString(System.Globalization.CultureInfo.InvariantCulture), report.Issues[0].Message);
    }

    [Fact]
    public void NegativeCoordinate_IsOutsideImage()
    {
        var report = Rewrite(r => r[0]["box"] = new JsonArray(-3, 10, 40, 50));
        AssertOnly(report, 1, ValidationIssueKind.BoxOutsideImage);
    }

    [Fact]
    public void NaNCoordinate_IsReported()
    {
        var report = Rewrite(r => r[5]["box"] = new JsonArray(10, "NaN", 40, 50));
        AssertOnly(report, 6, ValidationIssueKind.NonFiniteBox);
    }

    [Fact]
    public void InvertedBox_IsReported()
    {
        var report = Rewrite(r => r[2]["box"] = new JsonArray(80, 10, 40, 50));
        AssertOnly(report, 3, ValidationIssueKind.InvertedBox);
    }

    [Fact]
    public void UnknownEntity_IsReported()
    {
        var report = Rewrite(r => r[1]["entity"] = "Nonexistent Zork");
        AssertOnly(report, 2, ValidationIssueKind.UnknownEntity);
        Assert.Contains("Nonexistent Zork", report.Issues[0].Message);
    }

    [Fact]
    public void DomainMismatch_IsReported()
    {
        var entity = _records[0]["entity"]!.GetValue<string>();
        var wrong = TestData.World.Get(entity).Domain.Name == "car" ? "bird" : "car";
        var report = Rewrite(r => r[0]["domain"] = wrong);
        AssertOnly(report, 1, ValidationIssueKind.DomainMismatch);
    }

    [Fact]
    public void EmptyKnowledgeEntry_IsReported()
    {
        var path = Path.Combine(_dir.Path, SynthExporter.KnowledgeFile);
        var knowledge = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        var name = _records[0]["entity"]!.GetValue<string>();
        knowledge[name]!["text"] = "  ";
        knowledge[name]!["attributes"] = new JsonObject();
        File.WriteAllText(path, knowledge.ToJsonString());
        var report = new DatasetValidator().Validate(_dir.Path);
        var issue = Assert.Single(report.Issues);
        Assert.Equal(ValidationIssueKind.EmptyKnowledge, issue.Kind);
        Assert.Contains(name, issue.Message);
        Assert.Contains("no text", issue.Message);
        Assert.Contains("no attributes", issue.Message);
        Assert.Equal(SynthExporter.KnowledgeFile, issue.Source);
    }

    [Fact]
    public void MalformedLine_AndMissingFields_AreReported()
    {
        var lines = _records.Select(r => r.ToJsonString()).ToList();
        lines[1] = "{ not json";
        var noBox = _records[4].DeepClone().AsObject();
        noBox.Remove("box");
        noBox.Remove("query");
        lines[4] = noBox.ToJsonString();
        File.WriteAllLines(RecordsPath, lines);
        var report = new DatasetValidator().Validate(_dir.Path);
        Assert.Equal([2, 5], report.BadLines);
        Assert.Contains(report.Issues, i => i.LineNumber == 2 && i.Kind == ValidationIssueKind.MalformedJson);
        Assert.Contains(report.Issues, i => i.LineNumber == 5 && i.Kind == ValidationIssueKind.MissingField && i.Message.Contains("'box'"));
        Assert.Contains(report.Issues, i => i.LineNumber == 5 && i.Kind == ValidationIssueKind.MissingField && i.Message.Contains("'query'"));
    }

    [Fact]
    public void PathTraversal_IsRejected()
    {
        var report = Rewrite(r => r[3]["image"] = "../../etc/passwd");
        AssertOnly(report, 4, ValidationIssueKind.UnsafeImagePath);
    }

    [Fact]
    public void SizeMismatch_IsReported()
    {
        var report = Rewrite(r => r[2]["width"] = 999);
        Assert.Contains(report.Issues, i => i.LineNumber == 3 && i.Kind == ValidationIssueKind.SizeMismatch);
        Assert.Equal([3], report.BadLines);
    }

    [Fact]
    public void ExifRotatedPhoto_IsValidatedInDisplayedPixels()
    {
        // A JPEG of 13x7 stored pixels with EXIF orientation 6: displayed (and decoded) as 7x13.
        var photo = FindUp(Path.Combine("tests", "fixtures", "exif", "files", "jpeg_o6.jpg"));
        File.Copy(photo, Path.Combine(_dir.Path, _records[0]["image"]!.GetValue<string>()), overwrite: true);

        var displayed = Rewrite(r =>
        {
            r[0]["width"] = 7;
            r[0]["height"] = 13;
            r[0]["box"] = new JsonArray(1, 2, 6, 12);
        });
        Assert.True(displayed.IsValid, string.Join("\n", displayed.Issues));

        // The stored grid's size, or a box in stored pixels, is wrong for the displayed image.
        var storedSize = Rewrite(r =>
        {
            r[0]["width"] = 13;
            r[0]["height"] = 7;
            r[0]["box"] = new JsonArray(1, 1, 6, 6);
        });
        AssertOnly(storedSize, 1, ValidationIssueKind.SizeMismatch);

        var storedBox = Rewrite(r =>
        {
            r[0]["width"] = 7;
            r[0]["height"] = 13;
            r[0]["box"] = new JsonArray(2, 1, 12, 6);
        });
        AssertOnly(storedBox, 1, ValidationIssueKind.BoxOutsideImage);
    }

    private static string FindUp(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"{relative} not found above {AppContext.BaseDirectory}.");
    }

    [Fact]
    public void EveryBadRecord_IsListed_WithItsLineNumber()
    {
        var w = _records[0]["width"]!.GetValue<int>();
        var report = Rewrite(r =>
        {
            r[0]["box"] = new JsonArray(5, 5, w + 100, 9);
            r[2]["entity"] = "Nobody";
            r[3]["box"] = new JsonArray(50, 50, 10, 10);
            r[5]["box"] = new JsonArray("Infinity", 0, 10, 10);
        });
        File.Delete(Path.Combine(_dir.Path, _records[4]["image"]!.GetValue<string>()));
        report = new DatasetValidator().Validate(_dir.Path);
        Assert.Equal([1, 3, 4, 5, 6], report.BadLines);
        Assert.Equal(6, report.RecordCount);
        Assert.Equal(1, report.ValidRecordCount);
        Assert.All(report.Issues, i => Assert.Contains($"{SynthExporter.RecordsFile}:{i.LineNumber}:", i.ToString()));
    }

    [Fact]
    public void MissingFiles_AreReported()
    {
        File.Delete(Path.Combine(_dir.Path, SynthExporter.KnowledgeFile));
        var report = new DatasetValidator().Validate(_dir.Path);
        Assert.Contains(report.Issues, i => i.Kind == ValidationIssueKind.MissingFile && i.Source == SynthExporter.KnowledgeFile);
        Assert.Equal(6, report.Issues.Count(i => i.Kind == ValidationIssueKind.UnknownEntity));
        File.Delete(RecordsPath);
        report = new DatasetValidator().Validate(_dir.Path);
        Assert.Contains(report.Issues, i => i.Kind == ValidationIssueKind.MissingFile && i.Source == SynthExporter.RecordsFile);
    }

    [Fact]
    public void KnowledgeNotJson_IsReported()
    {
        File.WriteAllText(Path.Combine(_dir.Path, SynthExporter.KnowledgeFile), "[1, 2");
        var report = new DatasetValidator().Validate(_dir.Path);
        Assert.Contains(report.Issues, i => i.Kind == ValidationIssueKind.MalformedJson && i.Source == SynthExporter.KnowledgeFile);
        _ = JsonSerializer.Serialize(report.Issues.Count);
    }
}
