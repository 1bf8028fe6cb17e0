namespace DeepPerception.Kvg;

/// <summary>An axis-aligned box as (x1, y1) top-left and (x2, y2) bottom-right, in whatever space the caller uses.</summary>
/// <param name="X1">Left.</param>
/// <param name="Y1">Top.</param>
/// <param name="X2">Right.</param>
/// <param name="Y2">Bottom.</param>
public readonly record struct BoundingBox(double X1, double Y1, double X2, double Y2)
{
    /// <summary>True when every coordinate is a finite number.</summary>
    public bool IsFinite => double.IsFinite(X1) && double.IsFinite(Y1) && double.IsFinite(X2) && double.IsFinite(Y2);

    /// <summary>The box with x1 ≤ x2 and y1 ≤ y2 (corners swapped where inverted).</summary>
    public BoundingBox Normalized() => new(Math.Min(X1, X2), Math.Min(Y1, Y2), Math.Max(X1, X2), Math.Max(Y1, Y2));

    /// <summary>The coordinates as an array [x1, y1, x2, y2].</summary>
    public double[] ToArray() => [X1, Y1, X2, Y2];
}

/// <summary>Box arithmetic with the exact semantics of <c>torchvision.ops.box_iou</c> as the reference code uses it.</summary>
public static class BoxMath
{
    /// <summary>
    /// IoU as <c>box_iou</c> computes it on float32 tensors: coordinates rounded to float32, areas
    /// <c>(x2-x1)*(y2-y1)</c> not clamped (an inverted box has a negative or zero area), intersection width and
    /// height clamped at 0, <c>union = area1 + area2 - inter</c>, <c>iou = inter / union</c>, every step in float32.
    /// The float32 result is returned widened to double, as <c>tensor.item()</c> does. 0/0 gives NaN.
    /// </summary>
    public static double Iou(BoundingBox a, BoundingBox b)
    {
        var ax1 = (float)a.X1;
        var ay1 = (float)a.Y1;
        var ax2 = (float)a.X2;
        var ay2 = (float)a.Y2;
        var bx1 = (float)b.X1;
        var by1 = (float)b.Y1;
        var bx2 = (float)b.X2;
        var by2 = (float)b.Y2;

        var area1 = (float)((float)(ax2 - ax1) * (float)(ay2 - ay1));
        var area2 = (float)((float)(bx2 - bx1) * (float)(by2 - by1));

        // torch.max / torch.min propagate NaN, as MathF.Max / MathF.Min do.
        var ltx = MathF.Max(ax1, bx1);
        var lty = MathF.Max(ay1, by1);
        var rbx = MathF.Min(ax2, bx2);
        var rby = MathF.Min(ay2, by2);

        var w = ClampMin0((float)(rbx - ltx));
        var h = ClampMin0((float)(rby - lty));
        var inter = (float)(w * h);
        var union = (float)((float)(area1 + area2) - inter);
        return (float)(inter / union);
    }

    /// <summary>The same formula evaluated in double precision (no float32 rounding); for analysis, not scoring.</summary>
    public static double IouDouble(BoundingBox a, BoundingBox b)
    {
        var area1 = (a.X2 - a.X1) * (a.Y2 - a.Y1);
        var area2 = (b.X2 - b.X1) * (b.Y2 - b.Y1);
        var w = ClampMin0(Math.Min(a.X2, b.X2) - Math.Max(a.X1, b.X1));
        var h = ClampMin0(Math.Min(a.Y2, b.Y2) - Math.Max(a.Y1, b.Y1));
        var inter = w * h;
        return inter / (area1 + area2 - inter);
    }

    /// <summary>
    /// The evaluator's per-case score: the maximum IoU of the prediction against each ground-truth box, starting
    /// from 0 and updated only when <c>iou &gt; max</c>, so a NaN IoU counts as 0.
    /// </summary>
    public static double MaxIou(BoundingBox prediction, IEnumerable<BoundingBox> groundTruth)
    {
        ArgumentNullException.ThrowIfNull(groundTruth);
        var max = 0.0;
        foreach (var gt in groundTruth)
        {
            var iou = Iou(prediction, gt);
            if (iou > max)
            {
                max = iou;
            }
        }

        return max;
    }

    private static float ClampMin0(float v) => float.IsNaN(v) ? v : MathF.Max(v, 0f);

    private static double ClampMin0(double v) => double.IsNaN(v) ? v : Math.Max(v, 0.0);
}
