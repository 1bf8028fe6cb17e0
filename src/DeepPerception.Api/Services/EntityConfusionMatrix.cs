using DeepPerception.Client;
using DeepPerception.Kvg;

namespace DeepPerception.Api.Services;

/// <summary>One scored item as the entity-confusion matrix needs it.</summary>
/// <param name="Entity">The target entity.</param>
/// <param name="Kind">What the box landed on: target, other_entity, other or none.</param>
/// <param name="Matched">The matched entity (for target and other_entity), otherwise other or none.</param>
/// <param name="ObjectsKnown">Whether the item's image listed all its objects.</param>
public readonly record struct ConfusionItem(string Entity, string Kind, string Matched, bool ObjectsKnown);

/// <summary>
/// Builds the bounded entity × entity confusion matrix of one domain from matched items: rows are target entities,
/// columns the entity the box landed on, then <see cref="KvgEntityMatcher.Other"/> and <see cref="KvgEntityMatcher.None"/>.
/// At most <c>maxEntities</c> entities (the most confused first) are shown; the others are folded into
/// <see cref="FoldedLabel"/>. A correct item always counts on the diagonal (the bucket's own cell for a folded entity);
/// a confusion between two folded entities counts as <see cref="KvgEntityMatcher.Other"/>, so the diagonal is the correct count.
/// When an entity of the domain bears one of these three labels, the special row or column is qualified ("none (no object)",
/// "other (unattributed)", "other entities (folded)") so that every row and column label is unique.
/// </summary>
public static class EntityConfusionMatrix
{
    /// <summary>The row and column of the entities that are not shown.</summary>
    public const string FoldedLabel = "other entities";

    /// <summary>Match kind of a correct item.</summary>
    public const string TargetKind = "target";

    /// <summary>Match kind of a box on a sibling entity.</summary>
    public const string OtherEntityKind = "other_entity";

    /// <summary>Builds the matrix of one domain.</summary>
    /// <exception cref="ArgumentException">An item has an unknown kind, or <paramref name="maxEntities"/> is below 1.</exception>
    public static EntityConfusionDto Build(string domain, IReadOnlyList<ConfusionItem> items, int maxEntities)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEntities, 1);
        foreach (var i in items)
        {
            if (i.Kind is not (TargetKind or OtherEntityKind or KvgEntityMatcher.Other or KvgEntityMatcher.None))
            {
                throw new ArgumentException($"Item of '{i.Entity}' has the match kind '{i.Kind}'; expected target, other_entity, other or none.", nameof(items));
            }
        }

        // Errors per entity, as the target of a wrong item and as the sibling that got someone else's box.
        var errors = new Dictionary<string, int>(StringComparer.Ordinal);
        var totals = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var i in items)
        {
            totals[i.Entity] = totals.GetValueOrDefault(i.Entity) + 1;
            errors.TryAdd(i.Entity, 0);
            if (i.Kind != TargetKind)
            {
                errors[i.Entity]++;
            }

            if (i.Kind == OtherEntityKind)
            {
                errors[i.Matched] = errors.GetValueOrDefault(i.Matched) + 1;
            }
        }

        // The folded row and the other / none columns are named so that no entity of the domain shares their label
        // (an entity may well be called "none"); the counts are positional either way.
        var names = errors.Keys.ToHashSet(StringComparer.Ordinal);
        var foldedLabel = Reserved(FoldedLabel, "folded", names);
        var otherLabel = Reserved(KvgEntityMatcher.Other, "unattributed", names);
        var noneLabel = Reserved(KvgEntityMatcher.None, "no object", names);
        var shown = errors.Keys
            .OrderByDescending(e => errors[e]).ThenByDescending(e => totals.GetValueOrDefault(e)).ThenBy(e => e, StringComparer.Ordinal)
            .Take(maxEntities).Order(StringComparer.Ordinal).ToList();
        var folded = errors.Count - shown.Count;
        var rows = folded > 0 ? [.. shown, foldedLabel] : shown;
        var columns = rows.Concat([otherLabel, noneLabel]).ToList();
        var rowIndex = rows.Select((r, n) => (r, n)).ToDictionary(x => x.r, x => x.n, StringComparer.Ordinal);
        var counts = rows.Select(_ => new int[columns.Count]).ToArray();
        var otherColumn = rows.Count;
        var noneColumn = rows.Count + 1;
        var isShown = shown.ToHashSet(StringComparer.Ordinal);
        foreach (var i in items)
        {
            var r = isShown.Contains(i.Entity) ? rowIndex[i.Entity] : rowIndex[foldedLabel];
            var c = i.Kind switch
            {
                TargetKind => r,
                OtherEntityKind when isShown.Contains(i.Matched) => rowIndex[i.Matched],
                OtherEntityKind when isShown.Contains(i.Entity) => rowIndex[foldedLabel],
                KvgEntityMatcher.None => noneColumn,
                _ => otherColumn,
            };
            counts[r][c]++;
        }

        return new EntityConfusionDto(domain, rows, columns, counts.Select(r => (IReadOnlyList<int>)r).ToArray(), items.Count,
            items.Count(i => i.Kind == TargetKind), folded, items.Count > 0 && items.All(i => i.ObjectsKnown));
    }

    /// <summary>
    /// <paramref name="label"/>, or "<paramref name="label"/> (<paramref name="qualifier"/>)" (then numbered) when an
    /// entity of the domain already has that name.
    /// </summary>
    private static string Reserved(string label, string qualifier, HashSet<string> entities)
    {
        if (!entities.Contains(label))
        {
            return label;
        }

        var candidate = $"{label} ({qualifier})";
        for (var n = 2; entities.Contains(candidate); n++)
        {
            candidate = $"{label} ({qualifier} {n})";
        }

        return candidate;
    }
}
