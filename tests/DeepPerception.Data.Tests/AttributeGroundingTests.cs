using DeepPerception.Data.Synth;
using DeepPerception.Data.Validation;
using DeepPerception.Kvg;

namespace DeepPerception.Data.Tests;

/// <summary>The generic attribute-grounding set.</summary>
public sealed class AttributeGroundingTests
{
    [Fact]
    public void Queries_NameTheTargetUniquely_WithoutEntityNames()
    {
        var g = new AttributeGroundingGenerator(9);
        var samples = g.Generate(0, 40).ToList();
        foreach (var s in samples)
        {
            Assert.Equal(AttributeGroundingGenerator.Category, s.Domain);
            Assert.StartsWith("the ", s.Target.Label);
            var t = s.Target.Shape!;
            Assert.Contains($"the {t.Color.Name} {t.Kind}", s.Target.Label);

            // No other shape fits the words of the query.
            foreach (var o in s.Objects.Where(o => o != s.Target))
            {
                var fits = s.Target.Label.StartsWith($"the {o.Shape!.Color.Name} {o.Shape.Kind}", StringComparison.Ordinal)
                           && (!s.Target.Label.Contains("stripe") || s.Target.Label.Contains(SynthText.StripePhrase(o.Shape.Stripes, false)))
                           && (!s.Target.Label.Contains("spots") || s.Target.Label.Contains(SynthText.SpotPhrase(o.Shape.Spotted)));
                Assert.False(fits, $"{s.Id}: '{s.Target.Label}' also fits {o.Shape.FullDescription}");
            }

            Assert.True(SynthTargets.CountWords(SynthTargets.Think(s)) <= SynthTargets.MaxThinkWords + 2);
            Assert.Contains(s.Answer, SynthTargets.Cot(s));
        }

        Assert.Contains(samples, s => s.Target.Label.Contains("stripe"));
        Assert.Contains(samples, s => s.Target.Label == $"the {s.Target.Shape!.Color.Name} {s.Target.Shape.Kind}");
        Assert.Equal(g.Generate(5).Image.Pixels, new AttributeGroundingGenerator(9).Generate(5).Image.Pixels);
    }

    [Fact]
    public void Dense_targets_list_every_shape_in_reading_order_with_its_full_description_and_box()
    {
        foreach (var s in new AttributeGroundingGenerator(4).Generate(0, 20))
        {
            var lines = AttributeGroundingGenerator.DenseTarget(s).Split('\n');
            var ordered = s.Objects.OrderBy(o => o.Row).ThenBy(o => o.Column).ToList();
            Assert.Equal(ordered.Count, lines.Length);
            for (var i = 0; i < lines.Length; i++)
            {
                var b = ordered[i].Box.ToGrid(s.Image.Width, s.Image.Height);
                Assert.Equal(KvgPrompts.NativeAnswer(ordered[i].Shape!.FullDescription, b.X1, b.Y1, b.X2, b.Y2), lines[i]);
                var parsed = KvgAnswerParser.Parse(lines[i]);
                Assert.Equal((b.X1, b.Y1, b.X2, b.Y2), ((int)parsed.X1, (int)parsed.Y1, (int)parsed.X2, (int)parsed.Y2));
            }
        }
    }

    [Fact]
    public void Export_WithItsKnowledge_Validates()
    {
        using var dir = new TempDir();
        var samples = new AttributeGroundingGenerator(2).Generate(0, 8).ToList();
        SynthExporter.ExportPlatform(samples, AttributeGroundingGenerator.Knowledge(samples), dir.Path);
        var report = new DatasetValidator().Validate(dir.Path);
        Assert.True(report.IsValid, string.Join("\n", report.Issues));
    }
}
