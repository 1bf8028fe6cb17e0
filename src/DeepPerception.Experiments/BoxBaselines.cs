using DeepPerception.Data.Synth;
using DeepPerception.Kvg;

namespace DeepPerception.Experiments;

/// <summary>Acc@0.5 (percent) of model-free box heuristics on a test split.</summary>
/// <param name="UniformRandomBox">A box with corners drawn uniformly on the 0–1000 grid (mean over trials).</param>
/// <param name="CentreBox">The fixed box (250,250),(750,750).</param>
/// <param name="RandomObject">An object of the image picked uniformly (exact expectation): the ceiling of a model that finds objects but not the entity.</param>
/// <param name="LargestObject">The largest object of the image.</param>
/// <param name="UniformRandomBoxMeanIou">Mean IoU (0–1) of the uniformly drawn box with the target (same draws as <paramref name="UniformRandomBox"/>).</param>
public sealed record BaselineScores(double UniformRandomBox, double CentreBox, double RandomObject, double LargestObject, double UniformRandomBoxMeanIou);

/// <summary>Computes <see cref="BaselineScores"/>.</summary>
public static class BoxBaselines
{
    /// <summary>Scores the heuristics on <paramref name="samples"/> (the uniform box with <paramref name="trials"/> draws per sample).</summary>
    public static BaselineScores Compute(IReadOnlyList<SynthSample> samples, int trials, int seed)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0)
        {
            throw new ArgumentException("No samples to score.", nameof(samples));
        }

        var rng = new Random(seed);
        double uniform = 0, uniformIou = 0, centre = 0, randomObject = 0, largest = 0;
        var centreBox = new BoundingBox(250, 250, 750, 750);
        foreach (var s in samples)
        {
            var target = s.TargetGridBox.ToBoundingBox();
            var hits = 0;
            var iouSum = 0.0;
            for (var t = 0; t < trials; t++)
            {
                double a = rng.Next(1001), b = rng.Next(1001), c = rng.Next(1001), d = rng.Next(1001);
                var box = new BoundingBox(Math.Min(a, b), Math.Min(c, d), Math.Max(a, b), Math.Max(c, d));
                var iou = BoxMath.Iou(box, target);
                hits += iou >= KvgScorer.CorrectIouThreshold ? 1 : 0;
                iouSum += double.IsNaN(iou) ? 0 : iou;
            }

            uniform += hits / (double)Math.Max(1, trials);
            uniformIou += iouSum / Math.Max(1, trials);
            centre += Hit(centreBox, target) ? 1 : 0;
            var boxes = s.Objects.Select(o => o.Box.ToGrid(s.Image.Width, s.Image.Height).ToBoundingBox()).ToList();
            randomObject += boxes.Count(b => Hit(b, target)) / (double)boxes.Count;
            var big = s.Objects.MaxBy(o => (long)o.Box.Width * o.Box.Height)!;
            largest += Hit(big.Box.ToGrid(s.Image.Width, s.Image.Height).ToBoundingBox(), target) ? 1 : 0;
        }

        double Pct(double x) => 100.0 * x / samples.Count;
        return new BaselineScores(Pct(uniform), Pct(centre), Pct(randomObject), Pct(largest), uniformIou / samples.Count);
    }

    private static bool Hit(BoundingBox a, BoundingBox b) => BoxMath.Iou(a, b) >= KvgScorer.CorrectIouThreshold;
}
