using DeepPerception.Data.Synth;
using DeepPerception.Kvg;

namespace DeepPerception.Experiments;

/// <summary>
/// Which entity a prediction picked: for each test image, the object (of the synth objects drawn in it) whose box best
/// overlaps the predicted box with IoU ≥ 0.5, or <see cref="None"/>. Counts target × predicted entity.
/// </summary>
public sealed class EntityConfusion
{
    /// <summary>The label of a prediction that matches no object.</summary>
    public const string None = "none";

    private readonly SortedDictionary<string, SortedDictionary<string, int>> _matrix = new(StringComparer.Ordinal);

    /// <summary>Predictions on the target entity.</summary>
    public int TargetEntity { get; private set; }

    /// <summary>Predictions on another entity of the image (a confusion).</summary>
    public int OtherEntity { get; private set; }

    /// <summary>Predictions on no object (or unparsable).</summary>
    public int NoEntity { get; private set; }

    /// <summary>target → predicted → count.</summary>
    public IReadOnlyDictionary<string, SortedDictionary<string, int>> Matrix => _matrix;

    /// <summary>The object a predicted grid box matches best (IoU ≥ 0.5), or null.</summary>
    public static SynthObject? Match(SynthSample sample, BoundingBox? prediction)
    {
        ArgumentNullException.ThrowIfNull(sample);
        if (prediction is not BoundingBox p)
        {
            return null;
        }

        SynthObject? best = null;
        var bestIou = KvgScorer.CorrectIouThreshold;
        foreach (var o in sample.Objects)
        {
            var iou = BoxMath.Iou(o.Box.ToGrid(sample.Image.Width, sample.Image.Height).ToBoundingBox(), p);
            if (iou >= bestIou)
            {
                best = o;
                bestIou = iou;
            }
        }

        return best;
    }

    /// <summary>Adds one prediction (null when nothing was parsed).</summary>
    public void Add(SynthSample sample, BoundingBox? prediction)
    {
        var match = Match(sample, prediction);
        var target = sample.Target.Label;
        var predicted = match?.Label ?? None;
        if (match is null) NoEntity++;
        else if (ReferenceEquals(match, sample.Target)) TargetEntity++;
        else OtherEntity++;
        if (!_matrix.TryGetValue(target, out var row))
        {
            _matrix[target] = row = new SortedDictionary<string, int>(StringComparer.Ordinal);
        }

        row[predicted] = row.GetValueOrDefault(predicted) + 1;
    }
}
