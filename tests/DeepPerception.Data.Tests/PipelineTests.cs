using System.Text.Json;
using DeepPerception.Data.Synth;
using DeepPerception.Data.Synthesis;
using DeepPerception.Data.Validation;
using DeepPerception.Kvg;

namespace DeepPerception.Data.Tests;

/// <summary>The synthesis pipeline end to end with the templated teacher and with a teacher that errs.</summary>
public sealed class PipelineTests
{
    private static readonly CompositeOptions Small = new() { MinCanvas = 224, MaxCanvas = 448, MinObjectSize = 64 };

    /// <summary>A teacher that answers a box shifted to the right for odd composites and fails on every fifth.</summary>
    private sealed class ShiftingTeacher : IRationaleTeacher
    {
        public string Name => "shifting";

        public Task<string> GenerateAsync(RationaleRequest request, CancellationToken cancellationToken = default)
        {
            var index = int.Parse(request.Composite.Sample.Id.Split('-')[^1], System.Globalization.CultureInfo.InvariantCulture);
            if (index % 5 == 4)
            {
                throw new RationaleTeacherException("endpoint down");
            }

            var b = request.Target.Box;
            var box = index % 2 == 1 ? new GridBox(Math.Min(999, b.X2 + 1), b.Y1, 1000, b.Y2) : b;
            return Task.FromResult($"Planning: p.\nVisual Analysis: v.\nComparison: c.\nConclusion: it is at {box.ToBoxText()}.");
        }
    }

    [Fact]
    public async Task Templated_run_keeps_every_rationale_and_exports_a_valid_platform_dataset()
    {
        var data = SynthesisTestData.Noisy();
        var pipeline = new SynthesisPipeline(new TemplatedRationaleTeacher(), new SynthesisOptions { Composites = 10, Seed = 2, Composite = Small });
        var result = await pipeline.RunAsync(data);
        Assert.Equal(10, result.Report.Kept);
        Assert.Equal(0, result.Report.RejectedTotal);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"composite-{i:D6}"), result.Kept.Select(k => k.Composite.Sample.Id));

        using var dir = new TempDir();
        Assert.Equal(10, SynthesisExporter.Write(result, data.Knowledge, dir.Path));
        var platform = Path.Combine(dir.Path, SynthesisExporter.PlatformFolder);
        var report = new DatasetValidator().Validate(platform);
        Assert.True(report.IsValid, string.Join("\n", report.Issues));
        Assert.Equal(10, report.RecordCount);

        // The written records read back as labelled images with the targets' boxes.
        var back = PlatformDatasetReader.Load(platform);
        Assert.Equal(result.Kept.Select(k => (k.Composite.Sample.Target.Label, k.Composite.Sample.TargetBox)), back.Images.Select(i => (i.Entity, i.Box)));

        var first = JsonDocument.Parse(File.ReadLines(Path.Combine(platform, SynthExporter.RecordsFile)).First()).RootElement;
        Assert.Equal(result.Kept[0].Target, first.GetProperty("cot").GetString());
        Assert.Equal(result.Kept[0].Composite.Sample.Objects.Count, first.GetProperty("objects").GetArrayLength());
        using var share = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir.Path, SynthesisExporter.ShareGptFolder, SynthesisExporter.ShareGptFile)));
        Assert.Equal(10, share.RootElement.GetArrayLength());
        var messages = share.RootElement[0].GetProperty("messages");
        Assert.Equal("<image>" + KvgPrompts.R1(result.Kept[0].Composite.Sample.Query), messages[0].GetProperty("content").GetString());
        Assert.Equal(result.Kept[0].Target, messages[1].GetProperty("content").GetString());
        Assert.True(File.Exists(Path.Combine(dir.Path, SynthesisExporter.ShareGptFolder, share.RootElement[0].GetProperty("images")[0].GetString()!)));
    }

    [Fact]
    public async Task Gate_report_counts_kept_and_rejected_by_reason()
    {
        var data = SynthesisTestData.Noisy();
        var result = await new SynthesisPipeline(new ShiftingTeacher(), new SynthesisOptions { Composites = 10, Composite = Small, MaxParallelRequests = 3 }).RunAsync(data);
        // 0..9: 4 and 9 fail; of the rest, odd ones (1, 3, 5, 7) are shifted off the target; 0, 2, 6, 8 are kept.
        Assert.Equal([0, 2, 6, 8], result.Kept.Select(k => int.Parse(k.Composite.Sample.Id[^6..], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(4, result.Report.Kept);
        Assert.Equal(2, result.Report.Rejected[RationaleRejection.TeacherError]);
        Assert.Equal(4, result.Report.Rejected[RationaleRejection.LowIoU]);
        Assert.Equal(0, result.Report.Rejected[RationaleRejection.NoBox]);
        Assert.All(result.Kept, k => Assert.EndsWith(k.Composite.Sample.Answer + "<|box_end|> </answer>", k.Target));
        Assert.Contains(result.Rejected, r => r.Error == "endpoint down");

        using var dir = new TempDir();
        SynthesisExporter.Write(result, data.Knowledge, dir.Path);
        using var report = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir.Path, SynthesisExporter.ReportFile)));
        Assert.Equal(4, report.RootElement.GetProperty("kept").GetInt32());
        Assert.Equal(2, report.RootElement.GetProperty("rejectedByReason").GetProperty("teacher-error").GetInt32());
        Assert.Equal(4, report.RootElement.GetProperty("rejectedByReason").GetProperty("low-iou").GetInt32());
        Assert.Equal(6, report.RootElement.GetProperty("rejections").GetArrayLength());
    }

    [Fact]
    public void Reader_names_the_bad_line()
    {
        using var dir = new TempDir();
        var samples = TestData.Samples(3).ToList();
        SynthExporter.ExportPlatform(samples, TestData.World.Knowledge, dir.Path);
        var data = PlatformDatasetReader.Load(dir.Path);
        Assert.Equal(samples.Select(s => (s.Target.Label, s.TargetBox)), data.Images.Select(i => (i.Entity, i.Box)));

        var records = Path.Combine(dir.Path, SynthExporter.RecordsFile);
        var lines = File.ReadAllLines(records);
        lines[1] = lines[1].Replace("\"box\":[", "\"box\":[\"x\",", StringComparison.Ordinal);
        File.WriteAllLines(records, lines);
        var e = Assert.Throws<SynthesisInputException>(() => PlatformDatasetReader.Load(dir.Path));
        Assert.Contains("records.jsonl:2", e.Message);
        File.Delete(Path.Combine(dir.Path, SynthExporter.KnowledgeFile));
        Assert.Throws<SynthesisInputException>(() => PlatformDatasetReader.Load(dir.Path));
    }
}
