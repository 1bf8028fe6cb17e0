using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeepPerception.Kvg;

namespace DeepPerception.Experiments;

/// <summary>How varied a variant's answer boxes are: a model that ignores the image repeats a few layout-prior boxes.</summary>
/// <param name="Parsed">Answers with a parsed box.</param>
/// <param name="DistinctBoxes">Distinct parsed boxes (exact coordinates).</param>
/// <param name="TopBox">The most frequent box, as written on the model's grid (null without parsed boxes).</param>
/// <param name="TopBoxShare">Share of parsed answers that use the most frequent box (0–1).</param>
/// <param name="TopFiveShare">Share of parsed answers that use one of the five most frequent boxes (0–1).</param>
public sealed record BoxDiversity(int Parsed, int DistinctBoxes, string? TopBox, double TopBoxShare, double TopFiveShare)
{
    /// <summary>The <c>box_diversity</c> object of <c>results.json</c> and <c>comparisons.json</c>.</summary>
    public JsonObject ToJson() => new()
    {
        ["parsed"] = Parsed, ["distinct_boxes"] = DistinctBoxes, ["top_box"] = TopBox,
        ["top_box_share"] = Math.Round(TopBoxShare, 4), ["top_five_share"] = Math.Round(TopFiveShare, 4),
    };

    /// <summary>Parses every answer with the evaluator's parser and counts the boxes.</summary>
    public static BoxDiversity Of(IEnumerable<string> answers)
    {
        ArgumentNullException.ThrowIfNull(answers);
        return Of(answers.Select(KvgAnswerParser.Parse));
    }

    /// <summary>Counts the boxes of answers the evaluator has already parsed (failures are skipped).</summary>
    public static BoxDiversity Of(IEnumerable<ParsedBox> answers)
    {
        ArgumentNullException.ThrowIfNull(answers);
        var counts = new Dictionary<(double, double, double, double), int>();
        var parsed = 0;
        foreach (var box in answers)
        {
            if (box.IsFailure)
            {
                continue;
            }

            parsed++;
            var key = (box.X1, box.Y1, box.X2, box.Y2);
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }

        if (parsed == 0)
        {
            return new BoxDiversity(0, 0, null, 0, 0);
        }

        var ranked = counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).ToList();
        var (x1, y1, x2, y2) = ranked[0].Key;
        return new BoxDiversity(parsed, counts.Count, string.Create(CultureInfo.InvariantCulture, $"({x1},{y1}),({x2},{y2})"),
            (double)ranked[0].Value / parsed, (double)ranked.Take(5).Sum(kv => kv.Value) / parsed);
    }
}

/// <summary>One variant's scored answers, as <c>eval/&lt;variant&gt;/predictions.jsonl</c> stores them.</summary>
public sealed record VariantAnswers(string Variant, IReadOnlyList<KvgOutcome> Outcomes, IReadOnlyList<string> Texts);

/// <summary>
/// The experiment's significance report: paired comparisons (<see cref="KvgPairedComparison"/>) of the variants the
/// paper ranks — CoT-SFT against direct SFT, CoT-SFT + GRPO against direct SFT and against CoT-SFT — overall and on
/// seen / unseen domains, and whether the paper's goal (GRPO ≥ +8 points over direct SFT overall, ≥ +4.6 on unseen
/// domains) was met. Computed at the end of a run and, from a finished run's folder, by <c>experiment compare</c>.
/// </summary>
public static class VariantComparisons
{
    /// <summary>The paper's margin of CoT-SFT + GRPO over plain SFT on KVG-Bench, in points (62.20 − 54.12).</summary>
    public const double PaperGainOverall = 8.08;

    /// <summary>The issue's goal on unseen domains, in points.</summary>
    public const double PaperGainUnseen = 4.6;

    /// <summary>The goal's overall margin, in points.</summary>
    public const double GoalOverall = 8.0;

    /// <summary>Pairs (A, B) compared as B − A, in the paper's order.</summary>
    public static IReadOnlyList<(string A, string B)> Pairs { get; } =
    [
        ("direct-sft", "cot-sft"),
        ("direct-sft", "cot-sft-grpo"),
        ("cot-sft", "cot-sft-grpo"),
    ];

    /// <summary>Compares every pair of <see cref="Pairs"/> whose two variants are present.</summary>
    public static IReadOnlyList<KvgComparison> Compute(IReadOnlyDictionary<string, IReadOnlyList<KvgOutcome>> outcomes, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(outcomes);
        return Pairs.Where(p => outcomes.ContainsKey(p.A) && outcomes.ContainsKey(p.B))
            .Select(p => KvgPairedComparison.Compare(p.A, outcomes[p.A], p.B, outcomes[p.B], KvgCategorySplit.Default, seed: seed))
            .ToList();
    }

    /// <summary>Reads every <c>eval/&lt;variant&gt;/predictions.jsonl</c> of a finished run folder.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder has no <c>eval</c> folder.</exception>
    /// <exception cref="InvalidDataException">A line is not a prediction record (names the file and line).</exception>
    public static IReadOnlyList<VariantAnswers> ReadRun(string runDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(runDirectory);
        var evalDir = Path.Combine(runDirectory, "eval");
        if (!Directory.Exists(evalDir))
        {
            throw new DirectoryNotFoundException($"{runDirectory} has no eval/ folder: pass the --out folder of a finished 'experiment kvg-synth' run.");
        }

        var variants = new List<VariantAnswers>();
        foreach (var dir in Directory.GetDirectories(evalDir).Order(StringComparer.Ordinal))
        {
            var file = Path.Combine(dir, "predictions.jsonl");
            if (!File.Exists(file))
            {
                continue;
            }

            var outcomes = new List<KvgOutcome>();
            var texts = new List<string>();
            var lineNumber = 0;
            foreach (var line in File.ReadLines(file))
            {
                lineNumber++;
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }

                try
                {
                    using var doc = JsonDocument.Parse(line);
                    var root = doc.RootElement;
                    outcomes.Add(new KvgOutcome(root.GetProperty("id").GetString() ?? throw new InvalidDataException("id is null"),
                        root.GetProperty("domain").GetString() ?? throw new InvalidDataException("domain is null"), root.GetProperty("correct").GetBoolean()));
                    texts.Add(root.GetProperty("text").GetString() ?? "");
                }
                catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or InvalidDataException)
                {
                    throw new InvalidDataException($"{file}, line {lineNumber}: not a prediction record with id, domain, correct and text ({e.Message}).", e);
                }
            }

            variants.Add(new VariantAnswers(Path.GetFileName(dir), outcomes, texts));
        }

        return variants;
    }

    /// <summary>
    /// Reads several finished runs (for example one per seed) and pools them: each variant present in every run gets the
    /// answers of all runs, with question ids prefixed by the run's position (<c>1:aircraft/0</c>) so that the paired
    /// comparisons pair a question with itself within its own run only. One folder reads as <see cref="ReadRun"/>.
    /// </summary>
    /// <exception cref="ArgumentException">No folder was given, or no variant is present in every run.</exception>
    public static IReadOnlyList<VariantAnswers> ReadRuns(IReadOnlyList<string> runDirectories)
    {
        ArgumentNullException.ThrowIfNull(runDirectories);
        if (runDirectories.Count == 0)
        {
            throw new ArgumentException("At least one run folder is needed.", nameof(runDirectories));
        }

        if (runDirectories.Count == 1)
        {
            return ReadRun(runDirectories[0]);
        }

        var runs = runDirectories.Select(ReadRun).ToList();
        var common = runs.Select(r => r.Select(v => v.Variant)).Aggregate((a, b) => a.Intersect(b, StringComparer.Ordinal)).ToList();
        if (common.Count == 0)
        {
            throw new ArgumentException($"No variant has predictions in every one of the {runs.Count} runs.", nameof(runDirectories));
        }

        return common.Select(variant =>
        {
            var outcomes = new List<KvgOutcome>();
            var texts = new List<string>();
            for (var r = 0; r < runs.Count; r++)
            {
                var answers = runs[r].First(v => v.Variant == variant);
                outcomes.AddRange(answers.Outcomes.Select(o => o with { QuestionId = string.Create(CultureInfo.InvariantCulture, $"{r + 1}:{o.QuestionId}") }));
                texts.AddRange(answers.Texts);
            }

            return new VariantAnswers(variant, outcomes, texts);
        }).ToList();
    }

    /// <summary>The comparisons and the paper goal as JSON (the <c>comparisons</c> and <c>paper_goal</c> of <c>results.json</c>).</summary>
    public static JsonObject ToJson(IReadOnlyList<KvgComparison> comparisons)
    {
        ArgumentNullException.ThrowIfNull(comparisons);
        var list = new JsonArray();
        foreach (var c in comparisons)
        {
            var node = new JsonObject
            {
                ["a"] = c.A, ["b"] = c.B, ["resamples"] = c.Resamples, ["seed"] = c.Seed, ["confidence"] = c.Confidence,
                ["overall"] = Json(c.Overall),
            };
            if (c.Seen is { } seen) node["seen"] = Json(seen);
            if (c.Unseen is { } unseen) node["unseen"] = Json(unseen);
            list.Add(node);
        }

        var goal = new JsonObject { ["overall_target"] = GoalOverall, ["unseen_target"] = PaperGainUnseen };
        if (comparisons.FirstOrDefault(c => c is { A: "direct-sft", B: "cot-sft-grpo" }) is { } g)
        {
            goal["overall_gain"] = Math.Round(g.Overall.Difference, 2);
            goal["unseen_gain"] = g.Unseen is { } u ? Math.Round(u.Difference, 2) : null;
            goal["met"] = GoalMet(g);
        }

        return new JsonObject { ["comparisons"] = list, ["paper_goal"] = goal };
    }

    /// <summary>Whether CoT-SFT + GRPO beat direct SFT by the paper's margins (≥ 8 points overall, ≥ 4.6 on unseen domains).</summary>
    public static bool GoalMet(KvgComparison directVersusGrpo)
    {
        ArgumentNullException.ThrowIfNull(directVersusGrpo);
        return directVersusGrpo.Overall.Difference >= GoalOverall && directVersusGrpo.Unseen is { } u && u.Difference >= PaperGainUnseen;
    }

    /// <summary>A plain-text table of the comparisons (one line per pair and subset).</summary>
    public static string Describe(IReadOnlyList<KvgComparison> comparisons)
    {
        ArgumentNullException.ThrowIfNull(comparisons);
        var sb = new StringBuilder();
        var confidence = comparisons.Count > 0 ? comparisons[0].Confidence : 0.95;
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"{"B − A",-30} {"subset",-8} {"items",5} {"A %",6} {"B %",6} {"B − A",7} {$"{confidence:P0} CI",17} {"only A/B",9} {"McNemar p",9}");
        foreach (var c in comparisons)
        {
            foreach (var d in new[] { c.Overall, c.Seen, c.Unseen })
            {
                if (d is null)
                {
                    continue;
                }

                sb.AppendLine(CultureInfo.InvariantCulture,
                    $"{$"{c.B} − {c.A}",-30} {d.Subset,-8} {d.Items,5} {d.AccuracyA,6:F2} {d.AccuracyB,6:F2} {d.Difference,7:+0.00;-0.00;0.00} {$"[{d.CiLow:+0.00;-0.00;0.00}, {d.CiHigh:+0.00;-0.00;0.00}]",17} {$"{d.OnlyA}/{d.OnlyB}",9} {d.McNemarP,9:F3}");
            }
        }

        return sb.ToString().TrimEnd();
    }

    private static JsonObject Json(KvgDifference d) => new()
    {
        ["items"] = d.Items, ["accuracy_a"] = Math.Round(d.AccuracyA, 2), ["accuracy_b"] = Math.Round(d.AccuracyB, 2),
        ["difference"] = Math.Round(d.Difference, 2), ["ci_low"] = Math.Round(d.CiLow, 2), ["ci_high"] = Math.Round(d.CiHigh, 2),
        ["only_a"] = d.OnlyA, ["only_b"] = d.OnlyB, ["mcnemar_p"] = Math.Round(d.McNemarP, 4), ["significant"] = d.Significant,
    };
}
