namespace DeepPerception.Kvg;

/// <summary>One annotated object of an image: its entity and its box on the 0–1000 grid.</summary>
/// <param name="Entity">The entity name (the label a query would name).</param>
/// <param name="Box">The box on the 0–1000 grid.</param>
public sealed record KvgObject(string Entity, BoundingBox Box);

/// <summary>What a predicted box landed on.</summary>
public enum KvgMatchKind
{
    /// <summary>The target (IoU ≥ 0.5 with the ground truth: exactly the cases the scorer counts correct).</summary>
    Target,

    /// <summary>Another object of the image with a different entity (a confusion between siblings).</summary>
    OtherEntity,

    /// <summary>
    /// A wrong box that cannot be attributed to a different entity: the image's other objects are unknown (only the
    /// target is annotated), or the box is on another instance of the target's own entity.
    /// </summary>
    Other,

    /// <summary>No box was parsed, or the box overlaps none of the image's known objects.</summary>
    None,
}

/// <summary>The outcome of matching a prediction against the objects of its image.</summary>
/// <param name="Kind">What the box landed on.</param>
/// <param name="Label">The matched entity, or <see cref="KvgEntityMatcher.Other"/> / <see cref="KvgEntityMatcher.None"/>.</param>
/// <param name="Iou">The IoU with the matched object (0 for <see cref="KvgMatchKind.None"/> and unattributed boxes).</param>
public readonly record struct KvgEntityMatch(KvgMatchKind Kind, string Label, double Iou);

/// <summary>
/// Which object of an image a predicted box picked, for entity-confusion matrices (which sibling got the box): the
/// target when the prediction is correct (IoU ≥ <see cref="KvgScorer.CorrectIouThreshold"/> with the ground truth,
/// computed as the scorer does), otherwise the other object it overlaps best with IoU ≥ the same threshold. Used by the
/// experiment reports and by the platform's evaluation runs alike.
/// </summary>
public static class KvgEntityMatcher
{
    /// <summary>The label of a prediction without a box, or on none of the known objects.</summary>
    public const string None = "none";

    /// <summary>The label of a wrong box that cannot be attributed to a different entity.</summary>
    public const string Other = "other";

    /// <summary>Matches a prediction.</summary>
    /// <param name="target">The object the query names.</param>
    /// <param name="objects">
    /// Every annotated object of the image (the target among them or not), or null when only the target is known.
    /// </param>
    /// <param name="prediction">The predicted box on the 0–1000 grid, or null when nothing was parsed.</param>
    /// <exception cref="ArgumentException">An entity name is empty or a box is not finite.</exception>
    public static KvgEntityMatch Match(KvgObject target, IReadOnlyList<KvgObject>? objects, BoundingBox? prediction)
    {
        Check(target, nameof(target));
        if (objects is not null)
        {
            foreach (var o in objects)
            {
                Check(o, nameof(objects));
            }
        }

        if (prediction is not BoundingBox p)
        {
            return new KvgEntityMatch(KvgMatchKind.None, None, 0);
        }

        var targetIou = BoxMath.MaxIou(p, [target.Box]);
        if (targetIou >= KvgScorer.CorrectIouThreshold)
        {
            return new KvgEntityMatch(KvgMatchKind.Target, target.Entity, targetIou);
        }

        if (objects is null)
        {
            return new KvgEntityMatch(KvgMatchKind.Other, Other, 0);
        }

        KvgObject? best = null;
        var bestIou = KvgScorer.CorrectIouThreshold;
        foreach (var o in objects)
        {
            var iou = BoxMath.MaxIou(p, [o.Box]);
            if (iou >= bestIou && !(o.Box == target.Box && o.Entity == target.Entity))
            {
                best = o;
                bestIou = iou;
            }
        }

        if (best is null)
        {
            return new KvgEntityMatch(KvgMatchKind.None, None, 0);
        }

        return string.Equals(best.Entity, target.Entity, StringComparison.Ordinal)
            ? new KvgEntityMatch(KvgMatchKind.Other, Other, bestIou)
            : new KvgEntityMatch(KvgMatchKind.OtherEntity, best.Entity, bestIou);
    }

    private static void Check(KvgObject? o, string name)
    {
        if (o is null)
        {
            throw new ArgumentException("An object is null.", name);
        }

        if (string.IsNullOrWhiteSpace(o.Entity))
        {
            throw new ArgumentException("An object has an empty entity name.", name);
        }

        if (!o.Box.IsFinite)
        {
            throw new ArgumentException($"The box of '{o.Entity}' is not finite ({o.Box}).", name);
        }
    }
}
