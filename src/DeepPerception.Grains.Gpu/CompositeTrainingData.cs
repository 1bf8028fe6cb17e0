using DeepPerception.Abstractions.Datasets;
using DeepPerception.Data.Synth;
using DeepPerception.Data.Synthesis;
using DeepPerception.Kvg;
using DeepPerception.ML.Preprocessing.Images;

namespace DeepPerception.Grains.Gpu;

/// <summary>Training samples synthesized from a dataset: composites, their CoT targets by sample id, and the gate's report.</summary>
/// <param name="Samples">One sample per kept composite (the composite image, its target entity and grid box).</param>
/// <param name="Targets">The CoT target (four-phase think block, then the answer block) of each sample id.</param>
/// <param name="Report">Composites built, kept and rejected by reason.</param>
public sealed record CompositeTrainingSet(IReadOnlyList<PlatformSample> Samples, IReadOnlyDictionary<string, string> Targets, SynthesisReport Report);

/// <summary>
/// The recipe target <c>cot-composite</c>: runs the data-synthesis pipeline (<see cref="SynthesisPipeline"/>: composites of
/// the dataset's labelled images, templated four-phase rationales from the knowledge base and the layout, IoU gate) on
/// a platform dataset before training.
/// </summary>
public static class CompositeTrainingData
{
    /// <summary>Builds the composite training set of <paramref name="samples"/>.</summary>
    /// <param name="samples">The dataset's samples (each one labelled entity with its box).</param>
    /// <param name="knowledge">The dataset's knowledge base.</param>
    /// <param name="count">Composites to build (0: as many as there are samples).</param>
    /// <param name="maxCanvas">Largest canvas side (the smallest is half of it).</param>
    /// <param name="seed">Composition seed.</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    /// <exception cref="DatasetFormatException">An entity has no knowledge entry, no domain has two entities, or no rationale is kept.</exception>
    public static async Task<CompositeTrainingSet> BuildAsync(IReadOnlyList<PlatformSample> samples, IReadOnlyList<KnowledgeEntry> knowledge,
        int count, int maxCanvas, long seed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(knowledge);
        var entries = new Dictionary<string, SynthKnowledgeEntry>(StringComparer.Ordinal);
        foreach (var s in samples)
        {
            if (!entries.ContainsKey(s.Entity))
            {
                var k = PlatformDataset.FindKnowledge(knowledge, s.Entity)
                        ?? throw new DatasetFormatException($"Sample '{s.Id}': entity '{s.Entity}' is not in the dataset's knowledge base (needed for composite rationales).");
                entries[s.Entity] = new SynthKnowledgeEntry(s.Domain, new Dictionary<string, string>(), k.Description);
            }
        }

        LabelledDataset dataset;
        SynthesisResult result;
        try
        {
            dataset = new LabelledDataset(samples.Select(ToLabelled).ToList(), entries);
            var options = new SynthesisOptions
            {
                Composites = count > 0 ? count : samples.Count,
                Seed = unchecked((int)seed),
                Composite = new CompositeOptions { MaxCanvas = maxCanvas, MinCanvas = Math.Max(64, maxCanvas / 2), MinObjectSize = Math.Max(16, maxCanvas / 8) },
            };
            result = await new SynthesisPipeline(new TemplatedRationaleTeacher(), options).RunAsync(dataset, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (SynthesisInputException ex)
        {
            throw new DatasetFormatException($"The dataset cannot be composited: {ex.Message}");
        }

        if (result.Kept.Count == 0)
        {
            throw new DatasetFormatException($"No composite rationale passed the IoU gate ({result.Report.Composites} built).");
        }

        var built = result.Kept.Select(k =>
        {
            var s = k.Composite.Sample;
            var g = s.TargetGridBox;
            return new PlatformSample(s.Id, new RgbImage(s.Image.Width, s.Image.Height, s.Image.Pixels), s.Target.Label, s.Domain, s.Query, (g.X1, g.Y1, g.X2, g.Y2));
        }).ToList();
        return new CompositeTrainingSet(built, result.Kept.ToDictionary(k => k.Composite.Sample.Id, k => k.Target, StringComparer.Ordinal), result.Report);
    }

    /// <summary>A platform sample as a labelled image: its 0–1000 grid box widened to the pixels it covers.</summary>
    public static LabelledImage ToLabelled(PlatformSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        int w = sample.Image.Width, h = sample.Image.Height;
        var b = sample.Box;
        var x1 = Math.Clamp((int)Math.Floor(b.X1 / (double)Qwen2VlBoxConvention.GridSize * w), 0, w - 1);
        var y1 = Math.Clamp((int)Math.Floor(b.Y1 / (double)Qwen2VlBoxConvention.GridSize * h), 0, h - 1);
        var x2 = Math.Clamp((int)Math.Ceiling(b.X2 / (double)Qwen2VlBoxConvention.GridSize * w), x1 + 1, w);
        var y2 = Math.Clamp((int)Math.Ceiling(b.Y2 / (double)Qwen2VlBoxConvention.GridSize * h), y1 + 1, h);
        return new LabelledImage(sample.Id, sample.Image, sample.Entity, sample.Domain, new PixelBox(x1, y1, x2, y2));
    }
}
