using System.Text;
using DeepPerception.Data.Synth;

namespace DeepPerception.Data.Synthesis;

/// <summary>One object as the teacher sees it: its entity name and its box on the 0–1000 grid.</summary>
/// <param name="Entity">The entity name, or <see cref="TeacherPrompt.Unknown"/> for an object with no known name.</param>
/// <param name="Box">The box on Qwen2-VL's 0–1000 grid.</param>
public sealed record TeacherObject(string Entity, GridBox Box);

/// <summary>What a rationale teacher is asked about: the composite image, its objects and the target.</summary>
public sealed class RationaleRequest
{
    /// <summary>Creates a request for a composite; the image is encoded as PNG.</summary>
    public RationaleRequest(Composite composite, IReadOnlyDictionary<string, SynthKnowledgeEntry> knowledge)
    {
        ArgumentNullException.ThrowIfNull(composite);
        ArgumentNullException.ThrowIfNull(knowledge);
        Composite = composite;
        Knowledge = knowledge;
        var s = composite.Sample;
        Objects = s.Objects.Select(o => new TeacherObject(o.Label, o.Box.ToGrid(s.Image.Width, s.Image.Height))).ToList();
        _png = new Lazy<byte[]>(s.Image.EncodePng);
    }

    private readonly Lazy<byte[]> _png;

    /// <summary>The composite.</summary>
    public Composite Composite { get; }

    /// <summary>The knowledge base (entity → domain, attributes, text).</summary>
    public IReadOnlyDictionary<string, SynthKnowledgeEntry> Knowledge { get; }

    /// <summary>Every object of the image with its grid box, in image order.</summary>
    public IReadOnlyList<TeacherObject> Objects { get; }

    /// <summary>Index of the target in <see cref="Objects"/>.</summary>
    public int TargetIndex => Composite.Sample.TargetIndex;

    /// <summary>The target object.</summary>
    public TeacherObject Target => Objects[TargetIndex];

    /// <summary>The composite as an 8-bit RGB PNG.</summary>
    public byte[] Png => _png.Value;

    /// <summary>The paper's teacher prompt for this request (<see cref="TeacherPrompt.Build"/>).</summary>
    public string Prompt => TeacherPrompt.Build(Objects, TargetIndex);
}

/// <summary>Writes a knowledge-guided chain-of-thought rationale for a composite's target.</summary>
public interface IRationaleTeacher
{
    /// <summary>A short name for reports (<c>templated</c>, or the teacher model's name).</summary>
    string Name { get; }

    /// <summary>
    /// The rationale text: the four phases (planning, visual analysis, comparison, conclusion) ending with the target's
    /// box, optionally followed by an <c>&lt;answer&gt;</c> block.
    /// </summary>
    /// <exception cref="RationaleTeacherException">The teacher could not produce an answer.</exception>
    Task<string> GenerateAsync(RationaleRequest request, CancellationToken cancellationToken = default);
}

/// <summary>A rationale teacher failed (unreachable, refused the request, or answered something unusable).</summary>
public class RationaleTeacherException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The paper's teacher prompt (DeepPerception §3.2 / KARL: "knowledge-guided CoT rationales"): all entity names with
/// their boxes, the target and its box, the request for the reasoning, and the MUST notes.
/// </summary>
public static class TeacherPrompt
{
    /// <summary>The name given to an object whose entity is not known.</summary>
    public const string Unknown = "[Unknown]";

    /// <summary>The instruction after the boxes, verbatim.</summary>
    public const string Instruction = "Give the reasoning process that would identify it based on the image and your knowledge";

    /// <summary>The MUST notes that follow the instruction.</summary>
    public static IReadOnlyList<string> MustNotes { get; } =
    [
        "You MUST compare the target with the other objects of the same type in the image.",
        "You MUST first analyse the visual features of each object, and only then compare them.",
        $"You MUST identify objects named {Unknown} by their visual features alone.",
        "You MUST write four phases in this order: Planning, Visual Analysis (every entity with its bounding box), Comparison, Conclusion; the Conclusion MUST end with the bounding box of the target.",
    ];

    /// <summary>
    /// <c>This image shows [e1] ([b1]), …, and [en] ([bn]). The bounding box of [target] is [tbox]. Give the reasoning
    /// process that would identify it based on the image and your knowledge</c>, then the MUST notes, one per line.
    /// Boxes are Qwen2-VL's <c>(x1,y1),(x2,y2)</c> on the 0–1000 grid.
    /// </summary>
    public static string Build(IReadOnlyList<TeacherObject> objects, int targetIndex)
    {
        ArgumentNullException.ThrowIfNull(objects);
        if (objects.Count == 0)
        {
            throw new ArgumentException("The prompt needs at least one object.", nameof(objects));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(targetIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(targetIndex, objects.Count);
        var listed = objects.Select(o => $"{o.Entity} ({o.Box.ToBoxText()})").ToList();
        var shows = listed.Count switch
        {
            1 => listed[0],
            2 => $"{listed[0]} and {listed[1]}",
            _ => string.Join(", ", listed.Take(listed.Count - 1)) + ", and " + listed[^1],
        };
        var target = objects[targetIndex];
        var sb = new StringBuilder();
        sb.Append("This image shows ").Append(shows).Append(". The bounding box of ").Append(target.Entity).Append(" is ")
            .Append(target.Box.ToBoxText()).Append(". ").Append(Instruction).Append('.');
        foreach (var note in MustNotes)
        {
            sb.Append('\n').Append(note);
        }

        return sb.ToString();
    }
}
