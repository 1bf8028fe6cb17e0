using DeepPerception.Data.Synth;
using SixLabors.ImageSharp;

namespace DeepPerception.Data.Tests;

/// <summary>Writes preview PNGs (to DP_SYNTH_PREVIEW_DIR when set, else a temporary folder) and checks they decode.</summary>
public sealed class PreviewTests
{
    [Fact]
    public void PreviewImages_AreWrittenAndDecode()
    {
        var target = Environment.GetEnvironmentVariable("DP_SYNTH_PREVIEW_DIR");
        using var temp = new TempDir();
        var dir = string.IsNullOrEmpty(target) ? temp.Path : target;
        Directory.CreateDirectory(dir);
        var generator = new SynthGenerator(TestData.World);
        foreach (var (domain, i) in SynthDomains.All.Select((d, i) => (d, i)))
        {
            var s = generator.Generate(domain, 77, i);
            var path = Path.Combine(dir, $"{s.Id}-{SynthExporter.LayoutName(s.Layout)}.png");
            File.WriteAllBytes(path, s.Image.EncodePng());
            File.WriteAllText(Path.ChangeExtension(path, ".txt"), s.Query + "\n" + SynthTargets.Cot(s) + "\n" + string.Join("\n", s.Objects.Select(o => $"{o.Label} {o.Box} :: {o.Entity!.KnowledgeText}")));
            using var img = Image.Load(path);
            Assert.Equal((s.Image.Width, s.Image.Height), (img.Width, img.Height));
        }

        // A sheet of every entity of the first family per domain at 56 px.
        var sheet = new SynthImage(56 * 4 + 10, 56 * 10 + 20, SynthColor.Backgrounds[0]);
        for (var d = 0; d < 10; d++)
        {
            var family = TestData.World.EntitiesOf(SynthDomains.All[d]).Take(4).ToArray();
            for (var k = 0; k < 4; k++)
            {
                EntityRenderer.Render(SynthDomains.All[d], family[k].Attributes, 56).PasteInto(sheet, (k * 58) + 2, (d * 58) + 2);
            }
        }

        File.WriteAllBytes(Path.Combine(dir, "families-56px.png"), sheet.EncodePng());
        var shapes = new AttributeGroundingGenerator(1).Generate(0);
        File.WriteAllBytes(Path.Combine(dir, "shapes-0.png"), shapes.Image.EncodePng());
        File.WriteAllText(Path.Combine(dir, "shapes-0.txt"), shapes.Query + "\n" + SynthTargets.Cot(shapes));
        Assert.True(File.Exists(Path.Combine(dir, "families-56px.png")));
    }
}
