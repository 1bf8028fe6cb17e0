using System.Collections.Concurrent;
using DeepPerception.Data.Synth;

namespace DeepPerception.Data.Synthesis;

/// <summary>Options of <see cref="SynthesisPipeline"/>.</summary>
public sealed record SynthesisOptions
{
    /// <summary>Number of composites to build (each with one target and one rationale).</summary>
    public int Composites { get; init; } = 100;

    /// <summary>Seed of the composition (composite <c>i</c> depends only on the data, the options, the seed and <c>i</c>).</summary>
    public int Seed { get; init; }

    /// <summary>Composition options.</summary>
    public CompositeOptions Composite { get; init; } = new();

    /// <summary>IoU the rationale's final box must reach against the label to be kept.</summary>
    public double IouThreshold { get; init; } = 0.5;

    /// <summary>Rationale requests in flight at once (a remote teacher also enforces its own limit).</summary>
    public int MaxParallelRequests { get; init; } = 4;
}

/// <summary>A kept example: the composite, the teacher's rationale, its verdict and the SFT target built from it.</summary>
/// <param name="Composite">The composite (image, objects, target).</param>
/// <param name="Rationale">The teacher's raw rationale.</param>
/// <param name="Verdict">The IoU gate's verdict.</param>
/// <param name="Target">The SFT target: <c>&lt;think&gt;</c> reasoning <c>&lt;/think&gt;</c>, newline, answer block.</param>
public sealed record SynthesizedExample(Composite Composite, string Rationale, RationaleVerdict Verdict, string Target)
{
    /// <summary>The target object's box on the 0–1000 grid.</summary>
    public GridBox TargetGridBox => Composite.Sample.TargetGridBox;
}

/// <summary>A rejected composite: its rationale (empty after a teacher error), the verdict and, for teacher errors, the message.</summary>
public sealed record RejectedExample(Composite Composite, string Rationale, RationaleVerdict Verdict, string? Error);

/// <summary>Counts of one synthesis run.</summary>
/// <param name="Teacher">The teacher's name.</param>
/// <param name="Composites">Composites built.</param>
/// <param name="Kept">Rationales kept by the gate.</param>
/// <param name="Rejected">Rejected rationales per reason (every reason listed, zero included).</param>
/// <param name="IouThreshold">The gate's IoU threshold.</param>
public sealed record SynthesisReport(string Teacher, int Composites, int Kept, IReadOnlyDictionary<RationaleRejection, int> Rejected, double IouThreshold)
{
    /// <summary>All rejected rationales.</summary>
    public int RejectedTotal => Rejected.Values.Sum();
}

/// <summary>The outcome of a run: kept and rejected examples in composite order, and the report.</summary>
public sealed record SynthesisResult(IReadOnlyList<SynthesizedExample> Kept, IReadOnlyList<RejectedExample> Rejected, SynthesisReport Report);

/// <summary>
/// The paper's data-synthesis pipeline for labelled images: multi-entity composites (<see cref="CompositeBuilder"/>),
/// a knowledge-guided rationale per composite from a teacher (<see cref="IRationaleTeacher"/>: templated or an external
/// model), and IoU-gated rejection (<see cref="RationaleGate"/>). A teacher failure on one composite rejects that
/// composite (reason <see cref="RationaleRejection.TeacherError"/>) and the run goes on.
/// </summary>
public sealed class SynthesisPipeline
{
    private readonly IRationaleTeacher _teacher;

    /// <summary>Creates a pipeline with a teacher.</summary>
    public SynthesisPipeline(IRationaleTeacher teacher, SynthesisOptions? options = null)
    {
        _teacher = teacher ?? throw new ArgumentNullException(nameof(teacher));
        Options = options ?? new SynthesisOptions();
        if (Options.Composites < 0)
        {
            throw new ArgumentException($"Composites must not be negative (got {Options.Composites}).");
        }

        if (Options.MaxParallelRequests < 1)
        {
            throw new ArgumentException($"MaxParallelRequests must be at least 1 (got {Options.MaxParallelRequests}).");
        }

        if (double.IsNaN(Options.IouThreshold) || Options.IouThreshold < 0 || Options.IouThreshold > 1)
        {
            throw new ArgumentException($"IouThreshold {Options.IouThreshold} must lie in [0, 1].");
        }
    }

    /// <summary>The options.</summary>
    public SynthesisOptions Options { get; }

    /// <summary>Builds the composites, asks the teacher for each rationale and gates them.</summary>
    /// <param name="dataset">Labelled images and their knowledge base.</param>
    /// <param name="progress">Called after each composite with (done, total).</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    public async Task<SynthesisResult> RunAsync(LabelledDataset dataset, Action<int, int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var builder = new CompositeBuilder(dataset, Options.Composite, Options.Seed);
        var outcomes = new ConcurrentDictionary<int, object>();
        var done = 0;
        await Parallel.ForEachAsync(
            Enumerable.Range(0, Options.Composites),
            new ParallelOptions { MaxDegreeOfParallelism = Options.MaxParallelRequests, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                var composite = builder.Build(i);
                outcomes[i] = await JudgeAsync(new RationaleRequest(composite, dataset.Knowledge), ct).ConfigureAwait(false);
                progress?.Invoke(Interlocked.Increment(ref done), Options.Composites);
            }).ConfigureAwait(false);

        var ordered = Enumerable.Range(0, Options.Composites).Select(i => outcomes[i]).ToList();
        var kept = ordered.OfType<SynthesizedExample>().ToList();
        var rejected = ordered.OfType<RejectedExample>().ToList();
        var counts = Enum.GetValues<RationaleRejection>().ToDictionary(r => r, r => rejected.Count(x => x.Verdict.Rejection == r));
        return new SynthesisResult(kept, rejected, new SynthesisReport(_teacher.Name, Options.Composites, kept.Count, counts, Options.IouThreshold));
    }

    private async Task<object> JudgeAsync(RationaleRequest request, CancellationToken cancellationToken)
    {
        var composite = request.Composite;
        string rationale;
        try
        {
            rationale = await _teacher.GenerateAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (RationaleTeacherException ex)
        {
            return new RejectedExample(composite, string.Empty, new RationaleVerdict(false, RationaleRejection.TeacherError, null, 0), ex.Message);
        }

        var label = composite.Sample.TargetGridBox;
        var verdict = RationaleGate.Evaluate(rationale, label, Options.IouThreshold);
        return verdict.Kept
            ? new SynthesizedExample(composite, rationale, verdict, RationaleGate.SftTarget(rationale, composite.Sample.Target.Label, label))
            : new RejectedExample(composite, rationale, verdict, null);
    }
}
