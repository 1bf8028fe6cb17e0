using DeepPerception.Data.Synth;
using DeepPerception.Kvg;

namespace DeepPerception.Experiments;

/// <summary>
/// Which entity a prediction picked, counted target × predicted entity: for each test image, the object (of the synth
/// objects drawn in it) the predicted box matches as <see cref="KvgEntityMatcher"/> decides (the target when correct,
/// otherwise the object it overlaps best with IoU ≥ 0.5), or <see cref="None"/>.
/// </summary>
public sealed class EntityConfusion
{
    /// <summary>The label of a prediction that matches no object.</summary>
    public const string None = KvgEntityMatcher.None;

    private readonly SortedDictionary<string, SortedDictionary<string, int>> _matrix = new(StringComparer.Ordinal);

    /// <summary>Predictions on the target entity.</summary>
    public int TargetEntity { get; private set; }

    /// <summary>Predictions on another entity of the image (a confusion).</summary>
    public int OtherEntity { get; private set; }

    /// <summary>Predictions on no object (or unparsable).</summary>
    public int NoEntity { get; private set; }

    /// <summary>target → predicted → count.</summary>
    public IReadOnlyDictionary<string, SortedDictionary<string, int>> Matrix => _matrix;

    /// <summary>The object a predicted grid box matches (the target when correct, else the best other with IoU ≥ 0.5), or null.</summary>
    public static SynthObject? Match(SynthSample sample, BoundingBox? prediction)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var objects = SynthExporter.KvgObjects(sample);
        var match = KvgEntityMatcher.Match(objects[sample.TargetIndex], objects, prediction);
        return match.Kind switch
        {
            KvgMatchKind.Target => sample.Target,
            KvgMatchKind.OtherEntity => sample.Objects.First(o => o.Label == match.Label),
            _ => null,
        };
    }

    /// <summary>Adds one prediction (null when nothing was parsed).</summary>
    public void Add(SynthSample sample, BoundingBox? prediction)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var objects = SynthExporter.KvgObjects(sample);
        Add(sample.Target.Label, KvgEntityMatcher.Match(objects[sample.TargetIndex], objects, prediction));
    }

    /// <summary>Adds one matched prediction of <paramref name="target"/> (as <see cref="DeepPerception.ML.Kvg.KvgEvaluator"/> reports it).</summary>
    public void Add(string target, KvgEntityMatch match)
    {
        ArgumentException.ThrowIfNullOrEmpty(target);
        switch (match.Kind)
        {
            case KvgMatchKind.Target:
                TargetEntity++;
                break;
            case KvgMatchKind.OtherEntity:
                OtherEntity++;
                break;
            default:
                NoEntity++;
                break;
        }

        var predicted = match.Kind == KvgMatchKind.Other ? KvgEntityMatcher.Other : match.Label;
        if (!_matrix.TryGetValue(target, out var row))
        {
            _matrix[target] = row = new SortedDictionary<string, int>(StringComparer.Ordinal);
        }

        row[predicted] = row.GetValueOrDefault(predicted) + 1;
    }
}
