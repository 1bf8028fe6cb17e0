using System.Text.Json;
using DeepPerception.Kvg;

namespace DeepPerception.Core.Tests.Kvg;

/// <summary>The evaluator's output files and the Python-compatible JSON writer.</summary>
public sealed class KvgEvalOutputTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kvg-eval-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, true);
        }
    }

    [Fact]
    public void Python_json_compact_and_indented()
    {
        var value = new PythonJson.Object { { "a", 1.0 }, { "b", new List<object?> { 1, 2.5, null, true } }, { "c", "<answer> é\n" } };
        Assert.Equal("{\"a\": 1.0, \"b\": [1, 2.5, null, true], \"c\": \"<answer> \\u00e9\\n\"}", PythonJson.Serialize(value));
        Assert.Equal(
            "{\n    \"a\": 1.0,\n    \"b\": [\n        1,\n        2.5,\n        null,\n        true\n    ],\n    \"c\": \"<answer> \\u00e9\\n\"\n}",
            PythonJson.Serialize(value, 4));
        Assert.Equal("[NaN, Infinity, -Infinity, [], {}]", PythonJson.Serialize(new List<object?> { double.NaN, double.PositiveInfinity, double.NegativeInfinity, new List<object?>(), new PythonJson.Object() }));
        Assert.Equal("\"\\ud835\\udfcf\\u007f\\\"\\\\\"", PythonJson.Serialize("\U0001D7CF\u007f\"\\"));
    }

    [Fact]
    public void Case_records_follow_the_reference_layout()
    {
        var results = KvgScorerTests.HandMadeSet().Results;

        var parsed = KvgEvalOutput.CaseRecord(results[0]);
        Assert.Equal(["cot", "answer", "gt_bbox", "hw", "pred_bbox", "iou", "match pattern"], parsed.Select(kv => kv.Key));
        Assert.Equal(
            "{\"cot\": null, \"answer\": \"<think>t</think>\\n<answer>(0,0),(100,100)</answer>\", \"gt_bbox\": [[0.0, 0.0, 100.0, 100.0]], " +
            "\"hw\": [480, 640], \"pred_bbox\": [0.0, 0.0, 100.0, 100.0], \"iou\": 1.0, \"match pattern\": 1}",
            PythonJson.Serialize(parsed));

        // No match: floats (0.0, ...) and iou stays the int 0.
        Assert.EndsWith("\"pred_bbox\": [0.0, 0.0, 0.0, 0.0], \"iou\": 0, \"match pattern\": 0}", PythonJson.Serialize(KvgEvalOutput.CaseRecord(results[3])), StringComparison.Ordinal);

        // Conversion failure: the int list [0, 0, 0, 0].
        Assert.EndsWith("\"pred_bbox\": [0, 0, 0, 0], \"iou\": 0, \"match pattern\": 4}", PythonJson.Serialize(KvgEvalOutput.CaseRecord(results[6])), StringComparison.Ordinal);

        // The float32 IoU is written with Python's repr of the widened value.
        Assert.Contains("\"iou\": 0.800000011920929", PythonJson.Serialize(KvgEvalOutput.CaseRecord(results[7])), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Writes_metrics_and_category_files()
    {
        var scorer = KvgScorerTests.HandMadeSet();
        await KvgEvalOutput.WriteAsync(_dir, scorer);

        Assert.Equal(["aircraft.json", "bird.json", "dog.json", "kvg-score.json", "metrics.json"], Directory.GetFiles(_dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        var metricsText = await File.ReadAllTextAsync(Path.Combine(_dir, "metrics.json"));
        Assert.StartsWith("{\"all\": {\"all\": {\"Acc\": 0.5, \"IoU\": 0.4937500", metricsText, StringComparison.Ordinal);
        using var metrics = JsonDocument.Parse(metricsText);
        Assert.Equal(["all", "seen domain", "unseen domain"], metrics.RootElement.EnumerateObject().Select(p => p.Name));
        var seen = metrics.RootElement.GetProperty("seen domain").GetProperty("all");
        Assert.Equal(0.4, seen.GetProperty("Acc").GetDouble());
        Assert.Equal(5, seen.GetProperty("Num").GetInt32());
        Assert.Equal(3, metrics.RootElement.GetProperty("unseen domain").GetProperty("all").GetProperty("Num").GetInt32());

        using var dog = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_dir, "dog.json")));
        var cases = dog.RootElement.EnumerateArray().ToList();
        Assert.Equal(3, cases.Count);
        Assert.Equal("A brown dog.", cases[0].GetProperty("cot").GetString());
        Assert.Equal(4, cases[1].GetProperty("match pattern").GetInt32());
        Assert.Equal(100.0, cases[2].GetProperty("pred_bbox")[2].GetDouble());
        Assert.StartsWith("[\n    {\n        \"cot\": \"A brown dog.\",", await File.ReadAllTextAsync(Path.Combine(_dir, "dog.json")), StringComparison.Ordinal);

        using var summary = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_dir, "kvg-score.json")));
        Assert.Equal(66.67, summary.RootElement.GetProperty("categories").GetProperty("aircraft").GetProperty("Acc %").GetDouble());
        Assert.Equal(2, summary.RootElement.GetProperty("parse failures").GetInt32());
    }
}
