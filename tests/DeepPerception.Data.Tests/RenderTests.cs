using DeepPerception.Data.Synth;

namespace DeepPerception.Data.Tests;

/// <summary>Entity drawings: distinct at 56×56 and primitives rasterised where expected.</summary>
public sealed class RenderTests
{
    [Fact]
    public void SiblingDrawings_DifferVisiblyAt56Pixels()
    {
        var w = TestData.World;
        foreach (var e in w.Entities)
        {
            var a = EntityRenderer.Render(e.Domain, e.Attributes, 56);
            foreach (var s in w.SiblingsOf(e))
            {
                var b = EntityRenderer.Render(s.Domain, s.Attributes, 56);
                var differing = 0;
                for (var i = 0; i < 56 * 56; i++)
                {
                    if (a.Owner[i] != b.Owner[i] || a.Rgb[3 * i] != b.Rgb[3 * i] || a.Rgb[(3 * i) + 1] != b.Rgb[(3 * i) + 1] || a.Rgb[(3 * i) + 2] != b.Rgb[(3 * i) + 2])
                    {
                        differing++;
                    }
                }

                // At least a 5×5 patch's worth of pixels: visible to a small vision model.
                Assert.True(differing >= 25, $"{e.Name} vs {s.Name} ({e.Domain.Name}, differing in {string.Join(",", e.Attributes.DifferingFrom(s.Attributes))}) differ in only {differing} pixels.");
            }
        }
    }

    [Fact]
    public void EveryAttributeChange_ChangesPixels_InEveryDomain()
    {
        var rng = new SynthRandom(5);
        foreach (var d in SynthDomains.All)
        {
            var baseAttrs = new SynthAttributes(SynthColor.Palette[0], SynthColor.Palette[5], 1, false, MarkerPosition.Left);
            var reference = EntityRenderer.Render(d, baseAttrs, 56);
            foreach (var kind in SynthAttributes.Kinds)
            {
                var changed = EntityRenderer.Render(d, baseAttrs.Mutate(kind, rng), 56);
                var diff = 0;
                for (var i = 0; i < reference.Rgb.Length; i++)
                {
                    diff += reference.Rgb[i] != changed.Rgb[i] ? 1 : 0;
                }

                Assert.True(diff >= 20, $"{d.Name}: changing {kind} changes only {diff} channel values.");
            }
        }
    }

    [Fact]
    public void Stripes_AppearAsSeparateBandsOnTheBody()
    {
        foreach (var stripes in new[] { 1, 2, 3 })
        {
            var attrs = new SynthAttributes(SynthColor.Palette[0], SynthColor.Palette[5], stripes, false, MarkerPosition.Top);
            var sprite = EntityRenderer.Render(SynthDomains.Get("car"), attrs, 112);

            // Scan the car body's row below the badge's top position: count runs of stripe-coloured pixels.
            var y = (int)(0.6 * 112);
            var runs = 0;
            var inRun = false;
            for (var x = 0; x < 112; x++)
            {
                var i = (y * 112) + x;
                var black = sprite.Owner[i] == 1 && sprite.Rgb[3 * i] == SynthColor.Stripe.R && sprite.Rgb[(3 * i) + 1] == SynthColor.Stripe.G;
                if (black && !inRun)
                {
                    runs++;
                }

                inRun = black;
            }

            Assert.Equal(stripes, runs);
        }
    }

    [Fact]
    public void Polygon_Rasterises_TriangleArea()
    {
        var filled = 0;
        new Polygon([0, 0, 1, 0, 0, 1]).Rasterize(100, (_, _) => filled++);
        Assert.InRange(filled, 4900, 5100);
        var ellipse = 0;
        new Ellipse(0.5, 0.5, 0.5, 0.5).Rasterize(100, (_, _) => ellipse++);
        Assert.InRange(ellipse, 7800, 7900);
    }

    [Fact]
    public void Render_RejectsTinySprites() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => EntityRenderer.Render(SynthDomains.All[0], TestData.World.Entities[0].Attributes, 8));
}
