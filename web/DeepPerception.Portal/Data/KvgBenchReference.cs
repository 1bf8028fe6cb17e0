namespace DeepPerception.Portal.Data;

/// <summary>One row of the KVG-Bench leaderboard: Acc@0.5 (percent) per domain, seen, unseen and overall.</summary>
/// <param name="Name">The model or participant.</param>
/// <param name="Domains">Acc@0.5 per domain, in <see cref="KvgBenchReference.Domains"/> order (null when unknown).</param>
/// <param name="Seen">Acc@0.5 over the seen domains.</param>
/// <param name="Unseen">Acc@0.5 over the unseen domains.</param>
/// <param name="Overall">Acc@0.5 over all domains.</param>
/// <param name="IsPublished">True for figures quoted from the DeepPerception paper rather than scored by this platform.</param>
/// <param name="Source">Where the figures come from (the paper's table, or the platform's evaluation run).</param>
public sealed record KvgBenchRow(
    string Name,
    IReadOnlyList<double?> Domains,
    double? Seen,
    double? Unseen,
    double? Overall,
    bool IsPublished,
    string Source);

/// <summary>The KVG-Bench layout and the DeepPerception paper's published reference rows (arXiv 2503.12797, Table 1).</summary>
public static class KvgBenchReference
{
    /// <summary>The five seen domains (those KVG training data covers), in the paper's column order.</summary>
    public static readonly IReadOnlyList<string> SeenDomains = ["aircraft", "car", "reptilia", "bird", "food"];

    /// <summary>The five unseen domains, in the paper's column order.</summary>
    public static readonly IReadOnlyList<string> UnseenDomains = ["dog", "mollusca", "mammal", "flower", "landmark"];

    /// <summary>All ten domains, seen first.</summary>
    public static readonly IReadOnlyList<string> Domains = [.. SeenDomains, .. UnseenDomains];

    /// <summary>The column headers of the domains as the paper abbreviates them.</summary>
    public static readonly IReadOnlyList<string> DomainHeaders = ["Air", "Car", "Rep", "Bird", "Food", "Dog", "Mol", "Mam", "Flwr", "Ldmk"];

    private const string Paper = "DeepPerception paper (arXiv 2503.12797), Table 1";

    /// <summary>The published rows: the base model, DeepPerception, and the two human baselines.</summary>
    public static IReadOnlyList<KvgBenchRow> PublishedRows { get; } =
    [
        new("Human + search", [81.33, 85.56, 68.00, 74.17, 86.67, 78.89, 74.00, 74.17, 84.44, 86.67], 78.03, 79.63, 78.83, true, Paper),
        new("DeepPerception (Qwen2-VL-7B, CoT-SFT + GRPO)", [69.08, 86.54, 64.14, 41.04, 77.86, 85.60, 40.74, 58.04, 59.55, 61.45], 63.13, 60.85, 62.20, true, Paper),
        new("Human (closed book)", [59.33, 66.67, 50.84, 44.17, 65.33, 48.33, 45.33, 51.67, 64.45, 68.00], 57.27, 55.56, 56.41, true, Paper),

        // The paper prints 51.30 for reptilia; its seen average (50.38 = 399/792) implies 74/145 = 51.03. Quoted as printed.
        new("Qwen2-VL-7B", [48.03, 74.04, 51.30, 33.07, 65.71, 76.00, 33.33, 54.46, 57.30, 59.04], 50.38, 55.33, 52.40, true, Paper),
    ];
}
