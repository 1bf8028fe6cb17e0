using System.Diagnostics;
using DeepPerception.Kvg;
using DeepPerception.ML.Preprocessing.Images;
using DeepPerception.ML.Preprocessing.Text;
using DeepPerception.ML.Qwen2VL;
using DeepPerception.ML.Runtime;
using DeepPerception.ML.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepPerception.ML.Kvg;

/// <summary>Settings of a ground request.</summary>
public sealed record GroundOptions
{
    /// <summary>Prompt style (<c>r1</c>: DeepPerception's think/answer instruction; <c>None</c>: the raw question).</summary>
    public KvgPromptStyle Prompt { get; init; } = KvgPromptStyle.R1;

    /// <summary>Decoding settings (greedy by default, as the paper's evaluation).</summary>
    public int MaxNewTokens { get; init; } = 256;

    /// <summary>0 = greedy.</summary>
    public double Temperature { get; init; }

    /// <summary>Top-k when sampling.</summary>
    public int TopK { get; init; }

    /// <summary>Top-p when sampling.</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Sampling seed.</summary>
    public long? Seed { get; init; }
}

/// <summary>
/// One ground request: an image and a question (an entity name is wrapped into the KVG query), optionally answered
/// through a served LoRA adapter (<see cref="ServedAdapters"/>) loaded on the model under <paramref name="Adapter"/>.
/// <paramref name="Processed"/> is the image already run through this model's <see cref="KvgModel.Processor"/> (off the
/// device thread, e.g. when the request arrived); when null, <see cref="KvgModel.Ground"/> preprocesses it.
/// </summary>
public sealed record GroundRequest(RgbImage Image, string Question, string? Adapter = null, ProcessedImage? Processed = null);

/// <summary>The answer to a ground request.</summary>
public sealed record GroundResult(
    string Text,
    ParsedBox Parsed,
    BoundingBox? PixelBox,
    ModelBox? ModelBox,
    int PromptTokens,
    int GeneratedTokens,
    FinishReason FinishReason,
    TimeSpan PreprocessTime,
    TimeSpan PrefillTime,
    TimeSpan DecodeTime);

/// <summary>
/// A KVG model ready to use: Qwen2-VL weights, the checkpoint's tokenizer, the image processor and the base model's box
/// convention. Builds prompts exactly as DeepPerception's evaluation (default system prompt, image first, the r1
/// instruction), generates, parses with the evaluator's 8-pattern parser and converts the box to original-image pixels.
/// All methods that touch tensors must run on the device worker thread.
/// </summary>
public sealed class KvgModel : IDisposable
{
    /// <summary>Wraps loaded parts.</summary>
    public KvgModel(Qwen2VLForConditionalGeneration model, QwenTokenizer tokenizer, Qwen2VLImageProcessor processor, IBoxConvention convention)
    {
        Model = model;
        Tokenizer = tokenizer;
        Processor = processor;
        Convention = convention;
    }

    /// <summary>The network.</summary>
    public Qwen2VLForConditionalGeneration Model { get; }

    /// <summary>The tokenizer.</summary>
    public QwenTokenizer Tokenizer { get; }

    /// <summary>The image processor.</summary>
    public Qwen2VLImageProcessor Processor { get; }

    /// <summary>The box convention of the base model family.</summary>
    public IBoxConvention Convention { get; }

    /// <summary>Stop tokens: <c>&lt;|im_end|&gt;</c> and <c>&lt;|endoftext|&gt;</c>.</summary>
    public IReadOnlyList<int> StopTokenIds => new[] { Tokenizer.ImEndId, Tokenizer.EndOfTextId }.Where(x => x is not null).Select(x => x!.Value).ToArray();

    /// <summary>Padding id (<c>&lt;|endoftext|&gt;</c> when present).</summary>
    public int PadTokenId => Tokenizer.PadTokenId ?? Tokenizer.EndOfTextId ?? 0;

    /// <summary>
    /// Loads a checkpoint folder (config.json, safetensors, tokenizer.json). <paramref name="maxPixels"/> caps the image
    /// resolution (the paper trains at 401408).
    /// </summary>
    public static KvgModel Load(string directory, Device? device = null, string family = "qwen2-vl", int? maxPixels = null)
    {
        var model = Qwen2VLCheckpoint.Load(directory, device);
        var tokenizer = QwenTokenizer.FromDirectory(directory, maxTokenId: model.Config.VocabSize - 1);
        if (tokenizer.ImagePadId != model.Config.ImageTokenId || tokenizer.VisionStartId != model.Config.VisionStartTokenId)
        {
            model.Dispose();
            throw new DeepPerception.Checkpoints.CheckpointFormatException(
                $"{directory}: tokenizer ids (<|image_pad|> {tokenizer.ImagePadId}, <|vision_start|> {tokenizer.VisionStartId}) differ from config.json ({model.Config.ImageTokenId}, {model.Config.VisionStartTokenId}).");
        }

        var options = new Qwen2VLImageProcessorOptions { MaxPixels = maxPixels ?? Qwen2VLImageProcessorOptions.CheckpointMaxPixels };
        return new KvgModel(model, tokenizer, new Qwen2VLImageProcessor(options), BoxConventions.For(family));
    }

    /// <summary>
    /// Detaches the weights (parameters and buffers) from the current dispose scope, so that a model loaded inside one
    /// device work item (<see cref="Runtime.DeviceWorker.RunAsync{T}"/>) stays usable by later items until it is disposed.
    /// </summary>
    public KvgModel DetachFromDisposeScope()
    {
        foreach (var parameter in Model.parameters())
        {
            parameter.DetachFromDisposeScope();
        }

        foreach (var buffer in Model.buffers())
        {
            buffer.DetachFromDisposeScope();
        }

        return this;
    }

    /// <summary>The user text of a question under a prompt style.</summary>
    public static string PromptText(string question, KvgPromptStyle style) => KvgPrompts.Build(style, question).FirstTurn;

    /// <summary>Turns a bare entity name into the KVG query; a question that already has ref tokens is kept.</summary>
    public static string AsQuestion(string entityOrQuestion) =>
        entityOrQuestion.Contains(KvgPrompts.ObjectRefStart, StringComparison.Ordinal) || entityOrQuestion.Contains(' ') && entityOrQuestion.StartsWith("Find ", StringComparison.Ordinal)
            ? entityOrQuestion
            : KvgPrompts.Query(entityOrQuestion);

    /// <summary>Prompt ids for an image with <paramref name="imageTokens"/> merged tokens and a question.</summary>
    public long[] PromptIds(string question, int imageTokens, KvgPromptStyle style)
    {
        var messages = new[] { ChatMessage.User(PromptText(question, style), imageTokens) };
        return ChatTemplate.Encode(Tokenizer, messages, addGenerationPrompt: true).InputIds.Select(i => (long)i).ToArray();
    }

    /// <summary>A supervised example: prompt (r1 or raw) and the assistant target, trained on the target only.</summary>
    public TrainingExample SftExample(RgbImage image, string question, string target, KvgPromptStyle style = KvgPromptStyle.R1)
    {
        var processed = Processor.Process(image);
        var messages = new[] { ChatMessage.User(PromptText(question, style), processed.TokenCount), ChatMessage.Assistant(target) };
        var encoded = ChatTemplate.Encode(Tokenizer, messages, addGenerationPrompt: false);
        return new TrainingExample(encoded.InputIds.Select(i => (long)i).ToArray(), encoded.AssistantMask.ToArray(), processed.PixelValues,
            [new ImageGrid(processed.GridT, processed.GridH, processed.GridW)]);
    }

    /// <summary>An RL prompt with its solution string.</summary>
    public GrpoPrompt GrpoPrompt(RgbImage image, string question, string solution, string? id = null)
    {
        var processed = Processor.Process(image);
        return new GrpoPrompt(PromptIds(question, processed.TokenCount, KvgPromptStyle.R1), processed.PixelValues,
            [new ImageGrid(processed.GridT, processed.GridH, processed.GridW)], solution, id);
    }

    /// <summary>Decodes completion ids the way rewards and metrics see them (special tokens skipped).</summary>
    public string Decode(IEnumerable<int> ids) => Tokenizer.Decode(ids, skipSpecialTokens: true);

    /// <summary>Answers a batch of ground requests (batched generation with left padding).</summary>
    public IReadOnlyList<GroundResult> Ground(IReadOnlyList<GroundRequest> requests, GroundOptions? options = null, Action<int, int>? onToken = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new GroundOptions();
        if (requests.Count == 0)
        {
            return [];
        }

        using var scope = NewDisposeScope();
        var sw = Stopwatch.StartNew();
        var processed = requests.Select(r => r.Processed ?? Processor.Process(r.Image)).ToList();
        var prompts = requests.Select((r, i) =>
        {
            var p = processed[i];
            var pixels = HostTensors.FromFloats(p.PixelValues, [p.Rows, p.RowLength], Model.Device);
            return new PromptInput(PromptIds(AsQuestion(r.Question), p.TokenCount, options.Prompt), pixels, [new ImageGrid(p.GridT, p.GridH, p.GridW)]);
        }).ToList();
        var preprocess = sw.Elapsed;
        using var routing = requests.Any(r => r.Adapter is not null)
            ? ServedAdapters.Route(Model, requests.Select(r => r.Adapter).ToList(), processed.Select(p => p.GridT * p.GridH * p.GridW).ToList())
            : null;
        var result = Generation.Generate(Model, new GenerationRequest
        {
            Prompts = prompts,
            Options = new GenerationOptions
            {
                MaxNewTokens = options.MaxNewTokens, Temperature = options.Temperature, TopK = options.TopK, TopP = options.TopP, Seed = options.Seed,
                StopTokenIds = StopTokenIds, PadTokenId = PadTokenId,
            },
            OnToken = onToken,
            CancellationToken = cancellationToken,
        });

        var results = new List<GroundResult>();
        for (var i = 0; i < requests.Count; i++)
        {
            var seq = result.Sequences[i];
            var text = Decode(seq.Tokens);
            var parsed = KvgAnswerParser.Parse(text);
            var p = processed[i];
            var geometry = new ImageGeometry(p.OriginalWidth, p.OriginalHeight, p.ResizedWidth, p.ResizedHeight);
            BoundingBox? pixelBox = null;
            ModelBox? modelBox = null;
            if (parsed.Status == ParseStatus.Parsed)
            {
                try
                {
                    pixelBox = Convention.ToPixels(parsed.Box, geometry);
                    modelBox = Convention.FromPixels(pixelBox.Value, geometry);
                }
                catch (BoxConventionException)
                {
                    pixelBox = null;
                }
            }

            results.Add(new GroundResult(text, parsed, pixelBox, modelBox, prompts[i].Ids.Length, seq.Tokens.Length, seq.Reason,
                preprocess, result.PrefillTime, result.DecodeTime));
        }

        return results;
    }

    /// <inheritdoc />
    public void Dispose() => Model.Dispose();
}
