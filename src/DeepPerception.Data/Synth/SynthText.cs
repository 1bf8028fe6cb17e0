using System.Globalization;
using DeepPerception.Kvg;

namespace DeepPerception.Data.Synth;

/// <summary>Templated texts: queries, knowledge sentences and attribute phrases.</summary>
public static class SynthText
{
    /// <summary>The ref-token query of KVG-Bench.</summary>
    public static string Query(string label) => KvgPrompts.Query(label);

    /// <summary>The DeepPerception <c>r1</c> prompt around a question (note the two spaces).</summary>
    public static string R1Prompt(string question) => KvgPrompts.R1(question);

    /// <summary>The knowledge-base sentence of an entity.</summary>
    public static string Knowledge(SynthEntity e)
    {
        var a = e.Attributes;
        var d = e.Domain;
        return $"{e.Name} is {Article(d.Noun)} {d.Noun} whose {d.BodyPart} {Be(d.BodyPart)} {a.BodyColor.Name}, with {a.AccentColor.Name} {d.AccentParts}, " +
               $"{StripePhrase(a.Stripes, black: true)} and {SpotPhrase(a.Spotted)}, and {Article(a.AccentColor.Name)} {a.AccentColor.Name} {d.MarkerPart} {PositionPhrase(a.Marker)}.";
    }

    /// <summary>A second knowledge sentence listing what to look for.</summary>
    public static string LookFor(SynthEntity e) =>
        $"To recognise {Article(e.Domain.Noun)} {e.Name}, look for {JoinAnd(SynthAttributes.Kinds.Select(k => Phrase(e, k)).ToList())}.";

    /// <summary>A knowledge sentence contrasting an entity with a sibling of its family.</summary>
    public static string FamilySentence(SynthEntity e, IReadOnlyList<SynthEntity> siblings)
    {
        if (siblings.Count == 0)
        {
            return $"{e.Name} belongs to the {e.Family} family of {e.Domain.PluralNoun}.";
        }

        var sib = siblings[0];
        var diff = e.Attributes.DifferingFrom(sib.Attributes);
        return $"{e.Name} belongs to the {e.Family} family of {e.Domain.PluralNoun}; unlike the {sib.Name}, it has {JoinAnd(diff.Select(k => Phrase(e, k)).ToList())}.";
    }

    /// <summary>A short phrase for one attribute of an entity ("a red fuselage", "2 stripes", "a roundel on the left").</summary>
    public static string Phrase(SynthEntity e, SynthAttributeKind kind)
    {
        var a = e.Attributes;
        var d = e.Domain;
        return kind switch
        {
            SynthAttributeKind.BodyColor => d.BodyPart.EndsWith('s')
                ? $"{a.BodyColor.Name} {d.BodyPart}"
                : $"{Article(a.BodyColor.Name)} {a.BodyColor.Name} {d.BodyPart}",
            SynthAttributeKind.AccentColor => $"{a.AccentColor.Name} {d.AccentParts}",
            SynthAttributeKind.Stripes => StripePhrase(a.Stripes, black: false),
            SynthAttributeKind.Pattern => SpotPhrase(a.Spotted),
            SynthAttributeKind.MarkerPosition => $"{Article(d.MarkerPart)} {d.MarkerPart} {PositionPhrase(a.Marker)}",
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown attribute kind."),
        };
    }

    /// <summary>Noun phrase for a shape of the attribute-grounding set.</summary>
    public static string ShapeDescription(ShapeAttributes s, bool includeStripes, bool includeSpots)
    {
        var extras = new List<string>();
        if (includeStripes)
        {
            extras.Add(StripePhrase(s.Stripes, black: false));
        }

        if (includeSpots)
        {
            extras.Add(SpotPhrase(s.Spotted));
        }

        return extras.Count == 0 ? $"the {s.Color.Name} {s.Kind}" : $"the {s.Color.Name} {s.Kind} with {JoinAnd(extras)}";
    }

    internal static string StripePhrase(int n, bool black) => n switch
    {
        0 => "no stripes",
        1 => black ? "1 black stripe" : "1 stripe",
        _ => string.Create(CultureInfo.InvariantCulture, $"{n} {(black ? "black " : string.Empty)}stripes"),
    };

    internal static string SpotPhrase(bool spotted) => spotted ? "white spots" : "no spots";

    internal static string PositionPhrase(MarkerPosition p) => p switch
    {
        MarkerPosition.Left => "on the left",
        MarkerPosition.Right => "on the right",
        _ => "at the top",
    };

    internal static string JoinAnd(IReadOnlyList<string> parts) => parts.Count switch
    {
        0 => string.Empty,
        1 => parts[0],
        _ => string.Join(", ", parts.Take(parts.Count - 1)) + " and " + parts[^1],
    };

    internal static string Article(string word) => "aeiou".Contains(char.ToLowerInvariant(word[0])) ? "an" : "a";

    private static string Be(string noun) => noun.EndsWith('s') ? "are" : "is";
}
