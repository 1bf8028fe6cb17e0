using DeepPerception.Data.Synth;
using DeepPerception.Data.Synthesis;
using DeepPerception.ML.Preprocessing.Images;

namespace DeepPerception.Data.Tests;

/// <summary>Composites of labelled images: boxes, pixels, layouts, determinism.</summary>
public sealed class CompositeTests
{
    private static readonly CompositeOptions Small = new() { MinCanvas = 224, MaxCanvas = 448, MinObjectSize = 64 };

    [Fact]
    public void Boxes_are_remapped_inside_the_canvas_and_entities_are_distinct()
    {
        var builder = new CompositeBuilder(SynthesisTestData.Noisy(), Small, seed: 3);
        Assert.Equal(["bird"], builder.Domains);
        foreach (var c in builder.BuildFirst(40))
        {
            var s = c.Sample;
            Assert.Equal("bird", s.Domain);
            Assert.InRange(s.Objects.Count, 2, 5);
            Assert.Equal(s.Objects.Count, s.Objects.Select(o => o.Label).Distinct().Count());
            Assert.Equal(s.Objects.Count, c.SourceIds.Count);
            foreach (var o in s.Objects)
            {
                Assert.True(o.Box.X1 >= 0 && o.Box.Y1 >= 0 && o.Box.X2 <= s.Image.Width && o.Box.Y2 <= s.Image.Height, $"{s.Id}: {o.Box} outside {s.Image.Width}x{s.Image.Height}");
                Assert.True(o.Box.Width > 0 && o.Box.Height > 0);
            }

            for (var i = 0; i < s.Objects.Count; i++)
            {
                for (var j = i + 1; j < s.Objects.Count; j++)
                {
                    Assert.False(s.Objects[i].Box.Overlaps(s.Objects[j].Box), $"{s.Id}: objects {i} and {j} overlap");
                }
            }

            var grid = s.TargetGridBox;
            Assert.InRange(grid.X1, 0, 1000);
            Assert.InRange(grid.X2, grid.X1, 1000);
        }
    }

    [Fact]
    public void Unscaled_crops_match_the_source_pixels_exactly()
    {
        var data = SynthesisTestData.Noisy();
        var builder = new CompositeBuilder(data, Small with { UpscaleCrops = false }, seed: 5);
        var byId = data.Images.ToDictionary(i => i.Id);
        foreach (var c in builder.BuildFirst(12))
        {
            var s = c.Sample;
            for (var i = 0; i < s.Objects.Count; i++)
            {
                var source = byId[c.SourceIds[i]];
                var crop = c.CropBoxes[i];
                Assert.Equal(builder.CropRegion(source), crop);
                Assert.Equal(source.Entity, s.Objects[i].Label);

                // Unscaled, the box is the source box translated: its offset is where the crop went.
                Assert.Equal(source.Box.Width, s.Objects[i].Box.Width);
                Assert.Equal(source.Box.Height, s.Objects[i].Box.Height);
                var left = s.Objects[i].Box.X1 - (source.Box.X1 - crop.X1);
                var top = s.Objects[i].Box.Y1 - (source.Box.Y1 - crop.Y1);
                for (var y = 0; y < crop.Height; y++)
                {
                    for (var x = 0; x < crop.Width; x++)
                    {
                        var (r, g, b) = s.Image.GetPixel(left + x, top + y);
                        Assert.Equal(source.Image[crop.X1 + x, crop.Y1 + y, 0], r);
                        Assert.Equal(source.Image[crop.X1 + x, crop.Y1 + y, 1], g);
                        Assert.Equal(source.Image[crop.X1 + x, crop.Y1 + y, 2], b);
                    }
                }
            }
        }
    }

    [Fact]
    public void Resized_crops_cover_their_remapped_boxes()
    {
        var data = SynthesisTestData.Uniform();
        var builder = new CompositeBuilder(data, Small, seed: 9);
        var scaled = 0;
        foreach (var c in builder.BuildFirst(12))
        {
            var s = c.Sample;
            for (var i = 0; i < s.Objects.Count; i++)
            {
                var entity = Array.IndexOf(SynthesisTestData.Birds, s.Objects[i].Label);
                var expected = SynthesisTestData.Color(entity);
                var box = s.Objects[i].Box;
                scaled += box.Width != data.Images[entity].Box.Width ? 1 : 0;
                for (var y = box.Y1; y < box.Y2; y++)
                {
                    for (var x = box.X1; x < box.X2; x++)
                    {
                        Assert.Equal(expected, s.Image.GetPixel(x, y));
                    }
                }
            }
        }

        Assert.True(scaled > 0, "some crops must have been resized");
    }

    [Fact]
    public void Composites_are_deterministic_and_use_all_four_layouts()
    {
        var data = SynthesisTestData.Noisy();
        var a = new CompositeBuilder(data, Small, seed: 11).BuildFirst(24).ToList();
        var b = new CompositeBuilder(data, Small, seed: 11).BuildFirst(24).ToList();
        var other = new CompositeBuilder(data, Small, seed: 12).BuildFirst(24).ToList();
        for (var i = 0; i < a.Count; i++)
        {
            Assert.Equal(a[i].Sample.Image.EncodePng(), b[i].Sample.Image.EncodePng());
            Assert.Equal(a[i].Sample.Objects.Select(o => (o.Label, o.Box)), b[i].Sample.Objects.Select(o => (o.Label, o.Box)));
            Assert.Equal(a[i].Sample.TargetIndex, b[i].Sample.TargetIndex);
        }

        Assert.Contains(Enumerable.Range(0, a.Count), i => !a[i].Sample.Image.Pixels.AsSpan().SequenceEqual(other[i].Sample.Image.Pixels));
        Assert.Equal(Enum.GetValues<SynthLayout>().ToHashSet(), a.Select(c => c.Sample.Layout).ToHashSet());
    }

    [Fact]
    public void Bad_input_is_refused_with_a_typed_error()
    {
        var knowledge = SynthesisTestData.Knowledge();
        var image = RgbImage.Filled(20, 20, 1, 2, 3);
        Assert.Throws<SynthesisInputException>(() => new LabelledImage("x", image, "Azure Tit", "bird", new PixelBox(5, 5, 25, 10)));
        Assert.Throws<SynthesisInputException>(() => new LabelledImage("x", image, "Azure Tit", "bird", new PixelBox(5, 5, 5, 10)));
        var e = Assert.Throws<SynthesisInputException>(() => new LabelledDataset([new LabelledImage("x", image, "Nobody", "bird", new PixelBox(1, 1, 9, 9))], knowledge));
        Assert.Contains("'Nobody'", e.Message);
        var lonely = new LabelledDataset([new LabelledImage("x", image, "Azure Tit", "bird", new PixelBox(1, 1, 9, 9))], knowledge);
        Assert.Throws<SynthesisInputException>(() => new CompositeBuilder(lonely, Small));
        Assert.Throws<ArgumentException>(() => new CompositeBuilder(SynthesisTestData.Noisy(), Small with { MaxObjects = 16, MaxCanvas = 224 }));
    }
}
