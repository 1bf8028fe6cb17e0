using System.Text.Json;
using System.Text.Json.Serialization;
using Parquet.Serialization;
using DeepPerception.Data.Synth;
using DeepPerception.Data.Validation;
using DeepPerception.Kvg;
using SixLabors.ImageSharp;

namespace DeepPerception.Data.Tests;

/// <summary>Splits and the three export formats.</summary>
public sealed class SplitAndExportTests
{
    [Fact]
    public void Splits_TrainOnSeenOnly_TestOnAllTen()
    {
        var split = SynthSplits.Build(TestData.World, 25, 30, seed: 3);
        Assert.Equal(25, split.Train.Count);
        Assert.Equal(30, split.Test.Count);
        var train = split.Train.ToList();
        var test = split.Test.ToList();
        Assert.All(train, s => Assert.True(SynthDomains.Get(s.Domain).IsSeen, s.Domain));
        Assert.Equal(5, train.Select(s => s.Domain).Distinct().Count());
        Assert.Equal(10, test.Select(s => s.Domain).Distinct().Count());
        Assert.Empty(train.Select(s => s.Id).Intersect(test.Select(s => s.Id)));
        Assert.Equal(split.Train[7].Image.Pixels, SynthSplits.Build(TestData.World, 25, 30, seed: 3).Train[7].Image.Pixels);
        Assert.NotEqual(split.Train[7].Image.Pixels, SynthSplits.Build(TestData.World, 25, 30, seed: 4).Train[7].Image.Pixels);
        Assert.Throws<ArgumentOutOfRangeException>(() => split.Train[25]);
    }

    [Fact]
    public void PlatformExport_IsReadable_ValidatesClean_AndIsByteIdenticalForTheSameSeed()
    {
        using var dir1 = new TempDir();
        using var dir2 = new TempDir();
        var samples = SynthSplits.Build(SynthWorld.Create(21), 0, 12, seed: 1).Test;
        Assert.Equal(12, SynthExporter.ExportPlatform(samples, SynthWorld.Create(21).Knowledge, dir1.Path));
        SynthExporter.ExportPlatform(SynthSplits.Build(SynthWorld.Create(21), 0, 12, seed: 1).Test, SynthWorld.Create(21).Knowledge, dir2.Path);

        foreach (var file in Directory.GetFiles(dir1.Path, "*", SearchOption.AllDirectories))
        {
            var rel = Path.GetRelativePath(dir1.Path, file);
            Assert.Equal(File.ReadAllBytes(file), File.ReadAllBytes(Path.Combine(dir2.Path, rel)));
        }

        var lines = File.ReadAllLines(Path.Combine(dir1.Path, SynthExporter.RecordsFile));
        Assert.Equal(12, lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            using var doc = JsonDocument.Parse(lines[i]);
            var r = doc.RootElement;
            var s = samples[i];
            Assert.Equal(s.Id, r.GetProperty("id").GetString());
            Assert.Equal(s.Target.Label, r.GetProperty("entity").GetString());
            Assert.Equal(s.Domain, r.GetProperty("domain").GetString());
            Assert.Equal(s.Query, r.GetProperty("query").GetString());
            Assert.Equal(s.Answer, r.GetProperty("answer").GetString());
            Assert.Equal(new[] { s.TargetBox.X1, s.TargetBox.Y1, s.TargetBox.X2, s.TargetBox.Y2 }, r.GetProperty("box").EnumerateArray().Select(e => e.GetInt32()));
            var imagePath = Path.Combine(dir1.Path, r.GetProperty("image").GetString()!);
            using var img = Image.Load(imagePath);
            Assert.Equal((r.GetProperty("width").GetInt32(), r.GetProperty("height").GetInt32()), (img.Width, img.Height));
            Assert.Contains("<|object_ref_start|>", lines[i]);
        }

        using var knowledge = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir1.Path, SynthExporter.KnowledgeFile)));
        Assert.Equal(200, knowledge.RootElement.EnumerateObject().Count());
        var first = knowledge.RootElement.EnumerateObject().First().Value;
        Assert.False(string.IsNullOrWhiteSpace(first.GetProperty("text").GetString()));
        Assert.Equal(5, first.GetProperty("attributes").EnumerateObject().Count());

        var report = new DatasetValidator().Validate(dir1.Path);
        Assert.True(report.IsValid, string.Join("\n", report.Issues));
        Assert.Equal(12, report.ValidRecordCount);
    }

    [Theory]
    [InlineData(SynthTargetKind.Cot)]
    [InlineData(SynthTargetKind.Direct)]
    public void ShareGptExport_HasLlamaFactoryStructure(SynthTargetKind kind)
    {
        using var dir = new TempDir();
        var samples = TestData.Samples(6).ToList();
        Assert.Equal(6, SynthExporter.ExportShareGpt(samples, dir.Path, kind));
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir.Path, "sharegpt.json")));
        var records = doc.RootElement.EnumerateArray().ToList();
        Assert.Equal(6, records.Count);
        for (var i = 0; i < records.Count; i++)
        {
            var messages = records[i].GetProperty("messages").EnumerateArray().ToList();
            Assert.Equal(2, messages.Count);
            Assert.Equal("user", messages[0].GetProperty("role").GetString());
            Assert.Equal("assistant", messages[1].GetProperty("role").GetString());
            var user = messages[0].GetProperty("content").GetString()!;
            var assistant = messages[1].GetProperty("content").GetString()!;
            Assert.StartsWith("<image>Find and give the bounding box of <|object_ref_start|>" + samples[i].Target.Label, user);
            if (kind == SynthTargetKind.Cot)
            {
                Assert.Equal("<image>" + KvgPrompts.R1(samples[i].Query), user);
                Assert.Equal(SynthTargets.Cot(samples[i]), assistant);
            }
            else
            {
                Assert.Equal("<image>" + samples[i].Query, user);
                Assert.Equal(SynthTargets.Direct(samples[i]), assistant);
            }

            var images = records[i].GetProperty("images").EnumerateArray().Select(e => e.GetString()!).ToList();
            Assert.Single(images);
            Assert.True(File.Exists(Path.Combine(dir.Path, images[0])));
        }
    }

    [Fact]
    public async Task KvgParquetExport_RoundTrips()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "kvg-bench.parquet");
        var samples = TestData.Samples(14).ToList();
        await SynthExporter.ExportKvgParquetAsync(samples, path);

        // Read back with Parquet.Net's own row deserializer: the columns and the image struct as datasets writes them.
        await using var stream = File.OpenRead(path);
        var rows = (await ParquetSerializer.DeserializeAsync<KvgRow>(stream)).Data.ToList();
        Assert.Equal(14, rows.Count);
        var counters = new Dictionary<string, int>();
        for (var i = 0; i < rows.Count; i++)
        {
            var s = samples[i];
            counters.TryGetValue(s.Domain, out var n);
            counters[s.Domain] = n + 1;
            Assert.Equal($"{s.Domain}/{n}", rows[i].QuestionId);
            Assert.Equal(s.Domain, rows[i].Category);
            Assert.Equal(s.Query, rows[i].Question);
            Assert.Equal(s.Target.Label, KvgPrompts.ExtractEntity(rows[i].Question!));
            Assert.Equal($"<|box_start|>{s.Answer}<|box_end|>", rows[i].Answer);
            Assert.Equal(s.TargetGridBox.ToBoundingBox(), KvgPrompts.ParseGroundTruth(rows[i].Answer!));
            Assert.Equal(s.Image.EncodePng(), rows[i].Image!.Bytes);
            Assert.Equal($"{s.Id}.png", rows[i].Image!.Path);
            using var img = Image.Load(rows[i].Image!.Bytes);
            Assert.Equal((s.Image.Width, s.Image.Height), (img.Width, img.Height));
        }

        // And with the platform's KVG-Bench reader.
        var items = await KvgBenchFile.ReadAllAsync(path);
        Assert.Equal(rows.Select(r => (r.QuestionId, r.Category, r.Question, r.Answer)), items.Select(i => ((string?)i.QuestionId, (string?)i.Category, (string?)i.Question, (string?)i.Answer)));
        Assert.Equal(samples.Select(s => s.Target.Label), items.Select(i => i.Entity));
        Assert.Equal(samples.Select(s => s.TargetGridBox.ToBoundingBox()), items.Select(i => i.GroundTruth));
        Assert.Equal(samples[3].Image.EncodePng(), items[3].ImageBytes);
    }

    /// <summary>One KVG-Bench row as Parquet.Net deserialises it.</summary>
    public sealed class KvgRow
    {
        [JsonPropertyName("question_id")]
        public string? QuestionId { get; set; }

        [JsonPropertyName("category")]
        public string? Category { get; set; }

        [JsonPropertyName("question")]
        public string? Question { get; set; }

        [JsonPropertyName("answer")]
        public string? Answer { get; set; }

        [JsonPropertyName("image")]
        public KvgImage? Image { get; set; }
    }

    /// <summary>The datasets Image struct.</summary>
    public sealed class KvgImage
    {
        [JsonPropertyName("bytes")]
        public byte[]? Bytes { get; set; }

        [JsonPropertyName("path")]
        public string? Path { get; set; }
    }

    [Fact]
    public void KnowledgeCorpus_IsWritten()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "corpus.txt");
        SynthExporter.WriteKnowledgeCorpus(TestData.World, path);
        var lines = File.ReadAllLines(path);
        Assert.Equal(600, lines.Length);
        Assert.All(SynthDomains.All, d => Assert.Contains(lines, l => l.Contains($" {d.Noun} whose ")));
    }

    [Fact]
    public void PlatformExport_RefusesTargetsMissingFromTheKnowledgeBase()
    {
        using var dir = new TempDir();
        var empty = new Dictionary<string, SynthKnowledgeEntry>();
        Assert.Throws<ArgumentException>(() => SynthExporter.ExportPlatform(TestData.Samples(1), empty, dir.Path));
    }
}
