using System.Globalization;
using DeepPerception.Checkpoints;
using DeepPerception.ML.Preprocessing.Images;
using DeepPerception.ML.Qwen2VL;

namespace DeepPerception.Cli.Commands;

/// <summary>
/// A parity case file read into plain arrays: <c>input_ids</c> [B,L], optional <c>attention_mask</c> [B,L],
/// <c>pixel_values</c> [N,1176] with <c>image_grid_thw</c> [I,3], <c>logits</c> [B,L,V], <c>generated_ids</c> [B,G] and
/// optional raw images (<c>raw_image_hwc_u8</c> or <c>raw_image{i}_hwc_u8</c>, uint8 HWC RGB, in image order).
/// </summary>
public sealed class ParityCase
{
    private ParityCase(string path)
    {
        Path = path;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>Batch size B.</summary>
    public int Batch { get; private init; }

    /// <summary>Prompt length L (padded).</summary>
    public int Length { get; private init; }

    /// <summary>Prompt ids, row-major [B,L].</summary>
    public long[] InputIds { get; private init; } = [];

    /// <summary>Attention mask [B,L], or null (all ones).</summary>
    public long[]? AttentionMask { get; private init; }

    /// <summary>Reference pixel values, row-major, or null for a text-only case.</summary>
    public float[]? PixelValues { get; private init; }

    /// <summary>Image grids in image order.</summary>
    public IReadOnlyList<ImageGrid> Grids { get; private init; } = [];

    /// <summary>Reference logits [B,L,V].</summary>
    public float[] Logits { get; private init; } = [];

    /// <summary>Reference greedy ids per row.</summary>
    public long[][] GeneratedIds { get; private init; } = [];

    /// <summary>Raw images in image order (may be empty).</summary>
    public IReadOnlyList<RgbImage> RawImages { get; private init; } = [];

    /// <summary>The id found at padded positions (0 when there are none).</summary>
    public long PadTokenId { get; private init; }

    /// <summary>Reads and checks a case file.</summary>
    /// <exception cref="CheckpointFormatException">A required tensor is missing or a shape is inconsistent.</exception>
    public static ParityCase Read(string path)
    {
        using var reader = SafetensorsReader.Open(path);
        SafetensorsEntry Entry(string name) => reader.Entries.TryGetValue(name, out var e)
            ? e
            : throw new CheckpointFormatException($"{path}: the case has no '{name}' tensor.");

        var ids = Entry("input_ids");
        if (ids.Shape.Length != 2)
        {
            throw new CheckpointFormatException($"{path}: 'input_ids' must be [batch, length], not [{string.Join(',', ids.Shape)}].");
        }

        var batch = checked((int)ids.Shape[0]);
        var length = checked((int)ids.Shape[1]);
        var inputIds = reader.ReadInt64("input_ids");

        long[]? mask = null;
        if (reader.Entries.TryGetValue("attention_mask", out var maskEntry))
        {
            if (!maskEntry.Shape.SequenceEqual(ids.Shape))
            {
                throw new CheckpointFormatException($"{path}: 'attention_mask' has shape [{string.Join(',', maskEntry.Shape)}] but 'input_ids' has [{string.Join(',', ids.Shape)}].");
            }

            mask = reader.ReadInt64("attention_mask");
        }

        float[]? pixels = null;
        var grids = new List<ImageGrid>();
        if (reader.Entries.ContainsKey("pixel_values"))
        {
            pixels = reader.ReadFloat32("pixel_values");
            var gridEntry = Entry("image_grid_thw");
            if (gridEntry.Shape.Length != 2 || gridEntry.Shape[1] != 3)
            {
                throw new CheckpointFormatException($"{path}: 'image_grid_thw' must be [images, 3].");
            }

            var g = reader.ReadInt64("image_grid_thw");
            for (var i = 0; i < gridEntry.Shape[0]; i++)
            {
                grids.Add(new ImageGrid((int)g[3 * i], (int)g[3 * i + 1], (int)g[3 * i + 2]));
            }

            var rows = grids.Sum(x => (long)x.T * x.H * x.W);
            if (rows == 0 || pixels.Length % rows != 0)
            {
                throw new CheckpointFormatException($"{path}: 'pixel_values' ({pixels.Length} values) does not fit the {rows} patch rows of 'image_grid_thw'.");
            }
        }

        var generatedEntry = Entry("generated_ids");
        if (generatedEntry.Shape.Length != 2 || generatedEntry.Shape[0] != batch)
        {
            throw new CheckpointFormatException($"{path}: 'generated_ids' must be [{batch}, n], not [{string.Join(',', generatedEntry.Shape)}].");
        }

        var generatedFlat = reader.ReadInt64("generated_ids");
        var n = (int)generatedEntry.Shape[1];
        var generated = Enumerable.Range(0, batch).Select(r => generatedFlat.AsSpan(r * n, n).ToArray()).ToArray();

        var logitsEntry = Entry("logits");
        if (logitsEntry.Shape.Length != 3 || logitsEntry.Shape[0] != batch || logitsEntry.Shape[1] != length)
        {
            throw new CheckpointFormatException($"{path}: 'logits' must be [{batch}, {length}, vocab], not [{string.Join(',', logitsEntry.Shape)}].");
        }

        long pad = 0;
        if (mask is not null)
        {
            var first = Array.FindIndex(mask, m => m == 0);
            pad = first >= 0 ? inputIds[first] : 0;
        }

        return new ParityCase(path)
        {
            Batch = batch,
            Length = length,
            InputIds = inputIds,
            AttentionMask = mask,
            PixelValues = pixels,
            Grids = grids,
            Logits = reader.ReadFloat32("logits"),
            GeneratedIds = generated,
            RawImages = ReadRawImages(reader, path),
            PadTokenId = pad,
        };
    }

    private static int NumberedImageIndex(string name)
    {
        const string prefix = "raw_image", suffix = "_hwc_u8";
        if (!name.StartsWith(prefix, StringComparison.Ordinal) || !name.EndsWith(suffix, StringComparison.Ordinal) || name.Length <= prefix.Length + suffix.Length)
        {
            return -1;
        }

        var digits = name[prefix.Length..^suffix.Length];
        return digits.All(char.IsAsciiDigit) && int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : -1;
    }

    private static List<RgbImage> ReadRawImages(SafetensorsReader reader, string path)
    {
        var names = new List<string>();
        if (reader.Entries.ContainsKey("raw_image_hwc_u8"))
        {
            names.Add("raw_image_hwc_u8");
        }

        // Numbered images in numeric order (raw_image0_hwc_u8, raw_image1_hwc_u8, …; numbering may start at 0 or 1).
        names.AddRange(reader.Entries.Keys
            .Select(k => (Name: k, Index: NumberedImageIndex(k)))
            .Where(x => x.Index >= 0)
            .OrderBy(x => x.Index)
            .Select(x => x.Name));

        return names.Select(name =>
        {
            var e = reader.Entries[name];
            if (e.DType != SafetensorsDType.U8 || e.Shape.Length != 3 || e.Shape[2] != 3)
            {
                throw new CheckpointFormatException($"{path}: '{name}' must be U8 [height, width, 3], not {e.DType} [{string.Join(',', e.Shape)}].");
            }

            return new RgbImage(checked((int)e.Shape[1]), checked((int)e.Shape[0]), reader.ReadBytes(name));
        }).ToList();
    }
}
