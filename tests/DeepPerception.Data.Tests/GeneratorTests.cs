using DeepPerception.Data.Synth;

namespace DeepPerception.Data.Tests;

/// <summary>Composition: determinism, boxes matching drawn pixels, layouts, sizes.</summary>
public sealed class GeneratorTests
{
    [Fact]
    public void SameSeed_GivesByteIdenticalImagesAndBoxes()
    {
        var g1 = new SynthGenerator(SynthWorld.Create(11));
        var g2 = new SynthGenerator(SynthWorld.Create(11));
        for (var i = 0; i < 12; i++)
        {
            var d = SynthDomains.All[i % 10];
            var a = g1.Generate(d, 3, i);
            var b = g2.Generate(d, 3, i);
            Assert.Equal(a.Id, b.Id);
            Assert.Equal(a.Image.Pixels, b.Image.Pixels);
            Assert.Equal(a.Image.EncodePng(), b.Image.EncodePng());
            Assert.Equal(a.Objects.Select(o => (o.Label, o.Box)), b.Objects.Select(o => (o.Label, o.Box)));
            Assert.Equal(a.Query, b.Query);
            Assert.Equal(SynthTargets.Cot(a), SynthTargets.Cot(b));
        }

        var other = new SynthGenerator(SynthWorld.Create(12)).Generate(SynthDomains.All[0], 3, 0);
        Assert.NotEqual(g1.Generate(SynthDomains.All[0], 3, 0).Image.Pixels, other.Image.Pixels);
    }

    [Fact]
    public void Boxes_LieInsideCanvas_AndTightlyEnclose_TheDrawnPixels()
    {
        foreach (var s in TestData.Samples(60))
        {
            var img = s.Image;
            foreach (var o in s.Objects)
            {
                Assert.True(o.Box.X1 >= 0 && o.Box.Y1 >= 0 && o.Box.X2 <= img.Width && o.Box.Y2 <= img.Height, $"{s.Id}: {o.Box} outside {img.Width}x{img.Height}");
                Assert.True(o.Box.Width > 0 && o.Box.Height > 0);
                foreach (var other in s.Objects.Where(x => x != o))
                {
                    Assert.False(o.Box.Overlaps(other.Box), $"{s.Id}: boxes {o.Box} and {other.Box} overlap");
                }
            }

            // Every non-background pixel lies in some box.
            var bg = s.Background;
            for (var y = 0; y < img.Height; y++)
            {
                for (var x = 0; x < img.Width; x++)
                {
                    var (r, g, b) = img.GetPixel(x, y);
                    if (r != bg.R || g != bg.G || b != bg.B)
                    {
                        Assert.True(s.Objects.Any(o => o.Box.Contains(x, y)), $"{s.Id}: drawn pixel ({x},{y}) outside every box");
                    }
                }
            }

            // Each box is tight: each of its four edges touches a drawn pixel.
            foreach (var o in s.Objects)
            {
                bool Drawn(int x, int y)
                {
                    var (r, g, b) = img.GetPixel(x, y);
                    return r != bg.R || g != bg.G || b != bg.B;
                }

                Assert.Contains(Enumerable.Range(o.Box.Y1, o.Box.Height), y => Drawn(o.Box.X1, y));
                Assert.Contains(Enumerable.Range(o.Box.Y1, o.Box.Height), y => Drawn(o.Box.X2 - 1, y));
                Assert.Contains(Enumerable.Range(o.Box.X1, o.Box.Width), x => Drawn(x, o.Box.Y1));
                Assert.Contains(Enumerable.Range(o.Box.X1, o.Box.Width), x => Drawn(x, o.Box.Y2 - 1));
            }
        }
    }

    [Fact]
    public void Samples_HaveTwoToSixDistinctSameDomainEntities_AndValidSizes()
    {
        var options = new SynthOptions();
        foreach (var s in TestData.Samples(60))
        {
            Assert.InRange(s.Objects.Count, 2, 6);
            Assert.All(s.Objects, o => Assert.Equal(s.Domain, o.Entity!.Domain.Name));
            Assert.Equal(s.Objects.Count, s.Objects.Select(o => o.Label).Distinct().Count());
            Assert.InRange(s.Image.Width, options.MinCanvas, options.MaxCanvas);
            Assert.InRange(s.Image.Height, options.MinCanvas, options.MaxCanvas);
            Assert.Equal(0, (s.Image.Width - options.MinCanvas) % options.CanvasStep);
            Assert.Equal(0, (s.Image.Height - options.MinCanvas) % options.CanvasStep);
            Assert.All(s.Objects, o => Assert.True(Math.Max(o.Box.Width, o.Box.Height) >= 0.8 * options.MinEntitySize, $"{s.Id}: {o.Label} box {o.Box} is too small"));
            Assert.Contains(s.Target, s.Objects);
            Assert.Equal(SynthText.Query(s.Target.Label), s.Query);
            Assert.StartsWith("Find and give the bounding box of <|object_ref_start|>", s.Query);
        }
    }

    [Fact]
    public void AllFourLayouts_AreUsed_AndCellsMatchTheLayout()
    {
        var samples = TestData.Samples(80).ToList();
        Assert.Equal(Enum.GetValues<SynthLayout>().Order(), samples.Select(s => s.Layout).Distinct().Order());
        foreach (var s in samples)
        {
            switch (s.Layout)
            {
                case SynthLayout.HorizontalConcat:
                    Assert.Equal((1, s.Objects.Count), (s.Rows, s.Columns));
                    var byX = s.Objects.OrderBy(o => o.Box.X1).Select(o => o.Column).ToArray();
                    Assert.Equal(Enumerable.Range(0, s.Objects.Count), byX);
                    break;
                case SynthLayout.VerticalConcat:
                    Assert.Equal((s.Objects.Count, 1), (s.Rows, s.Columns));
                    Assert.Equal(Enumerable.Range(0, s.Objects.Count), s.Objects.OrderBy(o => o.Box.Y1).Select(o => o.Row));
                    break;
                case SynthLayout.Grid:
                    Assert.True(s.Rows * s.Columns >= s.Objects.Count);
                    Assert.All(s.Objects, o =>
                    {
                        Assert.InRange((o.Box.X1 + o.Box.X2) / 2 * s.Columns / s.Image.Width, o.Column, o.Column);
                        Assert.InRange((o.Box.Y1 + o.Box.Y2) / 2 * s.Rows / s.Image.Height, o.Row, o.Row);
                    });
                    break;
                default:
                    Assert.All(s.Objects, o => Assert.Equal((-1, -1), (o.Row, o.Column)));
                    break;
            }
        }
    }

    [Fact]
    public void SiblingBias_PutsFamilyMembersNextToTheTarget()
    {
        var g = new SynthGenerator(TestData.World, new SynthOptions { SiblingBias = 1.0, MinEntities = 3, MaxEntities = 3 });
        for (var i = 0; i < 20; i++)
        {
            var s = g.Generate(SynthDomains.All[i % 10], 5, i);
            Assert.All(s.Objects, o => Assert.Equal(s.Target.Entity!.Family, o.Entity!.Family));
        }
    }

    [Fact]
    public void Options_AreValidated()
    {
        Assert.Throws<ArgumentException>(() => new SynthGenerator(TestData.World, new SynthOptions { MinEntities = 1 }));
        Assert.Throws<ArgumentException>(() => new SynthGenerator(TestData.World, new SynthOptions { MaxCanvas = 100 }));
        Assert.Throws<ArgumentException>(() => new SynthGenerator(TestData.World, new SynthOptions { Layouts = [] }));
        Assert.Throws<ArgumentException>(() => new SynthGenerator(TestData.World, new SynthOptions { SiblingBias = double.NaN }));
    }

    [Fact]
    public void RestrictedLayouts_AreHonoured_OrFallBackToGrid()
    {
        var g = new SynthGenerator(TestData.World, new SynthOptions { Layouts = [SynthLayout.HorizontalConcat] });
        for (var i = 0; i < 20; i++)
        {
            var s = g.Generate(SynthDomains.All[i % 10], 6, i);
            Assert.True(s.Layout == SynthLayout.HorizontalConcat || (s.Layout == SynthLayout.Grid && s.Objects.Count * 60 > 448), $"{s.Id}: {s.Layout} with {s.Objects.Count}");
        }
    }

    [Theory]
    [InlineData(0, 224, 0)]
    [InlineData(224, 224, 1000)]
    [InlineData(112, 224, 500)]
    [InlineData(1, 448, 2)]
    [InlineData(1, 16, 62)]
    [InlineData(3, 16, 187)]
    [InlineData(100, 300, 333)]
    [InlineData(200, 300, 666)]
    public void GridValue_IsFlooredPixelTimes1000OverSize(int pixel, int size, int expected) =>
        Assert.Equal(expected, GridBox.ToGridValue(pixel, size));

    [Fact]
    public void SynthRandom_IsReproducible()
    {
        var a = new SynthRandom(42);
        var b = new SynthRandom(42);
        Assert.Equal(Enumerable.Range(0, 50).Select(_ => a.NextUInt64()), Enumerable.Range(0, 50).Select(_ => b.NextUInt64()));

        // SplitMix64's published first outputs for seed 0.
        var zero = new SynthRandom(0);
        Assert.Equal(0xE220A8397B1DCDAFUL, zero.NextUInt64());
        Assert.Equal(0x6E789E6AA1B965F4UL, zero.NextUInt64());
    }
}
