using DeepPerception.Data.Synth;
using DeepPerception.Data.Synthesis;
using DeepPerception.ML.Preprocessing.Images;

namespace DeepPerception.Data.Tests;

/// <summary>Small labelled datasets for the synthesis tests.</summary>
internal static class SynthesisTestData
{
    public static readonly string[] Birds = ["Azure Tit", "Crimson Finch", "Golden Oriole", "Snow Bunting", "Grey Heron"];

    /// <summary>
    /// Five bird entities with two noisy photos each (boxes not touching the border), one car entity (too few to
    /// composite), and a knowledge base with named attributes.
    /// </summary>
    public static LabelledDataset Noisy(int width = 60, int height = 44)
    {
        var images = new List<LabelledImage>();
        var rng = new SynthRandom(1234);
        for (var e = 0; e < Birds.Length; e++)
        {
            for (var n = 0; n < 2; n++)
            {
                var pixels = new byte[width * height * 3];
                for (var i = 0; i < pixels.Length; i++)
                {
                    pixels[i] = (byte)rng.Next(256);
                }

                var box = new PixelBox(8 + n, 6, width - 9, height - 7 + n);
                images.Add(new LabelledImage($"bird-{e}-{n}", new RgbImage(width, height, pixels), Birds[e], "bird", box));
            }
        }

        images.Add(new LabelledImage("car-0", RgbImage.Filled(50, 40, 10, 10, 10), "Roadster", "car", new PixelBox(5, 5, 45, 35)));
        return new LabelledDataset(images, Knowledge());
    }

    /// <summary>Five bird entities, each photo filled with its own colour.</summary>
    public static LabelledDataset Uniform(int width = 90, int height = 70)
    {
        var images = Birds.Select((b, e) =>
            new LabelledImage($"u-{e}", RgbImage.Filled(width, height, Color(e).R, Color(e).G, Color(e).B), b, "bird", new PixelBox(10, 12, width - 15, height - 9)))
            .ToList();
        return new LabelledDataset(images, Knowledge());
    }

    public static (byte R, byte G, byte B) Color(int entity) => ((byte)(40 + (entity * 40)), (byte)(200 - (entity * 30)), (byte)(17 * (entity + 1)));

    public static IReadOnlyDictionary<string, SynthKnowledgeEntry> Knowledge()
    {
        var colours = new[] { "blue", "red", "yellow", "white", "grey" };
        var dict = Birds.Select((b, i) => (b, new SynthKnowledgeEntry("bird",
                new Dictionary<string, string> { ["crest"] = i % 2 == 0 ? "short" : "long", ["plumage"] = colours[i] },
                $"The {b} is a small bird with {colours[i]} plumage. It lives in woods.")))
            .ToDictionary(x => x.b, x => x.Item2, StringComparer.Ordinal);
        dict["Roadster"] = new SynthKnowledgeEntry("car", new Dictionary<string, string> { ["doors"] = "two" }, "A two-door open car.");
        return dict;
    }
}
