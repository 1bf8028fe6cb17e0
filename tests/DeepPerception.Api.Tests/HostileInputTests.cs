using System.Buffers.Binary;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using DeepPerception.Client;

namespace DeepPerception.Api.Tests;

/// <summary>A corpus of hostile requests: each gets the precise 4xx, nothing stored is lost, and the process keeps serving.</summary>
[Collection("api")]
public sealed class HostileInputTests(ApiHostFixture host)
{
    [Fact]
    public async Task Every_hostile_request_gets_its_precise_4xx_and_nothing_stored_is_lost()
    {
        var client = host.Client(host.BetaAdmin);
        await client.CreateDatasetAsync(new CreateDatasetBody("keep", "Keep"));
        var kept = (await client.UploadDatasetZipAsync("keep", ApiHostFixture.PlatformZip(3))).Version!;
        using var http = host.Http(host.BetaAdmin);
        var failures = new List<string>();
        var cases = 0;

        async Task Expect(string name, HttpStatusCode expected, Func<Task<HttpResponseMessage>> send, string? detail = null)
        {
            cases++;
            var response = await send();
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != expected)
            {
                failures.Add($"{name}: expected {(int)expected}, got {(int)response.StatusCode} {body}");
                return;
            }

            if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
            {
                failures.Add($"{name}: not a ProblemDetails answer ({response.Content.Headers.ContentType})");
            }
            else if (detail is not null && !body.Contains(detail, StringComparison.Ordinal))
            {
                failures.Add($"{name}: the problem does not say '{detail}': {body}");
            }
        }

        Task<HttpResponseMessage> Upload(byte[] zip, string dataset = "keep")
        {
            var form = new MultipartFormDataContent();
            var file = new ByteArrayContent(zip);
            file.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
            form.Add(file, "file", "upload.zip");
            return http.PostAsync($"/v1/datasets/{dataset}/versions", form);
        }

        Task<HttpResponseMessage> PostJson(string path, string json) =>
            http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

        Task<HttpResponseMessage> Ground(byte[] image, string query = "the bird", int maxNewTokens = 4, double temperature = 0) =>
            PostJson("/v1/ground", JsonSerializer.Serialize(new { model = "nomodel", query, imageBase64 = Convert.ToBase64String(image), maxNewTokens, temperature }));

        // Archives.
        await Expect("zip bomb", HttpStatusCode.UnprocessableEntity, () => Upload(ApiHostFixture.Zip(("records.jsonl", new byte[20 * 1024 * 1024]))), "zip bomb");
        await Expect("path traversal entry", HttpStatusCode.UnprocessableEntity, () => Upload(ApiHostFixture.Zip(("../evil.txt", [1]))), "path traversal");
        await Expect("absolute entry", HttpStatusCode.UnprocessableEntity, () => Upload(ApiHostFixture.Zip(("/etc/cron.d/x", [1]))), "not a safe relative path");
        await Expect("drive letter entry", HttpStatusCode.UnprocessableEntity, () => Upload(ApiHostFixture.Zip(("C:\\windows\\x", [1]))), "not a safe relative path");
        await Expect("symbolic link entry", HttpStatusCode.UnprocessableEntity, () => Upload(SymlinkZip()), "symbolic link");
        await Expect("corrupt zip", HttpStatusCode.UnprocessableEntity, () => Upload(Encoding.ASCII.GetBytes("PK\u0003\u0004 this is not a zip at all")), "not a valid zip");
        await Expect("oversized upload", HttpStatusCode.RequestEntityTooLarge, () => Upload(RandomBytes(9 * 1024 * 1024)));
        await Expect("no annotations", HttpStatusCode.UnprocessableEntity, () => Upload(ApiHostFixture.Zip(("readme.txt", [65]))), "No annotations");
        await Expect("malformed COCO", HttpStatusCode.UnprocessableEntity,
            () => Upload(ApiHostFixture.Zip(("coco.json", Encoding.UTF8.GetBytes("{\"images\": 5, \"annotations\": 5}")))), "No record");
        await Expect("COCO with NaN and garbage boxes", HttpStatusCode.UnprocessableEntity, () => Upload(ApiHostFixture.Zip(
            ("coco.json", Encoding.UTF8.GetBytes("{\"images\":[{\"id\":1,\"file_name\":\"a.png\"}],\"annotations\":[{\"id\":1,\"image_id\":1,\"category_id\":1,\"bbox\":[\"NaN\",0,1,1]},{\"id\":2,\"image_id\":1,\"category_id\":1,\"bbox\":[0,0,\"x\",1]}],\"categories\":[{\"id\":1,\"name\":\"A\"}]}")),
            ("a.png", ApiHostFixture.Png()))), "NonFiniteBox");
        await Expect("upload as text", HttpStatusCode.UnsupportedMediaType,
            () => http.PostAsync("/v1/datasets/keep/versions", new StringContent("hello", Encoding.UTF8, "text/plain")));

        // JSON bodies.
        await Expect("truncated JSON", HttpStatusCode.BadRequest, () => PostJson("/v1/datasets", "{\"datasetId\": \"x\""), "not valid JSON");
        await Expect("wrong JSON types", HttpStatusCode.BadRequest, () => PostJson("/v1/datasets", "{\"datasetId\": 5, \"displayName\": []}"), "$.datasetId");
        await Expect("JSON null", HttpStatusCode.BadRequest, () => PostJson("/v1/datasets", "null"));
        await Expect("empty body", HttpStatusCode.BadRequest, () => PostJson("/v1/datasets", ""));
        await Expect("NaN literal", HttpStatusCode.BadRequest,
            () => http.PutAsync("/v1/tenant/members/someone", new StringContent("{\"role\": NaN}", Encoding.UTF8, "application/json")));
        await Expect("unknown route", HttpStatusCode.NotFound, () => http.GetAsync("/v1/no-such-thing"));
        await Expect("wrong method", HttpStatusCode.MethodNotAllowed, () => http.PatchAsync("/v1/datasets", new StringContent("{}")));
        await Expect("form instead of JSON", HttpStatusCode.UnsupportedMediaType,
            () => http.PostAsync("/v1/datasets", new FormUrlEncodedContent([new("datasetId", "x")])));
        await Expect("huge JSON body", HttpStatusCode.RequestEntityTooLarge,
            () => PostJson("/v1/datasets", "{\"datasetId\": \"x\", \"displayName\": \"" + new string('a', 1_500_000) + "\"}"));
        await Expect("invalid id", HttpStatusCode.BadRequest, () => PostJson("/v1/datasets", "{\"datasetId\": \"../etc\", \"displayName\": \"x\"}"), "not valid");
        await Expect("invalid id in path", HttpStatusCode.BadRequest, () => http.GetAsync("/v1/datasets/UPPER_case"), "not valid");

        // Images and ground settings.
        await Expect("garbage image", HttpStatusCode.UnsupportedMediaType, () => Ground(RandomBytes(2000)), "not supported");
        await Expect("truncated PNG", HttpStatusCode.UnprocessableEntity, () => Ground(ApiHostFixture.Png(200, 200)[..300]));
        await Expect("PNG declaring 100000x100000 pixels", HttpStatusCode.RequestEntityTooLarge, () => Ground(HugePng()), "too large");
        await Expect("image over the body limit", HttpStatusCode.RequestEntityTooLarge, () => Ground(RandomBytes(3 * 1024 * 1024)));
        await Expect("invalid base64", HttpStatusCode.BadRequest,
            () => PostJson("/v1/ground", "{\"model\":\"m\",\"query\":\"q\",\"imageBase64\":\"***\"}"), "base64");
        await Expect("zero new tokens", HttpStatusCode.BadRequest, () => Ground(ApiHostFixture.Png(), maxNewTokens: 0), "maxNewTokens");
        await Expect("absurd temperature", HttpStatusCode.BadRequest, () => Ground(ApiHostFixture.Png(), temperature: 1e9), "temperature");
        await Expect("empty query", HttpStatusCode.BadRequest, () => Ground(ApiHostFixture.Png(), query: "  "), "query");
        await Expect("huge query", HttpStatusCode.BadRequest, () => Ground(ApiHostFixture.Png(), query: new string('q', 5000)), "query");

        // Absurd hyper-parameters.
        foreach (var (name, recipe, detail) in new (string, object, string)[]
                 {
                     ("learning rate 1e9", new { learningRate = 1e9 }, "learningRate"),
                     ("zero steps", new { maxSteps = 0 }, "maxSteps"),
                     ("batch of a million", new { batchSize = 1_000_000 }, "batchSize"),
                     ("unknown stage", new { stages = "rlhf" }, "stages"),
                     ("unknown setting", new { settings = new Dictionary<string, string> { ["foo"] = "1" } }, "Unknown recipe setting"),
                     ("absurd generations", new { stages = "grpo", settings = new Dictionary<string, string> { ["generations"] = "1e9" } }, "generations"),
                     ("length grouping 'yes'", new { settings = new Dictionary<string, string> { ["group_by_length"] = "yes" } }, "group_by_length"),
                     ("negative beta", new { stages = "grpo", settings = new Dictionary<string, string> { ["beta"] = "-1" } }, "beta"),
                     ("LoRA rank 100000", new { adapter = "lora", loraRank = 100_000 }, "loraRank"),
                 })
        {
            await Expect(name, HttpStatusCode.BadRequest, () => PostJson("/v1/fine-tunes",
                JsonSerializer.Serialize(new { modelId = "m", datasetId = "keep", datasetVersion = 1, recipe })), detail);
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {cases} hostile cases were mishandled:\n" + string.Join("\n", failures));
        var after = await client.GetDatasetAsync("keep");
        Assert.Equal(JsonSerializer.Serialize(kept), JsonSerializer.Serialize(Assert.Single(after.Versions)));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
        Assert.True(cases >= 35, $"only {cases} cases ran");
    }

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        new Random(7).NextBytes(bytes);
        return bytes;
    }

    private static byte[] SymlinkZip()
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            var entry = zip.CreateEntry("images/link.png");
            entry.ExternalAttributes = unchecked((int)(0xA1FFu << 16));
            using var stream = entry.Open();
            stream.Write("/etc/passwd"u8);
        }

        return buffer.ToArray();
    }

    /// <summary>A valid small PNG whose header is rewritten to claim 100000×100000 pixels (CRC fixed).</summary>
    private static byte[] HugePng()
    {
        var png = ApiHostFixture.Png(8, 8);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), 100_000);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), 100_000);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), Crc32(png.AsSpan(12, 17)));
        return png;
    }

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return ~crc;
    }
}
