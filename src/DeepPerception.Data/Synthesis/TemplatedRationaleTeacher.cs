using System.Globalization;
using DeepPerception.Data.Synth;
using DeepPerception.Kvg;

namespace DeepPerception.Data.Synthesis;

/// <summary>
/// Templated four-phase rationales from the knowledge base and the layout (no model): Planning (what to find and what
/// is known about it) → Visual Analysis (every object with its place in the layout, its box and what it shows) →
/// Comparison (how the others differ from the target) → Conclusion (the target's box), then the answer block in the
/// platform's answer format. Places are named as KVG-Synth names them (<see cref="SynthTargets.Subject"/>).
/// </summary>
public sealed class TemplatedRationaleTeacher : IRationaleTeacher
{
    /// <summary>The phase headings, in order.</summary>
    public static IReadOnlyList<string> Phases { get; } = ["Planning:", "Visual Analysis:", "Comparison:", "Conclusion:"];

    /// <inheritdoc />
    public string Name => "templated";

    /// <inheritdoc />
    public Task<string> GenerateAsync(RationaleRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult(Write(request));

    /// <summary>The rationale: <c>&lt;think&gt;</c> with the four phases, a newline and the answer block.</summary>
    public static string Write(RationaleRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var sample = request.Composite.Sample;
        var target = request.Target;
        var targetKnowledge = Knowledge(request, target.Entity);
        var noun = sample.Domain;
        var planning = string.Create(CultureInfo.InvariantCulture,
            $"{Phases[0]} I need to find {target.Entity} among the {sample.Objects.Count} {noun} objects in the image. " +
            $"{target.Entity} is known for {KnowledgeText.Describe(targetKnowledge)}. I will describe each object, then compare them with {target.Entity}.");

        var analysis = new List<string>();
        for (var i = 0; i < request.Objects.Count; i++)
        {
            var o = request.Objects[i];
            var what = request.Knowledge.TryGetValue(o.Entity, out var k) ? KnowledgeText.Describe(k) : "features I cannot match to my knowledge";
            analysis.Add($"{SynthTargets.Subject(sample, sample.Objects[i])} ({o.Box.ToBoxText()}) shows {what}.");
        }

        var comparison = new List<string>();
        for (var i = 0; i < request.Objects.Count; i++)
        {
            if (i == request.TargetIndex)
            {
                continue;
            }

            var o = request.Objects[i];
            var subject = SynthTargets.Subject(sample, sample.Objects[i]);
            var differences = request.Knowledge.TryGetValue(o.Entity, out var k) ? KnowledgeText.Differences(targetKnowledge, k) : [];
            comparison.Add(differences.Count > 0
                ? $"{subject} has {string.Join(" and ", differences)}, which {target.Entity} does not have, so it is {o.Entity}."
                : $"{subject} does not match the description of {target.Entity}; it is {o.Entity}.");
        }

        var targetObject = sample.Objects[request.TargetIndex];
        var conclusion = $"{Phases[3]} {SynthTargets.Subject(sample, targetObject)} matches {target.Entity}, so its bounding box is {target.Box.ToBoxText()}.";
        var think = string.Join("\n", planning, Phases[1] + " " + string.Join(" ", analysis), Phases[2] + " " + string.Join(" ", comparison), conclusion);
        return $"<think>{think}</think>\n{KvgPrompts.Solution(target.Entity, target.Box.X1, target.Box.Y1, target.Box.X2, target.Box.Y2)}";
    }

    private static SynthKnowledgeEntry Knowledge(RationaleRequest request, string entity) =>
        request.Knowledge.TryGetValue(entity, out var k)
            ? k
            : throw new SynthesisInputException($"The knowledge base has no entry for the target '{entity}'.");
}
