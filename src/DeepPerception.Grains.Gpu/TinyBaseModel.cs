using DeepPerception.ML.Preprocessing.Text;
using DeepPerception.ML.Qwen2VL;
using static TorchSharp.torch;

namespace DeepPerception.Grains.Gpu;

/// <summary>
/// Builds a small randomly initialised Qwen2-VL checkpoint folder with a byte-level BPE tokenizer trained on a text
/// corpus: a real (if untrained) base model for demos and tests, loadable by <see cref="ML.Kvg.KvgModel.Load"/>.
/// Touches tensors: call it on a device worker thread (or any thread in a tool or test).
/// </summary>
public static class TinyBaseModel
{
    /// <summary>
    /// Writes <c>config.json</c>, <c>model.safetensors</c> and <c>tokenizer.json</c> into <paramref name="directory"/>
    /// for the named preset (default <c>tiny</c>) with a tokenizer of about <paramref name="vocabSize"/> tokens.
    /// </summary>
    public static Qwen2VLConfig Create(string directory, IEnumerable<string> corpus, int vocabSize = 400, long seed = 7, string preset = "tiny")
    {
        ArgumentNullException.ThrowIfNull(corpus);
        Directory.CreateDirectory(directory);
        var bpe = BpeTrainer.Train(corpus, vocabSize);
        var tokenizerPath = Path.Combine(directory, "tokenizer.json");
        File.WriteAllText(tokenizerPath, bpe.ToJson());
        var tokenizer = QwenTokenizer.FromFile(tokenizerPath);
        int Id(int? id, string name) => id ?? throw new InvalidOperationException($"The trained tokenizer has no {name} token.");
        var config = Qwen2VLConfig.Preset(preset, bpe.VocabSize) with
        {
            BosTokenId = Id(tokenizer.EndOfTextId, "<|endoftext|>"),
            EosTokenId = Id(tokenizer.ImEndId, "<|im_end|>"),
            VisionStartTokenId = Id(tokenizer.VisionStartId, "<|vision_start|>"),
            VisionEndTokenId = Id(tokenizer.VisionEndId, "<|vision_end|>"),
            VisionTokenId = Id(tokenizer.TokenToId("<|vision_pad|>"), "<|vision_pad|>"),
            ImageTokenId = Id(tokenizer.ImagePadId, "<|image_pad|>"),
            VideoTokenId = Id(tokenizer.VideoPadId, "<|video_pad|>"),
        };
        config.Validate();
        using var scope = NewDisposeScope();
        using var model = new Qwen2VLForConditionalGeneration(config);
        model.InitializeWeights(seed);
        Qwen2VLCheckpoint.Save(model, directory);
        return config;
    }
}
