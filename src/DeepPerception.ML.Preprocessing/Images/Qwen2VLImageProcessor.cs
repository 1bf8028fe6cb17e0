using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DeepPerception.ML.Preprocessing.Images;

/// <summary>Settings of <see cref="Qwen2VLImageProcessor"/>; defaults match the Qwen2-VL-7B-Instruct checkpoint.</summary>
public sealed record Qwen2VLImageProcessorOptions
{
    /// <summary>OpenAI CLIP per-channel mean (R, G, B).</summary>
    public static IReadOnlyList<double> ClipMean { get; } = [0.48145466, 0.4578275, 0.40821073];

    /// <summary>OpenAI CLIP per-channel standard deviation (R, G, B).</summary>
    public static IReadOnlyList<double> ClipStd { get; } = [0.26862954, 0.26130258, 0.27577711];

    /// <summary><c>max_pixels</c> of the released checkpoints' <c>preprocessor_config.json</c>: 12845056 (16384 tokens).</summary>
    public const int CheckpointMaxPixels = 12845056;

    /// <summary><c>max_pixels</c> used by DeepPerception training (SFT and GRPO): 401408 (512 tokens).</summary>
    public const int TrainingMaxPixels = 401408;

    /// <summary>Lower bound on the resized area (<c>min_pixels</c>).</summary>
    public int MinPixels { get; init; } = SmartResize.DefaultMinPixels;

    /// <summary>Upper bound on the resized area (<c>max_pixels</c>).</summary>
    public int MaxPixels { get; init; } = CheckpointMaxPixels;

    /// <summary>Vision patch side in pixels.</summary>
    public int PatchSize { get; init; } = 14;

    /// <summary>Spatial merge size (patches merged per side into one language-model token).</summary>
    public int MergeSize { get; init; } = 2;

    /// <summary>Frames per temporal patch; a still image is repeated this many times.</summary>
    public int TemporalPatchSize { get; init; } = 2;

    /// <summary>Whether to resize with <see cref="SmartResize"/> (otherwise sides must already be multiples of patch × merge).</summary>
    public bool DoResize { get; init; } = true;

    /// <summary>Per-channel mean subtracted after rescaling by 1/255.</summary>
    public IReadOnlyList<double> ImageMean { get; init; } = ClipMean;

    /// <summary>Per-channel standard deviation divided after subtracting the mean.</summary>
    public IReadOnlyList<double> ImageStd { get; init; } = ClipStd;

    /// <summary>Side length that resized images are multiples of (patch × merge, 28 by default).</summary>
    public int Factor => PatchSize * MergeSize;

    /// <summary>Values per <c>pixel_values</c> row: 3 × temporal × patch × patch (1176 by default).</summary>
    public int RowLength => 3 * TemporalPatchSize * PatchSize * PatchSize;

    /// <summary>Throws <see cref="ArgumentException"/> describing the first invalid setting.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(PatchSize, nameof(PatchSize));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MergeSize, nameof(MergeSize));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(TemporalPatchSize, nameof(TemporalPatchSize));
        ArgumentOutOfRangeException.ThrowIfNegative(MinPixels, nameof(MinPixels));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxPixels, nameof(MaxPixels));
        if (MinPixels > MaxPixels)
        {
            throw new ArgumentException($"MinPixels ({MinPixels}) exceeds MaxPixels ({MaxPixels}).");
        }

        if (ImageMean is null || ImageMean.Count != 3 || ImageStd is null || ImageStd.Count != 3)
        {
            throw new ArgumentException("ImageMean and ImageStd must hold exactly 3 values (R, G, B).");
        }

        foreach (double s in ImageStd)
        {
            if (!(s > 0) || double.IsInfinity(s))
            {
                throw new ArgumentException($"ImageStd values must be positive and finite; got {s}.");
            }
        }
    }
}

/// <summary>The model input for one image: flattened patches and their grid.</summary>
public sealed class ProcessedImage
{
    /// <summary>Creates the result (normally produced by <see cref="Qwen2VLImageProcessor"/>).</summary>
    public ProcessedImage(
        float[] pixelValues, int rowLength, int gridT, int gridH, int gridW, int mergeSize,
        int resizedHeight, int resizedWidth, int originalHeight, int originalWidth)
    {
        ArgumentNullException.ThrowIfNull(pixelValues);
        if (pixelValues.Length != (long)gridT * gridH * gridW * rowLength)
        {
            throw new ArgumentException(
                $"pixelValues holds {pixelValues.Length} values, expected {gridT}x{gridH}x{gridW} rows of {rowLength}.",
                nameof(pixelValues));
        }

        PixelValues = pixelValues;
        RowLength = rowLength;
        GridT = gridT;
        GridH = gridH;
        GridW = gridW;
        MergeSize = mergeSize;
        ResizedHeight = resizedHeight;
        ResizedWidth = resizedWidth;
        OriginalHeight = originalHeight;
        OriginalWidth = originalWidth;
    }

    /// <summary>
    /// Row-major [Rows, RowLength] values (Hugging Face <c>pixel_values</c>): rows in merge-window order, each row
    /// ordered (channel, frame, y, x).
    /// </summary>
    public float[] PixelValues { get; }

    /// <summary>Values per row (1176 for 3 channels, 2 frames, 14 × 14 patches).</summary>
    public int RowLength { get; }

    /// <summary>Number of rows (= patches = GridT × GridH × GridW).</summary>
    public int Rows => GridT * GridH * GridW;

    /// <summary>Temporal grid size (1 for a still image).</summary>
    public int GridT { get; }

    /// <summary>Patch rows.</summary>
    public int GridH { get; }

    /// <summary>Patch columns.</summary>
    public int GridW { get; }

    /// <summary>Spatial merge size used to form tokens.</summary>
    public int MergeSize { get; }

    /// <summary>Height after resizing.</summary>
    public int ResizedHeight { get; }

    /// <summary>Width after resizing.</summary>
    public int ResizedWidth { get; }

    /// <summary>Height of the input image.</summary>
    public int OriginalHeight { get; }

    /// <summary>Width of the input image.</summary>
    public int OriginalWidth { get; }

    /// <summary>Number of <c>&lt;|image_pad|&gt;</c> tokens the image occupies: GridT × GridH × GridW / merge².</summary>
    public int TokenCount => GridT * GridH * GridW / (MergeSize * MergeSize);
}

/// <summary>Several processed images concatenated as the model expects them (HF <c>pixel_values</c>, <c>image_grid_thw</c>).</summary>
public sealed class ProcessedImageBatch
{
    /// <summary>Concatenates <paramref name="images"/> in order.</summary>
    public ProcessedImageBatch(IReadOnlyList<ProcessedImage> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0)
        {
            throw new ArgumentException("A batch needs at least one image.", nameof(images));
        }

        int rowLength = images[0].RowLength;
        long total = 0;
        foreach (ProcessedImage image in images)
        {
            if (image.RowLength != rowLength)
            {
                throw new ArgumentException("All images in a batch must have the same row length.", nameof(images));
            }

            total += image.PixelValues.Length;
        }

        var values = new float[checked((int)total)];
        var grid = new int[images.Count * 3];
        int offset = 0;
        for (int i = 0; i < images.Count; i++)
        {
            images[i].PixelValues.CopyTo(values, offset);
            offset += images[i].PixelValues.Length;
            grid[i * 3] = images[i].GridT;
            grid[(i * 3) + 1] = images[i].GridH;
            grid[(i * 3) + 2] = images[i].GridW;
        }

        Images = images;
        PixelValues = values;
        GridThw = grid;
        RowLength = rowLength;
    }

    /// <summary>The individual results.</summary>
    public IReadOnlyList<ProcessedImage> Images { get; }

    /// <summary>All rows of all images, row-major [Rows, RowLength].</summary>
    public float[] PixelValues { get; }

    /// <summary>Row-major [images, 3] grid (t, h, w) per image (HF <c>image_grid_thw</c>).</summary>
    public int[] GridThw { get; }

    /// <summary>Values per row.</summary>
    public int RowLength { get; }

    /// <summary>Total rows.</summary>
    public int Rows => PixelValues.Length / RowLength;
}

/// <summary>
/// Hugging Face <c>Qwen2VLImageProcessor</c> for still images, reproduced exactly: <see cref="SmartResize"/>, Pillow
/// bicubic resize on uint8 (<see cref="PillowResampler"/>, only when the size changes), rescale by 1/255 in float64
/// then cast to float32, per-channel normalisation in float32, channels first, repetition to
/// <see cref="Qwen2VLImageProcessorOptions.TemporalPatchSize"/> frames and the 9-d permutation into merge-window row
/// order.
/// </summary>
public sealed class Qwen2VLImageProcessor
{
    private readonly float[][] _lookup;

    /// <summary>Creates a processor with <paramref name="options"/> (defaults when null).</summary>
    public Qwen2VLImageProcessor(Qwen2VLImageProcessorOptions? options = null)
    {
        Options = options ?? new Qwen2VLImageProcessorOptions();
        Options.Validate();

        // Every uint8 value maps to one float per channel; computing it as Hugging Face does:
        // rescale: float32(float64(x) * (1/255)); normalize: (x - float32(mean)) / float32(std) in float32.
        _lookup = new float[3][];
        for (int c = 0; c < 3; c++)
        {
            float mean = (float)Options.ImageMean[c];
            float std = (float)Options.ImageStd[c];
            _lookup[c] = new float[256];
            for (int v = 0; v < 256; v++)
            {
                float rescaled = (float)(v * (1.0 / 255));
                _lookup[c][v] = (rescaled - mean) / std;
            }
        }
    }

    /// <summary>The settings.</summary>
    public Qwen2VLImageProcessorOptions Options { get; }

    /// <summary>The (height, width) an image of the given size is resized to.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The size is too small or too elongated.</exception>
    public ResizedSize TargetSize(int height, int width)
    {
        if (!Options.DoResize)
        {
            return new ResizedSize(height, width);
        }

        return SmartResize.Compute(height, width, Options.Factor, Options.MinPixels, Options.MaxPixels);
    }

    /// <summary>Turns one image into model input.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The image is too small or too elongated to resize.</exception>
    /// <exception cref="ArgumentException">The target size is not a multiple of patch × merge.</exception>
    public ProcessedImage Process(RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        ResizedSize target = TargetSize(image.Height, image.Width);
        int factor = Options.Factor;
        if (target.Height <= 0 || target.Width <= 0 || target.Height % factor != 0 || target.Width % factor != 0)
        {
            throw new ArgumentException(
                $"A {image.Width}x{image.Height} image maps to {target.Width}x{target.Height}, which is not a positive " +
                $"multiple of {factor} on both sides (MinPixels {Options.MinPixels}, MaxPixels {Options.MaxPixels}).",
                nameof(image));
        }

        // The resized image only feeds the patchify below, so it lives in a pooled buffer.
        bool resize = target.Height != image.Height || target.Width != image.Width;
        byte[] px = image.Pixels;
        if (resize)
        {
            px = ArrayPool<byte>.Shared.Rent(checked(target.Height * target.Width * 3));
            PillowResampler.ResizeInto(image, target.Width, target.Height, px);
        }

        try
        {
            return Patchify(px, image, target);
        }
        finally
        {
            if (resize)
            {
                ArrayPool<byte>.Shared.Return(px);
            }
        }
    }

    /// <summary>Cuts the resized HWC bytes <paramref name="px"/> (at least target height × width × 3) into rows.</summary>
    private ProcessedImage Patchify(byte[] px, RgbImage image, ResizedSize target)
    {
        if (px.Length < (long)target.Height * target.Width * 3)
        {
            throw new InvalidOperationException("The resized pixel buffer is smaller than the target size.");
        }

        int patch = Options.PatchSize;
        int merge = Options.MergeSize;
        int temporal = Options.TemporalPatchSize;
        int gridH = target.Height / patch;
        int gridW = target.Width / patch;
        int rowLength = Options.RowLength;
        int framePlane = patch * patch;
        // Every element is written below (frame 0 of each channel, then its temporal copies).
        float[] values = GC.AllocateUninitializedArray<float>(checked(gridH * gridW * rowLength));
        int stride = target.Width * 3;

        ref byte pixels = ref MemoryMarshal.GetArrayDataReference(px);
        ref float red = ref MemoryMarshal.GetArrayDataReference(_lookup[0]);
        ref float green = ref MemoryMarshal.GetArrayDataReference(_lookup[1]);
        ref float blue = ref MemoryMarshal.GetArrayDataReference(_lookup[2]);
        int channelSize = temporal * framePlane;
        int row = 0;
        for (int bh = 0; bh < gridH / merge; bh++)
        {
            for (int bw = 0; bw < gridW / merge; bw++)
            {
                for (int mh = 0; mh < merge; mh++)
                {
                    for (int mw = 0; mw < merge; mw++, row++)
                    {
                        int top = ((bh * merge) + mh) * patch;
                        int left = ((bw * merge) + mw) * patch;

                        // Frame 0 of the three channels, reading each source pixel's three bytes once.
                        Span<float> rowValues = values.AsSpan(row * rowLength, rowLength);
                        ref float r = ref MemoryMarshal.GetReference(rowValues);
                        ref float g = ref Unsafe.Add(ref r, channelSize);
                        ref float b = ref Unsafe.Add(ref g, channelSize);
                        for (int y = 0; y < patch; y++)
                        {
                            ref byte src = ref Unsafe.Add(ref pixels, ((top + y) * stride) + (left * 3));
                            int dst = y * patch;
                            for (int x = 0; x < patch; x++, dst++)
                            {
                                Unsafe.Add(ref r, dst) = Unsafe.Add(ref red, src);
                                Unsafe.Add(ref g, dst) = Unsafe.Add(ref green, Unsafe.Add(ref src, 1));
                                Unsafe.Add(ref b, dst) = Unsafe.Add(ref blue, Unsafe.Add(ref src, 2));
                                src = ref Unsafe.Add(ref src, 3);
                            }
                        }

                        // The still image is repeated along the temporal axis.
                        for (int c = 0; c < 3; c++)
                        {
                            Span<float> channel = rowValues.Slice(c * channelSize, channelSize);
                            ReadOnlySpan<float> frame = channel[..framePlane];
                            for (int t = 1; t < temporal; t++)
                            {
                                frame.CopyTo(channel.Slice(t * framePlane, framePlane));
                            }
                        }
                    }
                }
            }
        }

        return new ProcessedImage(
            values, rowLength, 1, gridH, gridW, merge, target.Height, target.Width, image.Height, image.Width);
    }

    /// <summary>Processes several images and concatenates their rows in order.</summary>
    public ProcessedImageBatch ProcessBatch(IReadOnlyList<RgbImage> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        var processed = new ProcessedImage[images.Count];
        for (int i = 0; i < images.Count; i++)
        {
            processed[i] = Process(images[i]);
        }

        return new ProcessedImageBatch(processed);
    }
}
