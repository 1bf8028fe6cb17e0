using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeepPerception.Client;
using DeepPerception.Data.Synth;

namespace DeepPerception.Api.Tests;

[Collection("api")]
public sealed class DatasetTests(ApiHostFixture host)
{
    [Fact]
    public async Task A_platform_zip_upload_keeps_good_records_and_reports_every_rejected_one_with_its_reason()
    {
        var client = host.Client(host.AlphaMember);
        await client.CreateDatasetAsync(new CreateDatasetBody("birds", "Birds", "KVG-Synth birds"));
        var zip = ApiHostFixture.PlatformZip(6, folder =>
        {
            var path = Path.Combine(folder, "records.jsonl");
            var lines = File.ReadAllLines(path).ToList();
            var first = JsonNode.Parse(lines[0])!.AsObject();
            JsonObject Variant(Action<JsonObject> change)
            {
                var copy = JsonNode.Parse(first.ToJsonString())!.AsObject();
                change(copy);
                return copy;
            }

            lines.Add(Variant(r => r["box"] = new JsonArray(10, 10, "NaN", 20)).ToJsonString());
            lines.Add(Variant(r => r["box"] = new JsonArray(10, 10, 5000, 20)).ToJsonString());
            lines.Add(Variant(r => r["box"] = new JsonArray(30, 30, 10, 10)).ToJsonString());
            lines.Add(Variant(r => r["image"] = "../../etc/passwd").ToJsonString());
            lines.Add(Variant(r => r["image"] = "images/missing.png").ToJsonString());
            lines.Add(Variant(r => r["entity"] = "Nobody Knows This Entity").ToJsonString());
            lines.Add(Variant(r => r.Remove("domain")).ToJsonString());
            lines.Add("{ this is not json");
            File.WriteAllLines(path, lines);
        });

        var result = await client.UploadDatasetZipAsync("birds", zip, description: "first upload");

        Assert.Equal("platform", result.Format);
        Assert.Equal(6, result.Accepted);
        Assert.Equal(14, result.Received);
        Assert.Equal(8, result.Rejected.Count);
        Assert.All(result.Rejected, r => Assert.NotEmpty(r.Reasons));
        string Reason(int line) => string.Join(" | ", result.Rejected.Single(r => r.Line == line).Reasons);
        Assert.Contains("NonFiniteBox", Reason(7), StringComparison.Ordinal);
        Assert.Contains("BoxOutsideImage", Reason(8), StringComparison.Ordinal);
        Assert.Contains("InvertedBox", Reason(9), StringComparison.Ordinal);
        Assert.Contains("UnsafeImagePath", Reason(10), StringComparison.Ordinal);
        Assert.Contains("MissingImage", Reason(11), StringComparison.Ordinal);
        Assert.Contains("UnknownEntity", Reason(12), StringComparison.Ordinal);
        Assert.Contains("'domain'", Reason(13), StringComparison.Ordinal);
        Assert.Contains("MalformedJson", Reason(14), StringComparison.Ordinal);

        var version = result.Version!;
        Assert.Equal(1, version.Version);
        Assert.Equal(6, version.SampleCount);
        Assert.True(version.Validation!.Valid);
        Assert.Equal(8, version.Validation.Issues.Count(i => i.Code == "rejected_record"));
        var dataset = await client.GetDatasetAsync("birds");
        Assert.True(dataset.KnowledgeEntryCount > 0, "the upload's knowledge.json was not added to the knowledge base");
        using var http = host.Http(host.AlphaMember);
        var report = await http.GetFromJsonAsync<ValidationReportDto>("/v1/datasets/birds/versions/1/report");
        Assert.Equal(14, report!.CheckedSamples);
        Assert.Contains(await client.ListDatasetsAsync(), d => d.DatasetId == "birds");
    }

    [Fact]
    public async Task Coco_refcoco_odvg_and_sharegpt_uploads_are_converted_to_the_platform_format()
    {
        var client = host.Client(host.AlphaAdmin);
        await client.CreateDatasetAsync(new CreateDatasetBody("formats", "Formats"));
        await client.PutKnowledgeAsync("formats", new KnowledgeEntryDto("red-kite", "Red Kite", "A red bird of prey with a forked tail."));
        var png = ApiHostFixture.Png(100, 80);
        var coco = JsonSerializer.SerializeToUtf8Bytes(new
        {
            images = new[] { new { id = 1, file_name = "a.png", width = 100, height = 80 } },
            annotations = new object[]
            {
                new { id = 10, image_id = 1, category_id = 3, bbox = new[] { 10.0, 10, 30, 20 } },
                new { id = 11, image_id = 9, category_id = 3, bbox = new[] { 10.0, 10, 30, 20 } },
                new { id = 12, image_id = 1, category_id = 3, bbox = new[] { 10.0, 10, -5, 20 } },
            },
            categories = new[] { new { id = 3, name = "Red Kite", supercategory = "bird" } },
        });
        var cocoResult = await client.UploadDatasetZipAsync("formats", ApiHostFixture.Zip(("annotations/instances.json", coco), ("images/a.png", png)), "coco");
        Assert.Equal(1, cocoResult.Accepted);
        Assert.Equal(2, cocoResult.Rejected.Count);
        Assert.Contains(cocoResult.Rejected, r => r.RecordId == "ann-11" && r.Reasons[0].Contains("image_id 9", StringComparison.Ordinal));
        Assert.Contains(cocoResult.Rejected, r => r.RecordId == "ann-12" && r.Reasons[0].Contains("InvertedBox", StringComparison.Ordinal));

        var refcoco = JsonSerializer.SerializeToUtf8Bytes(new
        {
            images = new[] { new { id = 1, file_name = "a.png", width = 100, height = 80 } },
            annotations = new[] { new { id = 10, image_id = 1, category_id = 3, bbox = new[] { 10.0, 10, 30, 20 } } },
            categories = new[] { new { id = 3, name = "Red Kite", supercategory = "bird" } },
            refs = new object[]
            {
                new { ref_id = 1, ann_id = 10, sentences = new[] { new { sent = "the red bird on the left" }, new { sent = "kite with forked tail" } } },
                new { ref_id = 2, ann_id = 99, sentences = new[] { new { sent = "nothing" } } },
            },
        });
        var refResult = await client.UploadDatasetZipAsync("formats", ApiHostFixture.Zip(("refs.json", refcoco), ("a.png", png)));
        Assert.Equal("refcoco", refResult.Format);
        Assert.Equal(2, refResult.Accepted);
        Assert.Contains(refResult.Rejected, r => r.RecordId == "ref-2");

        var odvg = System.Text.Encoding.UTF8.GetBytes(string.Join('\n',
            JsonSerializer.Serialize(new { filename = "a.png", width = 100, height = 80, detection = new { instances = new[] { new { bbox = new[] { 5.0, 5, 50, 40 }, label = 0, category = "Red Kite" } } } }),
            JsonSerializer.Serialize(new { filename = "a.png", width = 100, height = 80, grounding = new { caption = "x", regions = new[] { new { bbox = new[] { 5.0, 5, 50, 400 }, phrase = "Red Kite" } } } })));
        var odvgResult = await client.UploadDatasetZipAsync("formats", ApiHostFixture.Zip(("train.jsonl", odvg), ("a.png", png)));
        Assert.Equal("odvg", odvgResult.Format);
        Assert.Equal(1, odvgResult.Accepted);
        Assert.Contains("BoxOutsideImage", Assert.Single(odvgResult.Rejected).Reasons[0], StringComparison.Ordinal);

        var folder = Path.Combine(Path.GetTempPath(), $"dp-sharegpt-{Guid.NewGuid():N}");
        try
        {
            var world = SynthWorld.Create(0);
            var split = SynthSplits.Build(world, 3, 1, seed: 2);
            SynthExporter.ExportShareGpt(split.Train, folder, SynthTargetKind.Direct);
            var birds = await client.CreateDatasetAsync(new CreateDatasetBody("sharegpt", "ShareGPT"));
            foreach (var entity in split.Train.Select(s => s.Target.Label).Distinct())
            {
                await client.PutKnowledgeAsync("sharegpt", new KnowledgeEntryDto(DeepPerception.Api.Services.DatasetService.EntityId(entity)!, entity, world.Knowledge[entity].Text));
            }

            var shareResult = await client.UploadDatasetZipAsync("sharegpt", ApiHostFixture.ZipFolder(folder), "sharegpt");
            Assert.Equal(3, shareResult.Accepted);
            Assert.Empty(shareResult.Rejected);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        var dataset = await client.GetDatasetAsync("formats");
        Assert.Equal([1, 2, 3], dataset.Versions.Select(v => v.Version));
    }

    [Fact]
    public async Task The_knowledge_base_and_versions_can_be_read_changed_and_deleted()
    {
        var client = host.Client(host.AlphaMember);
        await client.CreateDatasetAsync(new CreateDatasetBody("kb", "KB"));
        await client.PutKnowledgeAsync("kb", new KnowledgeEntryDto("blue-jay", "Blue Jay", "Blue crest, black necklace.", ["jay"]));
        using var http = host.Http(host.AlphaMember);
        var list = await http.GetFromJsonAsync<ListDto<KnowledgeEntryDto>>("/v1/datasets/kb/knowledge");
        Assert.Equal("Blue Jay", Assert.Single(list!.Items).Name);
        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync("/v1/datasets/kb/knowledge/blue-jay")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.DeleteAsync("/v1/datasets/kb/knowledge/blue-jay")).StatusCode);

        var result = await client.UploadDatasetZipAsync("kb", ApiHostFixture.PlatformZip(2));
        Assert.Equal(2, result.Accepted);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v1/datasets/kb/versions/1")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync("/v1/datasets/kb/versions/1")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/v1/datasets/kb/versions/1")).StatusCode);
    }

    [Fact]
    public async Task A_raw_application_zip_body_is_accepted_and_strict_mode_refuses_any_rejected_record()
    {
        var client = host.Client(host.AlphaMember);
        await client.CreateDatasetAsync(new CreateDatasetBody("raw", "Raw"));
        using var http = host.Http(host.AlphaMember);
        var content = new ByteArrayContent(ApiHostFixture.PlatformZip(2));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
        var response = await http.PostAsync("/v1/datasets/raw/versions?description=raw", content);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);

        var bad = ApiHostFixture.PlatformZip(2, folder => File.AppendAllText(Path.Combine(folder, "records.jsonl"), "{\"broken\": true}\n"));
        var strict = await Assert.ThrowsAsync<DeepPerceptionApiException>(() => client.UploadDatasetZipAsync("raw", bad, strict: true));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, strict.Status);
        Assert.Contains("rejected", strict.Body, StringComparison.Ordinal);
        Assert.Single((await client.GetDatasetAsync("raw")).Versions);
    }
}
