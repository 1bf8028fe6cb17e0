using System.Text;

namespace DeepPerception.Data.Synth;

/// <summary>An invented fine-grained entity: a name, its domain, its family of siblings and its attributes.</summary>
public sealed record SynthEntity(string Name, SynthDomain Domain, string Family, SynthAttributes Attributes)
{
    /// <summary>
    /// The knowledge sentence naming every distinguishing attribute, e.g. "Velkar VK-27 is an aircraft whose fuselage is
    /// red, with blue wings, 2 black stripes and white spots, and a blue roundel on the left."
    /// </summary>
    public string KnowledgeText => SynthText.Knowledge(this);
}

/// <summary>The knowledge-base entry of one entity (what <c>knowledge.json</c> holds).</summary>
public sealed record SynthKnowledgeEntry(string Domain, IReadOnlyDictionary<string, string> Attributes, string Text);

/// <summary>
/// The synthetic world: ten domains, each with 20 invented entities in 5 families of 4 siblings, and the knowledge base
/// linking every name to what to look for. Fully determined by the seed.
/// </summary>
public sealed class SynthWorld
{
    /// <summary>Entities per domain.</summary>
    public const int EntitiesPerDomain = 20;

    /// <summary>Siblings per family.</summary>
    public const int FamilySize = 4;

    private readonly Dictionary<string, SynthEntity> _byName;
    private readonly Dictionary<string, SynthEntity[]> _byDomain;

    private SynthWorld(int seed, IReadOnlyList<SynthEntity> entities)
    {
        Seed = seed;
        Entities = entities;
        _byName = entities.ToDictionary(e => e.Name, StringComparer.Ordinal);
        _byDomain = entities.GroupBy(e => e.Domain.Name).ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
        Knowledge = new SortedDictionary<string, SynthKnowledgeEntry>(
            entities.ToDictionary(e => e.Name, e => new SynthKnowledgeEntry(e.Domain.Name, e.Attributes.ToDictionary(), e.KnowledgeText)),
            StringComparer.Ordinal);
    }

    /// <summary>The seed the world was built from.</summary>
    public int Seed { get; }

    /// <summary>The ten domains.</summary>
    public IReadOnlyList<SynthDomain> Domains => SynthDomains.All;

    /// <summary>All entities (200), domain by domain, family by family.</summary>
    public IReadOnlyList<SynthEntity> Entities { get; }

    /// <summary>Entity name → knowledge entry.</summary>
    public IReadOnlyDictionary<string, SynthKnowledgeEntry> Knowledge { get; }

    /// <summary>Builds the world for a seed.</summary>
    public static SynthWorld Create(int seed)
    {
        var rng = new SynthRandom(SynthRandom.Mix(seed, 0x5717));
        var usedNames = new HashSet<string>(StringComparer.Ordinal);
        var usedStems = new HashSet<string>(StringComparer.Ordinal);
        var entities = new List<SynthEntity>();
        foreach (var domain in SynthDomains.All)
        {
            var usedVectors = new HashSet<SynthAttributes>();
            for (var f = 0; f < EntitiesPerDomain / FamilySize; f++)
            {
                var stem = NewStem(rng, usedStems);
                var family = BuildFamily(rng, usedVectors);
                var designations = NewDesignations(rng, domain, FamilySize);
                for (var v = 0; v < FamilySize; v++)
                {
                    var name = ComposeName(domain, stem, designations[v]);
                    if (!usedNames.Add(name))
                    {
                        throw new InvalidOperationException($"Duplicate entity name '{name}'.");
                    }

                    entities.Add(new SynthEntity(name, domain, stem, family[v]));
                }
            }
        }

        return new SynthWorld(seed, entities);
    }

    /// <summary>Looks an entity up by name.</summary>
    public SynthEntity Get(string name) =>
        _byName.TryGetValue(name, out var e) ? e : throw new KeyNotFoundException($"Unknown entity '{name}'.");

    /// <summary>Whether the world knows the name.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>The entities of one domain.</summary>
    public IReadOnlyList<SynthEntity> EntitiesOf(SynthDomain domain) => _byDomain[domain.Name];

    /// <summary>The other members of an entity's family.</summary>
    public IReadOnlyList<SynthEntity> SiblingsOf(SynthEntity entity) =>
        _byDomain[entity.Domain.Name].Where(e => e.Family == entity.Family && e != entity).ToArray();

    /// <summary>
    /// The knowledge text corpus: three templated sentences per entity for all ten domains (the first is the
    /// knowledge-base text itself), in entity order.
    /// </summary>
    public IReadOnlyList<string> KnowledgeCorpus()
    {
        var lines = new List<string>(Entities.Count * 3);
        foreach (var e in Entities)
        {
            lines.Add(e.KnowledgeText);
            lines.Add(SynthText.LookFor(e));
            lines.Add(SynthText.FamilySentence(e, SiblingsOf(e)));
        }

        return lines;
    }

    private static SynthAttributes[] BuildFamily(SynthRandom rng, HashSet<SynthAttributes> used)
    {
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            var baseVector = SynthAttributes.Random(rng);
            var kinds = SynthAttributes.Kinds.ToList();
            rng.Shuffle(kinds);
            var members = new SynthAttributes[FamilySize];
            members[0] = baseVector;
            for (var v = 1; v < FamilySize; v++)
            {
                members[v] = baseVector.Mutate(kinds[v - 1], rng);
            }

            if (members.Distinct().Count() == FamilySize && members.All(m => !used.Contains(m)))
            {
                foreach (var m in members)
                {
                    used.Add(m);
                }

                return members;
            }
        }

        throw new InvalidOperationException("Could not build a family of distinct attribute vectors.");
    }

    private static readonly string[] Onsets = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "kr", "st", "th", "tr", "qu", "sh"];
    private static readonly string[] Vowels = ["a", "e", "i", "o", "u", "ae", "ia", "ou"];
    private static readonly string[] Codas = ["", "", "n", "r", "l", "s", "x", "th", "nd", "rk"];

    private static string NewStem(SynthRandom rng, HashSet<string> used)
    {
        while (true)
        {
            var sb = new StringBuilder();
            var syllables = rng.Next(2, 4);
            for (var s = 0; s < syllables; s++)
            {
                sb.Append(rng.Pick(Onsets)).Append(rng.Pick(Vowels));
            }

            sb.Append(rng.Pick(Codas));
            sb[0] = char.ToUpperInvariant(sb[0]);
            var stem = sb.ToString();
            if (stem.Length >= 4 && stem.Length <= 11 && used.Add(stem))
            {
                return stem;
            }
        }
    }

    private static string Word(SynthRandom rng, int syllables)
    {
        var sb = new StringBuilder();
        for (var s = 0; s < syllables; s++)
        {
            sb.Append(rng.Pick(Onsets)).Append(rng.Pick(Vowels));
        }

        return sb.ToString();
    }

    private static string[] NewDesignations(SynthRandom rng, SynthDomain domain, int count)
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        var list = new List<string>();
        var letters = $"{(char)('A' + rng.Next(26))}{(char)('A' + rng.Next(26))}";
        while (list.Count < count)
        {
            string d = domain.Name switch
            {
                "aircraft" => $"{letters}-{rng.Next(2, 99)}",
                "car" => $"{Cap(Word(rng, 2))} {rng.Pick(CarTrims)}",
                "reptilia" or "mollusca" => Word(rng, 2) + rng.Pick(LatinEndings),
                "food" => $"{Cap(Word(rng, 2))} {rng.Pick(Dishes)}",
                "landmark" => $"{rng.Pick(Buildings)} of {Cap(Word(rng, 2))}",
                _ => Cap(Word(rng, 2)),
            };
            if (result.Add(d))
            {
                list.Add(d);
            }
        }

        return list.ToArray();
    }

    private static readonly string[] CarTrims = ["GT", "S", "LX", "R", "Sport", "Coupe"];
    private static readonly string[] LatinEndings = ["ensis", "ata", "ii", "oides", "ica"];
    private static readonly string[] Dishes = ["tart", "pie", "roll", "cake", "bun", "stew"];
    private static readonly string[] Buildings = ["Tower", "Spire", "Gate", "Belfry", "Pagoda", "Minaret"];

    private static string Cap(string word) => char.ToUpperInvariant(word[0]) + word[1..];

    private static string ComposeName(SynthDomain domain, string stem, string designation) => domain.Name switch
    {
        "bird" or "dog" or "flower" or "mammal" => $"{designation} {stem}",
        _ => $"{stem} {designation}",
    };
}
