using DeepPerception.Data.Synth;

namespace DeepPerception.Data.Tests;

/// <summary>The position-cue diagnostic: a ramp on the background only, entities and boxes unchanged.</summary>
public sealed class PositionCueTests
{
    [Fact]
    public void The_ramp_raises_red_to_the_right_and_green_downwards_and_clips()
    {
        var image = new SynthImage(5, 3, new SynthColor("test", 100, 250, 7));
        image.AddPositionRamp(20);
        Assert.Equal((80, 230, 7), Rgb(image.GetPixel(0, 0)));
        Assert.Equal((100, 250, 7), Rgb(image.GetPixel(2, 1)));
        Assert.Equal((120, 255, 7), Rgb(image.GetPixel(4, 2))); // green clipped at 255
        var untouched = new SynthImage(5, 3, new SynthColor("test", 100, 250, 7));
        untouched.AddPositionRamp(0);
        Assert.All(Enumerable.Range(0, 5), x => Assert.Equal((100, 250, 7), Rgb(untouched.GetPixel(x, 0))));
        Assert.Throws<ArgumentOutOfRangeException>(() => image.AddPositionRamp(-1));
    }

    [Fact]
    public void With_the_cue_only_the_background_changes()
    {
        var world = SynthWorld.Create(5);
        var plain = new SynthGenerator(world).Generate(SynthDomains.All[0], 1, 4);
        var cued = new SynthGenerator(world, new SynthOptions { PositionCue = 30 }).Generate(SynthDomains.All[0], 1, 4);
        Assert.Equal(plain.Objects.Select(o => (o.Label, o.Box)), cued.Objects.Select(o => (o.Label, o.Box)));
        var changed = 0;
        for (var y = 0; y < plain.Image.Height; y++)
        {
            for (var x = 0; x < plain.Image.Width; x++)
            {
                var inside = plain.Objects.Any(o => x >= o.Box.X1 && x < o.Box.X2 && y >= o.Box.Y1 && y < o.Box.Y2);
                if (plain.Image.GetPixel(x, y) != cued.Image.GetPixel(x, y))
                {
                    changed++;
                    // A changed pixel inside a box is a background pixel the sprite left transparent.
                    Assert.True(!inside || plain.Image.GetPixel(x, y) == (plain.Background.R, plain.Background.G, plain.Background.B), $"entity pixel ({x},{y}) changed");
                }
            }
        }

        Assert.True(changed > plain.Image.Width * plain.Image.Height / 4, $"{changed} pixels changed");
        Assert.Throws<ArgumentException>(() => new SynthOptions { PositionCue = 65 }.Validate());
    }

    private static (int, int, int) Rgb((byte R, byte G, byte B) p) => (p.R, p.G, p.B);
}
