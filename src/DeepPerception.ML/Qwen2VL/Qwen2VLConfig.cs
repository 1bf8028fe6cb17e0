using System.Text.Json;
using System.Text.Json.Nodes;
using DeepPerception.Checkpoints;

namespace DeepPerception.ML.Qwen2VL;

/// <summary>Vision tower settings (Hugging Face <c>vision_config</c>).</summary>
public sealed record Qwen2VLVisionConfig
{
    /// <summary>Number of ViT blocks.</summary>
    public int Depth { get; init; } = 32;

    /// <summary>ViT width.</summary>
    public int EmbedDim { get; init; } = 1280;

    /// <summary>Attention heads.</summary>
    public int NumHeads { get; init; } = 16;

    /// <summary>MLP ratio (hidden = embed × ratio).</summary>
    public double MlpRatio { get; init; } = 4;

    /// <summary>Activation of the ViT MLP (<c>quick_gelu</c> in Qwen2-VL).</summary>
    public string HiddenAct { get; init; } = "quick_gelu";

    /// <summary>Input channels.</summary>
    public int InChannels { get; init; } = 3;

    /// <summary>Merger output width (= the text hidden size).</summary>
    public int HiddenSize { get; init; } = 3584;

    /// <summary>Spatial patch size in pixels.</summary>
    public int PatchSize { get; init; } = 14;

    /// <summary>Merge window side (2 → 2×2 patches per token).</summary>
    public int SpatialMergeSize { get; init; } = 2;

    /// <summary>Frames per temporal patch.</summary>
    public int TemporalPatchSize { get; init; } = 2;

    /// <summary>Head dimension.</summary>
    public int HeadDim => EmbedDim / NumHeads;

    /// <summary>ViT MLP hidden width.</summary>
    public int MlpHidden => (int)(EmbedDim * MlpRatio);

    /// <summary>Values per patch row of <c>pixel_values</c>.</summary>
    public int PatchInputSize => InChannels * TemporalPatchSize * PatchSize * PatchSize;
}

/// <summary>
/// Qwen2-VL configuration, read from a Hugging Face <c>config.json</c> (<see cref="FromFile"/>) or taken from a named
/// preset (<see cref="Preset"/>).
/// </summary>
public sealed record Qwen2VLConfig
{
    /// <summary>Vocabulary size.</summary>
    public int VocabSize { get; init; } = 152064;

    /// <summary>Decoder width.</summary>
    public int HiddenSize { get; init; } = 3584;

    /// <summary>SwiGLU hidden width.</summary>
    public int IntermediateSize { get; init; } = 18944;

    /// <summary>Decoder layers.</summary>
    public int NumHiddenLayers { get; init; } = 28;

    /// <summary>Query heads.</summary>
    public int NumAttentionHeads { get; init; } = 28;

    /// <summary>Key/value heads (GQA).</summary>
    public int NumKeyValueHeads { get; init; } = 4;

    /// <summary>RMSNorm epsilon.</summary>
    public double RmsNormEps { get; init; } = 1e-6;

    /// <summary>RoPE base.</summary>
    public double RopeTheta { get; init; } = 1000000.0;

    /// <summary>M-RoPE sections (t, h, w) in units of rotary pairs; sums to head_dim / 2.</summary>
    public int[] MropeSection { get; init; } = [16, 24, 24];

    /// <summary>
    /// Whether the M-RoPE channels are interleaved over the axes (<c>rope_scaling.mrope_interleaved</c>, Qwen3-VL's
    /// layout) instead of Qwen2-VL's contiguous sections. Interleaved, rotary pair <c>j</c> follows the height axis when
    /// <c>j mod 3 = 1</c> and <c>j &lt; 3·h</c>, the width axis when <c>j mod 3 = 2</c> and <c>j &lt; 3·w</c>, and the
    /// temporal axis otherwise, so every axis gets fast and slow frequencies alike. Off (false) for every Qwen2-VL
    /// checkpoint; transformers' Qwen2-VL code ignores the key, so a checkpoint with it on runs correctly only here.
    /// </summary>
    public bool MropeInterleaved { get; init; }

    /// <summary>
    /// The position axis (0 temporal, 1 height, 2 width) each rotary pair of a head follows, in <see cref="MropeSection"/>
    /// units [head_dim / 2]; the second half of the head repeats it.
    /// </summary>
    public int[] MropeAxisOfPair()
    {
        var half = MropeSection.Sum();
        var axis = new int[half];
        if (MropeInterleaved)
        {
            for (var j = 0; j < half; j++)
            {
                axis[j] = j % 3 == 1 && j < 3 * MropeSection[1] ? 1 : j % 3 == 2 && j < 3 * MropeSection[2] ? 2 : 0;
            }

            return axis;
        }

        var offset = 0;
        for (var a = 0; a < 3; a++)
        {
            Array.Fill(axis, a, offset, MropeSection[a]);
            offset += MropeSection[a];
        }

        return axis;
    }

    /// <summary>Whether <c>lm_head</c> shares the embedding matrix.</summary>
    public bool TieWordEmbeddings { get; init; }

    /// <summary>Maximum positions.</summary>
    public int MaxPositionEmbeddings { get; init; } = 32768;

    /// <summary>Begin-of-sequence id.</summary>
    public int BosTokenId { get; init; } = 151643;

    /// <summary>End-of-sequence id (config's; generation also stops on <c>&lt;|im_end|&gt;</c>).</summary>
    public int EosTokenId { get; init; } = 151645;

    /// <summary><c>&lt;|vision_start|&gt;</c>.</summary>
    public int VisionStartTokenId { get; init; } = 151652;

    /// <summary><c>&lt;|vision_end|&gt;</c>.</summary>
    public int VisionEndTokenId { get; init; } = 151653;

    /// <summary><c>&lt;|vision_pad|&gt;</c>.</summary>
    public int VisionTokenId { get; init; } = 151654;

    /// <summary><c>&lt;|image_pad|&gt;</c>.</summary>
    public int ImageTokenId { get; init; } = 151655;

    /// <summary><c>&lt;|video_pad|&gt;</c>.</summary>
    public int VideoTokenId { get; init; } = 151656;

    /// <summary>Vision tower settings.</summary>
    public Qwen2VLVisionConfig Vision { get; init; } = new();

    /// <summary>Decoder head dimension.</summary>
    public int HeadDim => HiddenSize / NumAttentionHeads;

    /// <summary>Checks internal consistency; throws <see cref="ArgumentException"/> naming the bad field.</summary>
    public Qwen2VLConfig Validate()
    {
        if (HiddenSize % NumAttentionHeads != 0)
            throw new ArgumentException($"hidden_size {HiddenSize} is not divisible by num_attention_heads {NumAttentionHeads}.");
        if (NumAttentionHeads % NumKeyValueHeads != 0)
            throw new ArgumentException($"num_attention_heads {NumAttentionHeads} is not divisible by num_key_value_heads {NumKeyValueHeads}.");
        if (MropeSection.Length != 3 || MropeSection.Sum() * 2 != HeadDim)
            throw new ArgumentException($"mrope_section [{string.Join(',', MropeSection)}] must have 3 entries summing to head_dim/2 = {HeadDim / 2}.");
        if (MropeInterleaved && (3 * MropeSection[1] - 2 >= HeadDim / 2 || 3 * MropeSection[2] - 1 >= HeadDim / 2))
            throw new ArgumentException($"interleaved mrope_section [{string.Join(',', MropeSection)}] gives height or width more rotary pairs than every third of head_dim/2 = {HeadDim / 2} holds.");
        if (Vision.EmbedDim % Vision.NumHeads != 0)
            throw new ArgumentException($"vision embed_dim {Vision.EmbedDim} is not divisible by num_heads {Vision.NumHeads}.");
        if (Vision.HiddenSize != HiddenSize)
            throw new ArgumentException($"vision_config.hidden_size {Vision.HiddenSize} must equal hidden_size {HiddenSize}.");
        if (VocabSize <= 0 || NumHiddenLayers <= 0 || Vision.Depth <= 0)
            throw new ArgumentException("vocab_size, num_hidden_layers and vision depth must be positive.");
        return this;
    }

    /// <summary>Reads a Hugging Face Qwen2-VL <c>config.json</c>.</summary>
    public static Qwen2VLConfig FromFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new CheckpointFormatException($"Model config not found: {path}");
        }

        JsonObject root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new CheckpointFormatException($"{path}: not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException($"{path}: invalid JSON ({e.Message}).", e);
        }

        return FromJson(root, path);
    }

    /// <summary>Reads a config from its JSON object (the text config may be nested under <c>text_config</c>).</summary>
    public static Qwen2VLConfig FromJson(JsonObject root, string source = "config.json")
    {
        var modelType = root["model_type"]?.GetValue<string>();
        if (modelType is not null && modelType != "qwen2_vl")
        {
            throw new CheckpointFormatException($"{source}: model_type '{modelType}' is not qwen2_vl.");
        }

        var text = root["text_config"] as JsonObject ?? root;
        int I(JsonObject o, string key, int fallback) => o[key] is JsonNode n ? n.GetValue<int>() : root[key] is JsonNode r ? r.GetValue<int>() : fallback;
        double D(JsonObject o, string key, double fallback) => o[key] is JsonNode n ? n.GetValue<double>() : root[key] is JsonNode r ? r.GetValue<double>() : fallback;

        var defaults = new Qwen2VLConfig();
        var rope = (text["rope_scaling"] ?? root["rope_scaling"]) as JsonObject;
        var section = rope?["mrope_section"] is JsonArray arr ? arr.Select(x => x!.GetValue<int>()).ToArray() : defaults.MropeSection;
        var v = root["vision_config"] as JsonObject ?? new JsonObject();
        var vd = new Qwen2VLVisionConfig();
        int VI(string key, int fallback) => v[key] is JsonNode n ? n.GetValue<int>() : fallback;
        var hidden = I(text, "hidden_size", defaults.HiddenSize);
        var vision = new Qwen2VLVisionConfig
        {
            Depth = VI("depth", vd.Depth),
            EmbedDim = VI("embed_dim", vd.EmbedDim),
            NumHeads = VI("num_heads", vd.NumHeads),
            MlpRatio = v["mlp_ratio"] is JsonNode mr ? mr.GetValue<double>() : vd.MlpRatio,
            HiddenAct = v["hidden_act"]?.GetValue<string>() ?? vd.HiddenAct,
            InChannels = v["in_chans"] is JsonNode ic ? ic.GetValue<int>() : VI("in_channels", vd.InChannels),
            HiddenSize = VI("hidden_size", hidden),
            PatchSize = v["patch_size"] is JsonNode ps ? ps.GetValue<int>() : VI("spatial_patch_size", vd.PatchSize),
            SpatialMergeSize = VI("spatial_merge_size", vd.SpatialMergeSize),
            TemporalPatchSize = VI("temporal_patch_size", vd.TemporalPatchSize),
        };

        return new Qwen2VLConfig
        {
            VocabSize = I(text, "vocab_size", defaults.VocabSize),
            HiddenSize = hidden,
            IntermediateSize = I(text, "intermediate_size", defaults.IntermediateSize),
            NumHiddenLayers = I(text, "num_hidden_layers", defaults.NumHiddenLayers),
            NumAttentionHeads = I(text, "num_attention_heads", defaults.NumAttentionHeads),
            NumKeyValueHeads = I(text, "num_key_value_heads", defaults.NumKeyValueHeads),
            RmsNormEps = D(text, "rms_norm_eps", defaults.RmsNormEps),
            RopeTheta = D(text, "rope_theta", defaults.RopeTheta),
            MropeSection = section,
            MropeInterleaved = rope?["mrope_interleaved"]?.GetValue<bool>() ?? false,
            TieWordEmbeddings = (root["tie_word_embeddings"] ?? text["tie_word_embeddings"])?.GetValue<bool>() ?? false,
            MaxPositionEmbeddings = I(text, "max_position_embeddings", defaults.MaxPositionEmbeddings),
            BosTokenId = I(root, "bos_token_id", defaults.BosTokenId),
            EosTokenId = I(root, "eos_token_id", defaults.EosTokenId),
            VisionStartTokenId = I(root, "vision_start_token_id", defaults.VisionStartTokenId),
            VisionEndTokenId = I(root, "vision_end_token_id", defaults.VisionEndTokenId),
            VisionTokenId = I(root, "vision_token_id", defaults.VisionTokenId),
            ImageTokenId = I(root, "image_token_id", defaults.ImageTokenId),
            VideoTokenId = I(root, "video_token_id", defaults.VideoTokenId),
            Vision = vision,
        }.Validate();
    }

    private JsonObject RopeScalingJson()
    {
        var rope = new JsonObject { ["type"] = "mrope", ["mrope_section"] = new JsonArray(MropeSection.Select(x => (JsonNode)x).ToArray()) };
        if (MropeInterleaved)
        {
            rope["mrope_interleaved"] = true;
        }

        return rope;
    }

    /// <summary>Writes this config as a Hugging Face <c>config.json</c> (loadable by transformers' Qwen2VLConfig).</summary>
    public JsonObject ToJson() => new()
    {
        ["architectures"] = new JsonArray("Qwen2VLForConditionalGeneration"),
        ["model_type"] = "qwen2_vl",
        ["vocab_size"] = VocabSize,
        ["hidden_size"] = HiddenSize,
        ["intermediate_size"] = IntermediateSize,
        ["num_hidden_layers"] = NumHiddenLayers,
        ["num_attention_heads"] = NumAttentionHeads,
        ["num_key_value_heads"] = NumKeyValueHeads,
        ["hidden_act"] = "silu",
        ["max_position_embeddings"] = MaxPositionEmbeddings,
        ["rms_norm_eps"] = RmsNormEps,
        ["rope_theta"] = RopeTheta,
        ["rope_scaling"] = RopeScalingJson(),
        ["tie_word_embeddings"] = TieWordEmbeddings,
        ["use_cache"] = true,
        ["use_sliding_window"] = false,
        ["attention_dropout"] = 0.0,
        ["bos_token_id"] = BosTokenId,
        ["eos_token_id"] = EosTokenId,
        ["vision_start_token_id"] = VisionStartTokenId,
        ["vision_end_token_id"] = VisionEndTokenId,
        ["vision_token_id"] = VisionTokenId,
        ["image_token_id"] = ImageTokenId,
        ["video_token_id"] = VideoTokenId,
        ["torch_dtype"] = "float32",
        ["vision_config"] = new JsonObject
        {
            ["depth"] = Vision.Depth,
            ["embed_dim"] = Vision.EmbedDim,
            ["num_heads"] = Vision.NumHeads,
            ["mlp_ratio"] = Vision.MlpRatio,
            ["hidden_act"] = Vision.HiddenAct,
            ["in_chans"] = Vision.InChannels,
            ["hidden_size"] = Vision.HiddenSize,
            ["patch_size"] = Vision.PatchSize,
            ["spatial_patch_size"] = Vision.PatchSize,
            ["spatial_merge_size"] = Vision.SpatialMergeSize,
            ["temporal_patch_size"] = Vision.TemporalPatchSize,
        },
    };

    /// <summary>Saves <see cref="ToJson"/> to a file.</summary>
    public void Save(string path) => File.WriteAllText(path, ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

    /// <summary>Names accepted by <see cref="Preset"/>.</summary>
    public static IReadOnlyList<string> PresetNames { get; } = ["tiny", "small-30m", "2b", "7b"];

    /// <summary>
    /// Named presets: <c>tiny</c> (the golden test model's shape), <c>small-30m</c> (≈30M parameters, for benchmarks and
    /// CPU experiments), <c>2b</c> and <c>7b</c> (Qwen2-VL-2B/7B-Instruct shapes). <paramref name="vocabSize"/> overrides the
    /// vocabulary (tiny models trained with a small tokenizer).
    /// </summary>
    public static Qwen2VLConfig Preset(string name, int? vocabSize = null)
    {
        var config = name switch
        {
            "tiny" => new Qwen2VLConfig
            {
                VocabSize = 300, HiddenSize = 64, IntermediateSize = 128, NumHiddenLayers = 2, NumAttentionHeads = 4,
                NumKeyValueHeads = 2, MropeSection = [2, 3, 3], MaxPositionEmbeddings = 4096,
                BosTokenId = 280, EosTokenId = 282, VisionStartTokenId = 290, VisionEndTokenId = 291, VisionTokenId = 292,
                ImageTokenId = 293, VideoTokenId = 294,
                Vision = new Qwen2VLVisionConfig { Depth = 2, EmbedDim = 32, NumHeads = 2, MlpRatio = 2, HiddenSize = 64 },
            },
            "small-30m" => new Qwen2VLConfig
            {
                VocabSize = 8192, HiddenSize = 512, IntermediateSize = 1408, NumHiddenLayers = 6, NumAttentionHeads = 8,
                NumKeyValueHeads = 2, MropeSection = [8, 12, 12], MaxPositionEmbeddings = 4096,
                BosTokenId = 8100, EosTokenId = 8102, VisionStartTokenId = 8110, VisionEndTokenId = 8111, VisionTokenId = 8112,
                ImageTokenId = 8113, VideoTokenId = 8114,
                Vision = new Qwen2VLVisionConfig { Depth = 4, EmbedDim = 256, NumHeads = 4, MlpRatio = 4, HiddenSize = 512 },
            },
            "2b" => new Qwen2VLConfig
            {
                VocabSize = 151936, HiddenSize = 1536, IntermediateSize = 8960, NumHiddenLayers = 28, NumAttentionHeads = 12,
                NumKeyValueHeads = 2, MropeSection = [16, 24, 24], TieWordEmbeddings = true,
                Vision = new Qwen2VLVisionConfig { HiddenSize = 1536 },
            },
            "7b" => new Qwen2VLConfig(),
            _ => throw new ArgumentException($"Unknown preset '{name}'. Known: {string.Join(", ", PresetNames)}."),
        };
        return (vocabSize is int v ? config with { VocabSize = v } : config).Validate();
    }
}
