using DeepPerception.Data.Synth;

namespace DeepPerception.Data.Tests;

/// <summary>The synthetic world: domains, entities, families and knowledge.</summary>
public sealed class WorldTests
{
    [Fact]
    public void Domains_AreTheTenKvgBenchCategories_FiveSeen()
    {
        Assert.Equal(["aircraft", "car", "reptilia", "bird", "food", "dog", "mollusca", "mammal", "flower", "landmark"], SynthDomains.All.Select(d => d.Name));
        Assert.Equal(["aircraft", "car", "reptilia", "bird", "food"], SynthDomains.Seen.Select(d => d.Name));
        Assert.Equal(["dog", "mollusca", "mammal", "flower", "landmark"], SynthDomains.Unseen.Select(d => d.Name));
        Assert.Throws<ArgumentException>(() => SynthDomains.Get("spaceship"));
    }

    [Fact]
    public void Create_SameSeed_GivesSameWorld_OtherSeed_Differs()
    {
        var a = SynthWorld.Create(123);
        var b = SynthWorld.Create(123);
        var c = SynthWorld.Create(124);
        Assert.Equal(a.Entities.Select(e => (e.Name, e.Attributes)), b.Entities.Select(e => (e.Name, e.Attributes)));
        Assert.NotEqual(a.Entities.Select(e => e.Name), c.Entities.Select(e => e.Name));
    }

    [Fact]
    public void EveryDomain_HasTwentyUniquelyNamedDistinctEntities()
    {
        var w = TestData.World;
        Assert.Equal(200, w.Entities.Count);
        Assert.Equal(200, w.Entities.Select(e => e.Name).Distinct().Count());
        foreach (var d in w.Domains)
        {
            var es = w.EntitiesOf(d);
            Assert.Equal(SynthWorld.EntitiesPerDomain, es.Count);
            Assert.Equal(es.Count, es.Select(e => e.Attributes).Distinct().Count());
            Assert.All(es, e => Assert.NotEqual(e.Attributes.BodyColor, e.Attributes.AccentColor));
        }
    }

    [Fact]
    public void Siblings_DifferInOneOrTwoAttributes()
    {
        var w = TestData.World;
        foreach (var e in w.Entities)
        {
            var siblings = w.SiblingsOf(e);
            Assert.Equal(SynthWorld.FamilySize - 1, siblings.Count);
            foreach (var s in siblings)
            {
                var diff = e.Attributes.DifferingFrom(s.Attributes).Count;
                Assert.InRange(diff, 1, 2);
            }
        }
    }

    [Fact]
    public void Names_DoNotRevealAttributes()
    {
        var colours = SynthColor.Palette.Select(c => c.Name).ToArray();
        foreach (var e in TestData.World.Entities)
        {
            var words = e.Name.ToLowerInvariant().Split(' ', '-');
            Assert.DoesNotContain(words, w => colours.Contains(w) || w is "striped" or "spotted" or "plain" or "left" or "right" or "top");
        }
    }

    [Fact]
    public void Knowledge_NamesEveryAttribute()
    {
        var w = TestData.World;
        foreach (var e in w.Entities)
        {
            var k = w.Knowledge[e.Name];
            Assert.Equal(e.Domain.Name, k.Domain);
            Assert.StartsWith(e.Name + " is a", k.Text);
            Assert.Contains($"{e.Domain.BodyPart} {(e.Domain.BodyPart.EndsWith('s') ? "are" : "is")} {e.Attributes.BodyColor.Name}", k.Text);
            Assert.Contains($"{e.Attributes.AccentColor.Name} {e.Domain.AccentParts}", k.Text);
            Assert.Contains(e.Attributes.Stripes == 0 ? "no stripes" : $"{e.Attributes.Stripes} black stripe", k.Text);
            Assert.Contains(e.Attributes.Spotted ? "white spots" : "no spots", k.Text);
            Assert.Contains(e.Attributes.Marker switch { MarkerPosition.Left => "on the left", MarkerPosition.Right => "on the right", _ => "at the top" }, k.Text);
            Assert.Equal(e.Attributes.Value(SynthAttributeKind.Stripes), k.Attributes["stripes"]);
            Assert.Equal(5, k.Attributes.Count);
        }
    }

    [Fact]
    public void KnowledgeCorpus_CoversAllDomains_ThreeSentencesPerEntity()
    {
        var w = TestData.World;
        var corpus = w.KnowledgeCorpus();
        Assert.Equal(w.Entities.Count * 3, corpus.Count);
        for (var i = 0; i < w.Entities.Count; i++)
        {
            var e = w.Entities[i];
            Assert.All(corpus.Skip(3 * i).Take(3), line => Assert.Contains(e.Name, line));
            Assert.Contains($" is a{(e.Domain.Noun[0] is 'a' or 'e' or 'i' or 'o' or 'u' ? "n" : string.Empty)} {e.Domain.Noun} whose ", corpus[3 * i]);
        }

        Assert.Equal(10, w.Entities.Select(e => e.Domain.Name).Distinct().Count());
        var family = corpus[2];
        Assert.Contains("unlike the", family);
    }

    [Fact]
    public void Phrases_AreGrammatical_ForSingularAndPluralParts()
    {
        var w = TestData.World;
        var flower = w.EntitiesOf(SynthDomains.Get("flower"))[0];
        var car = w.EntitiesOf(SynthDomains.Get("car"))[0];
        Assert.Equal($"{flower.Attributes.BodyColor.Name} petals", SynthText.Phrase(flower, SynthAttributeKind.BodyColor));
        Assert.Matches("^an? [a-z]+ body$", SynthText.Phrase(car, SynthAttributeKind.BodyColor));
        Assert.Contains($"whose petals are {flower.Attributes.BodyColor.Name}", flower.KnowledgeText);
        Assert.Equal("no stripes", SynthText.Phrase(car with { Attributes = car.Attributes with { Stripes = 0 } }, SynthAttributeKind.Stripes));
        Assert.Equal("1 stripe", SynthText.Phrase(car with { Attributes = car.Attributes with { Stripes = 1 } }, SynthAttributeKind.Stripes));
        Assert.Equal("an orange body", SynthText.Phrase(car with { Attributes = car.Attributes with { BodyColor = SynthColor.FromName("orange") } }, SynthAttributeKind.BodyColor));
    }
}
