using System.Globalization;
using DeepPerception.Data.Synth;
using DeepPerception.ML.Preprocessing.Images;

namespace DeepPerception.Data.Synthesis;

/// <summary>Options of <see cref="CompositeBuilder"/>.</summary>
public sealed record CompositeOptions
{
    /// <summary>Fewest entities per composite (the paper: 2).</summary>
    public int MinObjects { get; init; } = 2;

    /// <summary>Most entities per composite (the paper: 6).</summary>
    public int MaxObjects { get; init; } = 6;

    /// <summary>Smallest canvas side in pixels.</summary>
    public int MinCanvas { get; init; } = 448;

    /// <summary>Largest canvas side in pixels.</summary>
    public int MaxCanvas { get; init; } = 896;

    /// <summary>Canvas sides are <see cref="MinCanvas"/> plus multiples of this step (28 = Qwen2-VL's merged patch).</summary>
    public int CanvasStep { get; init; } = 28;

    /// <summary>Smallest slot side a crop is fitted into.</summary>
    public int MinObjectSize { get; init; } = 112;

    /// <summary>Margin added around each labelled box before cropping, as a fraction of the box's width and height.</summary>
    public double CropMargin { get; init; } = 0.1;

    /// <summary>Whether crops smaller than their slot are enlarged to fit it (bicubic); otherwise they keep their size.</summary>
    public bool UpscaleCrops { get; init; } = true;

    /// <summary>Layouts to draw from (the paper's four by default).</summary>
    public IReadOnlyList<SynthLayout> Layouts { get; init; } = Enum.GetValues<SynthLayout>();

    /// <summary>Canvas fill colour.</summary>
    public SynthColor Background { get; init; } = new("grey", 114, 114, 114);

    /// <summary>Identifier prefix of the composites (<c>{prefix}-{index:D6}</c>).</summary>
    public string IdPrefix { get; init; } = "composite";

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option that cannot produce composites.</summary>
    public void Validate()
    {
        if (MinObjects < 2 || MaxObjects < MinObjects)
        {
            throw new ArgumentException($"Invalid object count range {MinObjects}..{MaxObjects} (2 or more).");
        }

        if (MinCanvas < 32 || MaxCanvas < MinCanvas || CanvasStep <= 0)
        {
            throw new ArgumentException($"Invalid canvas range {MinCanvas}..{MaxCanvas} step {CanvasStep}.");
        }

        var columns = (int)Math.Ceiling(Math.Sqrt(MaxObjects));
        if (MinObjectSize < 8 || MaxCanvas / columns < MinObjectSize + 4)
        {
            throw new ArgumentException($"A {MaxCanvas}-pixel canvas cannot hold a {columns}-column grid of {MinObjectSize}-pixel slots; lower MinObjectSize or MaxObjects.");
        }

        if (double.IsNaN(CropMargin) || CropMargin < 0 || CropMargin > 1)
        {
            throw new ArgumentException($"CropMargin {CropMargin} must lie in [0, 1].");
        }

        if (Layouts.Count == 0)
        {
            throw new ArgumentException("At least one layout is required.");
        }

        if (string.IsNullOrWhiteSpace(IdPrefix))
        {
            throw new ArgumentException("IdPrefix must not be empty.");
        }
    }

    internal CanvasSettings Canvas => new(MinCanvas, MaxCanvas, CanvasStep, MinObjectSize);
}

/// <summary>A composite: the sample (image, every object's entity and box, the target) and the source record of each object.</summary>
/// <param name="Sample">The composited image with its objects; <see cref="SynthObject.Label"/> is the entity name.</param>
/// <param name="SourceIds">The labelled-image id each object was cropped from, in <see cref="SynthSample.Objects"/> order.</param>
/// <param name="CropBoxes">The source pixel region each object was cropped from (the labelled box plus the margin).</param>
public sealed record Composite(SynthSample Sample, IReadOnlyList<string> SourceIds, IReadOnlyList<PixelBox> CropBoxes);

/// <summary>
/// The paper's multi-entity composition for any labelled images: crops each entity with a margin, places 2–6 crops of
/// distinct entities of one domain on a canvas with one of the four layouts (<see cref="LayoutPlanner"/>, shared with
/// KVG-Synth), fits each crop into its slot keeping its aspect ratio (Pillow-exact bicubic), remaps every box and picks
/// the target. Composite <c>i</c> depends only on the dataset, the options, the seed and <c>i</c>.
/// </summary>
public sealed class CompositeBuilder
{
    private readonly LabelledDataset _dataset;
    private readonly List<(string Domain, List<List<LabelledImage>> Entities)> _domains;

    /// <summary>Creates a builder over a dataset.</summary>
    /// <exception cref="SynthesisInputException">No domain has at least <see cref="CompositeOptions.MinObjects"/> distinct entities.</exception>
    public CompositeBuilder(LabelledDataset dataset, CompositeOptions? options = null, int seed = 0)
    {
        _dataset = dataset ?? throw new ArgumentNullException(nameof(dataset));
        Options = options ?? new CompositeOptions();
        Options.Validate();
        Seed = seed;
        _domains = dataset.Images
            .GroupBy(i => i.Domain, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => (g.Key, g.GroupBy(i => i.Entity, StringComparer.Ordinal).OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => e.ToList()).ToList()))
            .Where(d => d.Item2.Count >= Options.MinObjects)
            .ToList();
        if (_domains.Count == 0)
        {
            throw new SynthesisInputException(
                $"No domain has {Options.MinObjects} or more distinct entities to composite (domains: " +
                string.Join(", ", dataset.Images.GroupBy(i => i.Domain).Select(g => $"{g.Key}: {g.Select(i => i.Entity).Distinct().Count()}")) + ").");
        }
    }

    /// <summary>The composition options.</summary>
    public CompositeOptions Options { get; }

    /// <summary>The seed.</summary>
    public int Seed { get; }

    /// <summary>The domains that have enough distinct entities, in ordinal order.</summary>
    public IReadOnlyList<string> Domains => _domains.Select(d => d.Domain).ToList();

    /// <summary>Composites 0 … <paramref name="count"/> − 1.</summary>
    public IEnumerable<Composite> BuildFirst(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        for (var i = 0; i < count; i++)
        {
            yield return Build(i);
        }
    }

    /// <summary>Composite number <paramref name="index"/>; the domains take turns, so every eligible domain is used.</summary>
    public Composite Build(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        var rng = new SynthRandom(SynthRandom.Mix(Seed, index, 0x636F6D70));
        var (domain, entities) = _domains[index % _domains.Count];
        var count = rng.Next(Options.MinObjects, Math.Min(Options.MaxObjects, entities.Count) + 1);
        var order = Enumerable.Range(0, entities.Count).ToList();
        rng.Shuffle(order);
        var chosen = order.Take(count).Select(e => rng.Pick(entities[e])).ToList();
        var targetIndex = rng.Next(count);

        var plan = LayoutPlanner.Plan(rng, Options.Canvas, count, rng.Pick(Options.Layouts));
        var canvas = new SynthImage(plan.Width, plan.Height, Options.Background);
        var objects = new SynthObject[count];
        var crops = new PixelBox[count];
        for (var i = 0; i < count; i++)
        {
            var (box, crop) = Place(canvas, chosen[i], plan.Slots[i]);
            objects[i] = new SynthObject(chosen[i].Entity, box, plan.Slots[i].Row, plan.Slots[i].Column, null, null);
            crops[i] = crop;
        }

        var id = string.Create(CultureInfo.InvariantCulture, $"{Options.IdPrefix}-{index:D6}");
        var sample = new SynthSample(id, domain, plan.Layout, plan.Rows, plan.Columns, canvas, Options.Background, objects, targetIndex);
        return new Composite(sample, chosen.Select(c => c.Id).ToList(), crops);
    }

    /// <summary>The region cropped around a labelled box: the box grown by the margin on every side, clipped to the image.</summary>
    public PixelBox CropRegion(LabelledImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var b = image.Box;
        var mx = (int)Math.Round(b.Width * Options.CropMargin);
        var my = (int)Math.Round(b.Height * Options.CropMargin);
        return new PixelBox(Math.Max(0, b.X1 - mx), Math.Max(0, b.Y1 - my), Math.Min(image.Image.Width, b.X2 + mx), Math.Min(image.Image.Height, b.Y2 + my));
    }

    private (PixelBox Box, PixelBox Crop) Place(SynthImage canvas, LabelledImage source, Slot slot)
    {
        var crop = CropRegion(source);
        var cw = crop.Width;
        var ch = crop.Height;
        var scale = Math.Min(slot.Side / (double)cw, slot.Side / (double)ch);
        if (!Options.UpscaleCrops)
        {
            scale = Math.Min(scale, 1.0);
        }

        var w = Math.Clamp((int)Math.Round(cw * scale), 1, slot.Side);
        var h = Math.Clamp((int)Math.Round(ch * scale), 1, slot.Side);
        var pixels = Crop(source.Image, crop);
        if (w != cw || h != ch)
        {
            pixels = PillowResampler.ResizeBicubic(pixels, w, h);
        }

        var left = slot.Left + ((slot.Side - w) / 2);
        var top = slot.Top + ((slot.Side - h) / 2);
        for (var y = 0; y < h; y++)
        {
            Buffer.BlockCopy(pixels.Pixels, y * w * 3, canvas.Pixels, (((top + y) * canvas.Width) + left) * 3, w * 3);
        }

        var sx = w / (double)cw;
        var sy = h / (double)ch;
        var b = source.Box;
        var x1 = left + (int)Math.Round((b.X1 - crop.X1) * sx);
        var y1 = top + (int)Math.Round((b.Y1 - crop.Y1) * sy);
        var x2 = left + (int)Math.Round((b.X2 - crop.X1) * sx);
        var y2 = top + (int)Math.Round((b.Y2 - crop.Y1) * sy);
        x2 = Math.Clamp(Math.Max(x2, x1 + 1), left + 1, left + w);
        y2 = Math.Clamp(Math.Max(y2, y1 + 1), top + 1, top + h);
        x1 = Math.Min(x1, x2 - 1);
        y1 = Math.Min(y1, y2 - 1);
        return (new PixelBox(x1, y1, x2, y2), crop);
    }

    private static RgbImage Crop(RgbImage image, PixelBox region)
    {
        var pixels = new byte[region.Width * region.Height * 3];
        for (var y = 0; y < region.Height; y++)
        {
            Buffer.BlockCopy(image.Pixels, (((region.Y1 + y) * image.Width) + region.X1) * 3, pixels, y * region.Width * 3, region.Width * 3);
        }

        return new RgbImage(region.Width, region.Height, pixels);
    }
}
