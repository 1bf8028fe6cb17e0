using System.Globalization;
using System.Text;
using System.Text.Json;
using DeepPerception.Cli.Infrastructure;
using DeepPerception.Experiments;
using DeepPerception.Kvg;

namespace DeepPerception.Cli.Commands;

/// <summary>
/// <c>experiment compare</c>: reads a finished KVG-Synth run's per-question answers (<c>eval/*/predictions.jsonl</c>) and
/// prints how sure its variant ranking is — paired-bootstrap confidence intervals and McNemar p-values of CoT-SFT and
/// CoT-SFT + GRPO against direct SFT and of GRPO against CoT-SFT, whether the paper's margins were met, and how varied
/// each variant's boxes are. Writes <c>DIR/comparisons.json</c>. Given several runs (comma-separated, for example one per
/// seed), it pools their answers, pairing each question within its own run, and writes the report to <c>--out</c>.
/// </summary>
public sealed class ExperimentCompareCommand : ICliCommand
{
    /// <inheritdoc />
    public string Name => "experiment compare";

    /// <inheritdoc />
    public string Summary => "Significance of a finished KVG-Synth run's variant differences (paired bootstrap CIs, McNemar) and box diversity.";

    /// <inheritdoc />
    public IReadOnlyList<CliOption> Options { get; } =
    [
        new("run", "DIR[,DIR…]", "the --out folder of a finished 'experiment kvg-synth' run; several (comma-separated) are pooled", Required: true),
        new("out", "FILE", "where to write the report (default DIR/comparisons.json; required with several runs)"),
        new("seed", "N", "bootstrap seed (default 0)"),
    ];

    /// <inheritdoc />
    public Task<int> RunAsync(CliArguments args, CliContext context, CancellationToken cancellationToken)
    {
        var runs = args.Required("run").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (runs.Length == 0)
        {
            throw new CliUsageException("--run", "names no folder.");
        }

        var path = args.String("out") ?? (runs.Length == 1
            ? Path.Combine(runs[0], "comparisons.json")
            : throw new CliUsageException("--out", $"is required when {runs.Length} runs are pooled."));
        var seed = args.Int("seed", 0, 0);
        IReadOnlyList<VariantAnswers> variants;
        try
        {
            variants = VariantComparisons.ReadRuns(runs);
        }
        catch (ArgumentException e)
        {
            throw new CliUsageException("--run", e.Message);
        }

        if (variants.Count == 0)
        {
            throw new CliUsageException("--run", $"{runs[0]}/eval has no variant with a predictions.jsonl.");
        }

        if (runs.Length > 1)
        {
            context.Out.WriteLine($"pooled {runs.Length} runs: {string.Join(", ", runs)}");
        }

        var outcomes = variants.ToDictionary(v => v.Variant, v => v.Outcomes, StringComparer.Ordinal);
        var comparisons = VariantComparisons.Compute(outcomes, seed);
        context.Out.WriteLine($"{"variant",-14} {"items",5} {"Acc@0.5",8} {"parsed",6} {"boxes",6} {"top box",9} {"top 5",6}");
        var diversity = new Dictionary<string, BoxDiversity>(StringComparer.Ordinal);
        foreach (var v in variants)
        {
            var d = diversity[v.Variant] = BoxDiversity.Of(v.Texts);
            context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{v.Variant,-14} {v.Outcomes.Count,5} {100.0 * v.Outcomes.Count(o => o.Correct) / Math.Max(1, v.Outcomes.Count),8:F2} {d.Parsed,6} {d.DistinctBoxes,6} {d.TopBoxShare,9:P1} {d.TopFiveShare,6:P0}"));
        }

        context.Out.WriteLine();
        context.Out.WriteLine(VariantComparisons.Describe(comparisons));
        var json = VariantComparisons.ToJson(comparisons);
        var boxes = new System.Text.Json.Nodes.JsonObject();
        foreach (var (variant, d) in diversity)
        {
            boxes[variant] = d.ToJson();
        }

        json["box_diversity"] = boxes;
        var goal = json["paper_goal"]!;
        if (goal["met"] is { } met)
        {
            context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"paper goal (CoT-SFT + GRPO − direct SFT ≥ {VariantComparisons.GoalOverall} overall, ≥ {VariantComparisons.PaperGainUnseen} unseen): {((bool)met ? "met" : "not met")}"));
        }

        json["runs"] = new System.Text.Json.Nodes.JsonArray(runs.Select(r => (System.Text.Json.Nodes.JsonNode?)Path.GetFullPath(r)).ToArray());
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }), new UTF8Encoding(false));
        context.Out.WriteLine($"written: {path}");
        return Task.FromResult(CliApp.Success);
    }
}
