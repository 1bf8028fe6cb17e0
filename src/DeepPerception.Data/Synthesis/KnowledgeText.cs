using DeepPerception.Data.Synth;

namespace DeepPerception.Data.Synthesis;

/// <summary>Phrases the templated rationales build from knowledge entries.</summary>
public static class KnowledgeText
{
    private const string ListPrefix = "#";

    /// <summary>The attribute key given to the i-th entry of a knowledge <c>attributes</c> array.</summary>
    public static string ListKey(int index) => ListPrefix + index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>One attribute as a phrase: "wing colour blue" for a named attribute, the value alone for a listed one.</summary>
    public static string Phrase(string key, string value) => key.StartsWith(ListPrefix, StringComparison.Ordinal) ? value.Trim() : $"{key.Trim()} {value.Trim()}";

    /// <summary>
    /// A short description of an entity: up to <paramref name="maxAttributes"/> attribute phrases, or the first sentence of
    /// the knowledge text when the entry has no attributes.
    /// </summary>
    public static string Describe(SynthKnowledgeEntry entry, int maxAttributes = 4)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Attributes.Count > 0)
        {
            return string.Join(", ", entry.Attributes.Take(maxAttributes).Select(kv => Phrase(kv.Key, kv.Value)));
        }

        return FirstSentence(entry.Text);
    }

    /// <summary>
    /// The phrases of <paramref name="other"/> that set it apart from <paramref name="target"/>: named attributes whose
    /// values differ, listed attributes the target lacks. Empty when the entries share no comparable attribute.
    /// </summary>
    public static IReadOnlyList<string> Differences(SynthKnowledgeEntry target, SynthKnowledgeEntry other, int max = 2)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(other);
        var targetPhrases = target.Attributes.Select(kv => Phrase(kv.Key, kv.Value)).ToHashSet(StringComparer.OrdinalIgnoreCase);
        return other.Attributes
            .Where(kv => kv.Key.StartsWith(ListPrefix, StringComparison.Ordinal)
                ? !targetPhrases.Contains(Phrase(kv.Key, kv.Value))
                : target.Attributes.TryGetValue(kv.Key, out var t) && !string.Equals(t.Trim(), kv.Value.Trim(), StringComparison.OrdinalIgnoreCase))
            .Take(max)
            .Select(kv => Phrase(kv.Key, kv.Value))
            .ToList();
    }

    /// <summary>The first sentence of a text (up to the first '.', '!' or '?' followed by a space, or the whole text).</summary>
    public static string FirstSentence(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim();
        for (var i = 0; i < t.Length - 1; i++)
        {
            if (t[i] is '.' or '!' or '?' && char.IsWhiteSpace(t[i + 1]))
            {
                return t[..i];
            }
        }

        return t.TrimEnd('.', '!', '?');
    }
}
