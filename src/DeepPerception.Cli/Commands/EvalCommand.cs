using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeepPerception.Cli.Infrastructure;
using DeepPerception.Kvg;
using DeepPerception.ML.Kvg;

namespace DeepPerception.Cli.Commands;

/// <summary>
/// <c>eval</c>: scores a model on a KVG-Bench parquet file exactly like the paper's evaluation (r1 prompt, greedy, the
/// 8-pattern parser, Acc@0.5 and mean IoU per category, seen, unseen and overall, parse failures counted), with a
/// progress bar on standard error, the table on standard output, and optional JSON and reference-layout output files.
/// </summary>
public sealed class EvalCommand : ICliCommand
{
    /// <inheritdoc />
    public string Name => "eval";

    /// <inheritdoc />
    public string Summary => "Score a model on a KVG-Bench parquet file (Acc@0.5, mean IoU per category, seen, unseen, overall).";

    /// <inheritdoc />
    public IReadOnlyList<CliOption> Options { get; } =
    [
        new("model", "DIR", "model folder (config.json, safetensors, tokenizer.json)", Required: true),
        new("bench", "FILE.parquet", "KVG-Bench parquet (question_id, category, question, answer, image)", Required: true),
        new("limit", "N", "score only the first N items"),
        new("batch", "N", "prompts per generation batch (default 4)"),
        new("json", "OUT", "write the score as JSON"),
        new("out-dir", "DIR", "write metrics.json, kvg-score.json and one <category>.json per category (evaluate.py layout)"),
        new("max-new-tokens", "N", "generation budget (default 256)"),
        new("prompt", "r1|none", "prompt style (default r1, as the paper)"),
        new("max-pixels", "N", "image processor max_pixels (default: the checkpoint's 12845056)"),
        .. DeviceOptions.Options,
    ];

    /// <inheritdoc />
    public async Task<int> RunAsync(CliArguments args, CliContext context, CancellationToken cancellationToken)
    {
        var limit = args.IntOrNull("limit", 1);
        var batch = args.Int("batch", 4, 1, 4096);
        var jsonPath = args.String("json");
        var outDir = args.String("out-dir");
        var options = new GroundOptions
        {
            MaxNewTokens = args.Int("max-new-tokens", 256, 1, 1 << 20),
            Prompt = args.Choice("prompt", "r1", "r1", "none") == "r1" ? KvgPromptStyle.R1 : KvgPromptStyle.None,
        };
        var maxPixels = args.IntOrNull("max-pixels", 56 * 56);
        var device = DeviceOptions.Read(args);
        var modelDir = args.ExistingDirectory("model");
        var benchPath = args.ExistingFile("bench");

        var items = new List<KvgBenchItem>();
        await foreach (var item in KvgBenchFile.ReadAsync(benchPath, cancellationToken).ConfigureAwait(false))
        {
            if (limit is int n && items.Count >= n)
            {
                break;
            }

            items.Add(item);
        }

        if (items.Count == 0)
        {
            throw new CliUsageException("--bench", $"'{benchPath}' holds no items.");
        }

        var split = KvgCategorySplit.Default;
        var unknown = items.Select(i => i.Category).Where(c => !split.Contains(c)).Distinct().ToList();
        if (unknown.Count > 0)
        {
            throw new CliUsageException("--bench", $"unknown categories {string.Join(", ", unknown)} (known: {string.Join(", ", split.All)}).");
        }

        using var worker = device.CreateWorker();
        var progress = new ProgressBar(context.Error, items.Count);
        var evaluation = await worker.RunAsync(() =>
        {
            using var model = KvgModel.Load(modelDir, worker.Device, maxPixels: maxPixels);
            return KvgEvaluator.Evaluate(model, items, options, batch, progress: p => progress.Report(p.Done, p.RunningAccuracy),
                split: split, cancellationToken: cancellationToken);
        }, cancellationToken).ConfigureAwait(false);
        progress.Finish();

        var score = evaluation.Score;
        await context.Out.WriteAsync(FormatTable(score, split)).ConfigureAwait(false);

        if (jsonPath is not null)
        {
            CreateParent(jsonPath);
            var json = ToJson(score, modelDir, benchPath, items.Count);
            await File.WriteAllTextAsync(jsonPath, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }), cancellationToken).ConfigureAwait(false);
            await context.Out.WriteLineAsync($"score written to {jsonPath}").ConfigureAwait(false);
        }

        if (outDir is not null)
        {
            var scorer = new KvgScorer(split);
            foreach (var r in evaluation.Results)
            {
                scorer.Add(r.Case, r.Prediction);
            }

            await KvgEvalOutput.WriteAsync(outDir, scorer, cancellationToken).ConfigureAwait(false);
            await context.Out.WriteLineAsync($"metrics and per-category results written to {outDir}").ConfigureAwait(false);
        }

        return CliApp.Success;
    }

    /// <summary>
    /// The report as Markdown tables: Acc@0.5 (%) and mean IoU per category in the paper's column order (seen
    /// categories, seen average, unseen categories, unseen average, overall), then case counts and parse failures.
    /// </summary>
    public static string FormatTable(KvgScore score, KvgCategorySplit split)
    {
        ArgumentNullException.ThrowIfNull(score);
        ArgumentNullException.ThrowIfNull(split);
        var columns = new List<(string Name, KvgGroupScore? Group)>();
        columns.AddRange(split.Seen.Select(c => (c, score.PerCategory.GetValueOrDefault(c))));
        columns.Add(("seen", score.Seen));
        columns.AddRange(split.Unseen.Select(c => (c, score.PerCategory.GetValueOrDefault(c))));
        columns.Add(("unseen", score.Unseen));
        columns.Add(("overall", score.Overall));

        string Cell(KvgGroupScore? g, Func<KvgGroupScore, string> f) => g is null ? "-" : f(g);
        var rows = new List<(string Label, Func<KvgGroupScore, string> Value)>
        {
            ("Acc@0.5 (%)", g => g.FormatPercent()),
            ("mIoU", g => g.MeanIou.ToString("F3", CultureInfo.InvariantCulture)),
            ("cases", g => g.Count.ToString(CultureInfo.InvariantCulture)),
            ("parse failures", g => g.ParseFailures.ToString(CultureInfo.InvariantCulture)),
        };

        var sb = new StringBuilder();
        sb.Append("| metric | ").AppendJoin(" | ", columns.Select(c => c.Name)).AppendLine(" |");
        sb.Append("|---|").AppendJoin(string.Empty, columns.Select(_ => "---:|")).AppendLine();
        foreach (var (label, value) in rows)
        {
            sb.Append("| ").Append(label).Append(" | ").AppendJoin(" | ", columns.Select(c => Cell(c.Group, value))).AppendLine(" |");
        }

        sb.AppendLine();
        sb.Append(CultureInfo.InvariantCulture, $"{score.Overall.Count} cases, {score.Overall.Correct} correct, {score.ParseFailures} parse failure(s) ")
            .Append(CultureInfo.InvariantCulture, $"({score.Overall.Unmatched} without a box, {score.Overall.ConversionFailures} not convertible).")
            .AppendLine();
        return sb.ToString();
    }

    /// <summary>The score as JSON: overall, seen, unseen and per-category groups with counts and parse statistics.</summary>
    public static JsonObject ToJson(KvgScore score, string model, string bench, int items)
    {
        ArgumentNullException.ThrowIfNull(score);
        var categories = new JsonObject();
        foreach (var (name, group) in score.PerCategory)
        {
            categories[name] = Group(group);
        }

        return new JsonObject
        {
            ["model"] = model,
            ["bench"] = bench,
            ["items"] = items,
            ["overall"] = Group(score.Overall),
            ["seen"] = score.Seen is null ? null : Group(score.Seen),
            ["unseen"] = score.Unseen is null ? null : Group(score.Unseen),
            ["categories"] = categories,
            ["parse_failures"] = score.ParseFailures,
        };
    }

    private static JsonObject Group(KvgGroupScore g) => new()
    {
        ["count"] = g.Count,
        ["correct"] = g.Correct,
        ["accuracy"] = g.Accuracy,
        ["accuracy_percent"] = g.AccuracyPercent,
        ["mean_iou"] = g.MeanIou,
        ["parse_failures"] = g.ParseFailures,
        ["unmatched"] = g.Unmatched,
        ["conversion_failures"] = g.ConversionFailures,
        ["pattern_counts"] = new JsonArray(g.PatternCounts.Select(c => (JsonNode)JsonValue.Create(c)).ToArray()),
    };

    private static void CreateParent(string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }
    }

    /// <summary>A one-line text progress bar redrawn with carriage returns.</summary>
    private sealed class ProgressBar(TextWriter writer, int total)
    {
        private const int Width = 30;

        public void Report(int done, double accuracy)
        {
            var filled = total == 0 ? Width : (int)((long)done * Width / total);
            writer.Write(string.Create(CultureInfo.InvariantCulture,
                $"\r[{new string('#', filled)}{new string('.', Width - filled)}] {done}/{total}  Acc@0.5 {accuracy * 100:F1}%"));
            writer.Flush();
        }

        public void Finish()
        {
            writer.WriteLine();
            writer.Flush();
        }
    }
}
