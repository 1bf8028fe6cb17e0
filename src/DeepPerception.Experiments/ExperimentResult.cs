using DeepPerception.Kvg;
using DeepPerception.ML.Training;

namespace DeepPerception.Experiments;

/// <summary>One evaluated variant (accuracies in percent, Acc@0.5).</summary>
/// <param name="Variant"><c>base</c>, <c>direct-sft</c>, <c>cot-sft</c> or <c>cot-sft-grpo</c>.</param>
/// <param name="Prompt">The prompt style it was evaluated with.</param>
/// <param name="Overall">All test cases.</param>
/// <param name="Seen">Seen-domain cases.</param>
/// <param name="Unseen">Unseen-domain cases.</param>
/// <param name="PerDomain">Per domain.</param>
/// <param name="ParseFailures">Answers without a readable box.</param>
/// <param name="MeanIou">Mean IoU over all cases.</param>
/// <param name="TargetEntity">Predictions on the target entity.</param>
/// <param name="OtherEntity">Predictions on another entity of the image.</param>
/// <param name="NoEntity">Predictions on no object.</param>
/// <param name="Boxes">How varied the answer boxes are (few distinct boxes: layout priors rather than looking).</param>
/// <param name="NamesTarget">
/// Answers that write the queried entity's name, of the seen- and of the unseen-domain cases: a model that cannot repeat
/// an unseen name cannot recall what it knows about it either.
/// </param>
/// <param name="WritesKnowledge">
/// Answers that write the queried entity's knowledge-base sentence word for word (what the <c>describe</c> rationale
/// recalls): the recall the paper's CoT relies on.
/// </param>
/// <param name="KnowledgeAndRight">Of those, the answers whose box is right (Acc@0.5): whether the recall leads to the box.</param>
public sealed record VariantRow(
    string Variant,
    string Prompt,
    double Overall,
    double Seen,
    double Unseen,
    IReadOnlyDictionary<string, double> PerDomain,
    int ParseFailures,
    double MeanIou,
    int TargetEntity,
    int OtherEntity,
    int NoEntity,
    BoxDiversity Boxes,
    SeenUnseenCount NamesTarget,
    SeenUnseenCount WritesKnowledge,
    SeenUnseenCount KnowledgeAndRight);

/// <summary>A count over the seen-domain and over the unseen-domain cases of a test split.</summary>
/// <param name="Seen">Seen-domain cases counted.</param>
/// <param name="SeenTotal">Seen-domain cases.</param>
/// <param name="Unseen">Unseen-domain cases counted.</param>
/// <param name="UnseenTotal">Unseen-domain cases.</param>
public sealed record SeenUnseenCount(int Seen, int SeenTotal, int Unseen, int UnseenTotal)
{
    /// <summary>Counts the cases for which <paramref name="counted"/> holds.</summary>
    public static SeenUnseenCount Of<T>(IEnumerable<T> cases, Func<T, bool> isSeen, Func<T, bool> counted)
    {
        ArgumentNullException.ThrowIfNull(cases);
        int seen = 0, seenTotal = 0, unseen = 0, unseenTotal = 0;
        foreach (var c in cases)
        {
            var hit = counted(c) ? 1 : 0;
            if (isSeen(c))
            {
                seenTotal++;
                seen += hit;
            }
            else
            {
                unseenTotal++;
                unseen += hit;
            }
        }

        return new SeenUnseenCount(seen, seenTotal, unseen, unseenTotal);
    }

    /// <summary>The counts as <c>results.json</c> stores them.</summary>
    public System.Text.Json.Nodes.JsonObject ToJson() => new()
    {
        ["seen"] = Seen, ["seen_total"] = SeenTotal, ["unseen"] = Unseen, ["unseen_total"] = UnseenTotal,
    };

    /// <inheritdoc/>
    public override string ToString() => $"seen {Seen}/{SeenTotal}, unseen {Unseen}/{UnseenTotal}";
}

/// <summary>
/// The base model on held-out shape-grounding images (its own training task): Acc@0.5 in percent, mean IoU, where the
/// boxes landed (on the named shape, on another shape, on none) against the random-object baseline of the same images.
/// </summary>
public sealed record ShapeGroundingReport(int Items, double Accuracy, double MeanIou, int TargetObject, int OtherObject, int NoObject,
    double RandomObject, BoxDiversity Boxes);

/// <summary>The outcome of one stage of training.</summary>
/// <param name="Stage">Stage name.</param>
/// <param name="Examples">Examples (or RL prompts) used.</param>
/// <param name="Metrics">Every step's metrics.</param>
/// <param name="Seconds">Wall-clock time.</param>
public sealed record StageReport(string Stage, int Examples, IReadOnlyList<TrainingMetrics> Metrics, double Seconds);

/// <summary>What the RL difficulty filter saw.</summary>
/// <param name="Candidates">Prompts screened.</param>
/// <param name="Generations">Samples per prompt.</param>
/// <param name="CorrectHistogram">Index k: prompts with k correct samples.</param>
/// <param name="Kept">Prompts kept (1 … G − 1 correct).</param>
public sealed record RlFilterReport(int Candidates, int Generations, IReadOnlyList<int> CorrectHistogram, int Kept);

/// <summary>
/// Mean reward of the GRPO policy on its training prompts, measured with the same sampling seeds before the first and
/// after the last GRPO update (the IoU reward as configured for GRPO, plus the format reward).
/// </summary>
/// <param name="RewardBefore">Mean total reward of the CoT-SFT model (the policy before GRPO).</param>
/// <param name="RewardAfter">Mean total reward of the policy after GRPO.</param>
/// <param name="IouBefore">IoU part before.</param>
/// <param name="IouAfter">IoU part after.</param>
/// <param name="FormatBefore">Format part before.</param>
/// <param name="FormatAfter">Format part after.</param>
/// <param name="Prompts">Prompts probed (the first GRPO prompts, at most <see cref="ExperimentOptions.GrpoRewardProbePrompts"/>).</param>
/// <param name="SamplesPerPrompt">Samples per prompt.</param>
/// <param name="ProbeSeed">Sampling seed of the probe.</param>
public sealed record GrpoRewardReport(
    double RewardBefore,
    double RewardAfter,
    double IouBefore,
    double IouAfter,
    double FormatBefore,
    double FormatAfter,
    int Prompts,
    int SamplesPerPrompt,
    long ProbeSeed);

/// <summary>The outcome of <see cref="KvgSynthExperiment.Run"/>.</summary>
/// <param name="Rows">The four evaluated variants.</param>
/// <param name="Baselines">Model-free heuristics on the same test split.</param>
/// <param name="Stages">Training stages in order.</param>
/// <param name="RlFilter">The RL filter's statistics.</param>
/// <param name="IouReward">The IoU reward used by GRPO (<c>thresholded-0.8</c> or <c>continuous</c>).</param>
/// <param name="GrpoReward">The GRPO policy's mean reward on its prompts before and after training.</param>
/// <param name="ResultsPath">Path of <c>results.json</c>.</param>
/// <param name="TimingsSeconds">Wall-clock time of each phase.</param>
/// <param name="Comparisons">Paired comparisons of the variants the paper ranks (<see cref="VariantComparisons"/>).</param>
/// <param name="BaseShapes">The base model on held-out shape images, the grounding task it was trained on.</param>
public sealed record ExperimentResult(
    IReadOnlyList<VariantRow> Rows,
    BaselineScores Baselines,
    IReadOnlyList<StageReport> Stages,
    RlFilterReport RlFilter,
    string IouReward,
    GrpoRewardReport GrpoReward,
    string ResultsPath,
    IReadOnlyDictionary<string, double> TimingsSeconds,
    IReadOnlyList<KvgComparison> Comparisons,
    ShapeGroundingReport BaseShapes)
{
    /// <summary>The row of a variant.</summary>
    public VariantRow Row(string variant) => Rows.Single(r => r.Variant == variant);

    /// <summary>The report of a stage.</summary>
    public StageReport Stage(string stage) => Stages.Single(s => s.Stage == stage);
}
