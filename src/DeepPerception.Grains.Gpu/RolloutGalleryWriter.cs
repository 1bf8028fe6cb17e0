using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DeepPerception.Abstractions.Work;
using DeepPerception.Kvg;
using DeepPerception.ML.Training;
using DeepPerception.Storage;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace DeepPerception.Grains.Gpu;

/// <summary>
/// Collects a GRPO stage's rollouts step by step and writes them to the artifact store (see <see cref="RolloutLog"/>):
/// one JSON file per step, each prompt's image once as PNG, and only the last <see cref="RolloutLog.KeepSteps"/> step
/// files. Runs on the device thread: every write is small and synchronous.
/// </summary>
public sealed class RolloutGalleryWriter
{
    private readonly IArtifactStore _store;
    private readonly string _attemptFolder;
    private readonly Dictionary<string, PlatformSample> _samples;
    private readonly int _keep;
    private readonly CancellationToken _cancellationToken;
    private readonly List<RolloutSample> _pending = [];
    private readonly HashSet<string> _uploadedImages = new(StringComparer.Ordinal);
    private readonly Queue<string> _written = new();

    /// <summary>Creates a writer for one attempt.</summary>
    /// <param name="store">Where the files go.</param>
    /// <param name="checkpointPrefix">The attempt's checkpoint prefix; its parent is the attempt folder.</param>
    /// <param name="samples">The prompts' samples (by id, for the true box, entity and image).</param>
    /// <param name="keep">How many step files to keep.</param>
    /// <param name="cancellationToken">Cancels the writes.</param>
    public RolloutGalleryWriter(IArtifactStore store, string checkpointPrefix, IEnumerable<PlatformSample> samples,
        int keep = RolloutLog.KeepSteps, CancellationToken cancellationToken = default)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1);
        _attemptFolder = RolloutLog.AttemptFolder(checkpointPrefix);
        _samples = new Dictionary<string, PlatformSample>(StringComparer.Ordinal);
        foreach (var s in samples)
        {
            _samples[s.Id] = s;
        }

        _keep = keep;
        _cancellationToken = cancellationToken;
    }

    /// <summary>The keys of the step files written and still kept, oldest first.</summary>
    public IReadOnlyCollection<string> WrittenKeys => _written;

    /// <summary>Takes one rollout; the samples of a step are written when a later step starts or on <see cref="Flush"/>.</summary>
    public void Add(RolloutSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        if (_pending.Count > 0 && _pending[^1].Step != sample.Step)
        {
            Flush();
        }

        _pending.Add(sample);
    }

    /// <summary>Writes the pending step's file (and its new images) and deletes step files beyond the kept window.</summary>
    public void Flush()
    {
        if (_pending.Count == 0)
        {
            return;
        }

        var step = _pending[0].Step;
        var records = new List<RolloutSampleRecord>(_pending.Count);
        foreach (var r in _pending)
        {
            var promptId = r.PromptId ?? throw new InvalidOperationException($"A GRPO rollout of step {step} has no prompt id.");
            if (!_samples.TryGetValue(promptId, out var sample))
            {
                throw new InvalidOperationException($"GRPO rollout of step {step} names prompt '{promptId}', which is not a sample of the job.");
            }

            var imageKey = RolloutLog.ImageKey(_attemptFolder, ImageId(promptId));
            if (_uploadedImages.Add(imageKey))
            {
                _store.PutBytesAsync(imageKey, EncodePng(sample.Image), null, _cancellationToken).GetAwaiter().GetResult();
            }

            var parsed = KvgAnswerParser.Parse(r.Completion);
            double[]? predicted = parsed.IsFailure ? null : [parsed.X1, parsed.Y1, parsed.X2, parsed.Y2];
            records.Add(new RolloutSampleRecord(promptId, r.Index, r.Completion, new Dictionary<string, double>(r.Rewards, StringComparer.Ordinal),
                r.Total, r.Advantage, r.Length, predicted, [sample.Box.X1, sample.Box.Y1, sample.Box.X2, sample.Box.Y2], sample.Entity, imageKey));
        }

        _pending.Clear();
        var key = RolloutLog.StepKey(_attemptFolder, step);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(new RolloutStepRecord(step, records), RolloutLog.Json);
        _store.PutBytesAsync(key, bytes, null, _cancellationToken).GetAwaiter().GetResult();
        if (!_written.Contains(key))
        {
            _written.Enqueue(key);
        }

        while (_written.Count > _keep)
        {
            _store.DeleteAsync(_written.Dequeue(), _cancellationToken).GetAwaiter().GetResult();
        }
    }

    /// <summary>The id under which a prompt's image is stored: the prompt id when it is key-safe, otherwise a hash of it.</summary>
    public static string ImageId(string promptId) =>
        RolloutLog.IsValidPromptId(promptId)
            ? promptId
            : "p-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(promptId)))[..32];

    private static byte[] EncodePng(DeepPerception.ML.Preprocessing.Images.RgbImage image)
    {
        using var png = Image.LoadPixelData<Rgb24>(image.Pixels, image.Width, image.Height);
        using var stream = new MemoryStream();
        png.SaveAsPng(stream, new PngEncoder { ColorType = PngColorType.Rgb, BitDepth = PngBitDepth.Bit8 });
        return stream.ToArray();
    }
}
