using DeepPerception.Data.Synth;
using DeepPerception.ML.Preprocessing.Images;

namespace DeepPerception.Data.Synthesis;

/// <summary>Input of the synthesis pipeline is unusable (a bad record, a missing image or knowledge entry).</summary>
public sealed class SynthesisInputException(string message, Exception? inner = null) : FormatException(message, inner);

/// <summary>One labelled image: a decoded image with one entity in it, its pixel box and its domain.</summary>
public sealed record LabelledImage
{
    /// <summary>Creates a labelled image, checking that the box lies inside the image.</summary>
    /// <exception cref="SynthesisInputException">An empty id, entity or domain, or a box that is empty or outside the image.</exception>
    public LabelledImage(string id, RgbImage image, string entity, string domain, PixelBox box)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (string.IsNullOrWhiteSpace(id) || string.IsNullOrWhiteSpace(entity) || string.IsNullOrWhiteSpace(domain))
        {
            throw new SynthesisInputException($"Labelled image '{id}' needs a non-empty id, entity and domain (got entity '{entity}', domain '{domain}').");
        }

        if (box.Width <= 0 || box.Height <= 0 || box.X1 < 0 || box.Y1 < 0 || box.X2 > image.Width || box.Y2 > image.Height)
        {
            throw new SynthesisInputException(
                $"Labelled image '{id}': box [{box.X1}, {box.Y1}, {box.X2}, {box.Y2}] is empty or outside the {image.Width}x{image.Height} image.");
        }

        Id = id;
        Image = image;
        Entity = entity;
        Domain = domain;
        Box = box;
    }

    /// <summary>The record id.</summary>
    public string Id { get; }

    /// <summary>The decoded RGB image.</summary>
    public RgbImage Image { get; }

    /// <summary>The entity shown in the box (a knowledge-base name).</summary>
    public string Entity { get; }

    /// <summary>The domain (category); composites mix only images of one domain.</summary>
    public string Domain { get; }

    /// <summary>The entity's box in pixels of <see cref="Image"/>.</summary>
    public PixelBox Box { get; }
}

/// <summary>Labelled images and the knowledge base that names what distinguishes each entity.</summary>
public sealed class LabelledDataset
{
    /// <summary>Creates a dataset; every entity must have a knowledge entry.</summary>
    /// <exception cref="SynthesisInputException">An entity has no knowledge entry, or there are no images.</exception>
    public LabelledDataset(IReadOnlyList<LabelledImage> images, IReadOnlyDictionary<string, SynthKnowledgeEntry> knowledge)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(knowledge);
        if (images.Count == 0)
        {
            throw new SynthesisInputException("The dataset has no labelled images.");
        }

        var missing = images.Select(i => i.Entity).Distinct(StringComparer.Ordinal).Where(e => !knowledge.ContainsKey(e)).Order(StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
        {
            throw new SynthesisInputException($"The knowledge base has no entry for {string.Join(", ", missing.Take(10).Select(m => $"'{m}'"))}{(missing.Count > 10 ? $" and {missing.Count - 10} more" : string.Empty)}.");
        }

        Images = images;
        Knowledge = knowledge;
    }

    /// <summary>The labelled images.</summary>
    public IReadOnlyList<LabelledImage> Images { get; }

    /// <summary>Entity name → domain, attributes and text.</summary>
    public IReadOnlyDictionary<string, SynthKnowledgeEntry> Knowledge { get; }
}
