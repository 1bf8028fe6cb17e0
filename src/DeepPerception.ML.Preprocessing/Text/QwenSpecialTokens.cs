namespace DeepPerception.ML.Preprocessing.Text;

/// <summary>The special token strings of the Qwen2-VL vocabulary (ids 151643–151656 in the released checkpoints).</summary>
public static class QwenSpecialTokens
{
    /// <summary><c>&lt;|endoftext|&gt;</c>, the pad token of Qwen2-VL.</summary>
    public const string EndOfText = "<|endoftext|>";

    /// <summary><c>&lt;|im_start|&gt;</c>, opens a chat turn.</summary>
    public const string ImStart = "<|im_start|>";

    /// <summary><c>&lt;|im_end|&gt;</c>, closes a chat turn; the end-of-sequence token of the chat model.</summary>
    public const string ImEnd = "<|im_end|>";

    /// <summary><c>&lt;|object_ref_start|&gt;</c>, opens a referred object's name in grounding text.</summary>
    public const string ObjectRefStart = "<|object_ref_start|>";

    /// <summary><c>&lt;|object_ref_end|&gt;</c>, closes a referred object's name.</summary>
    public const string ObjectRefEnd = "<|object_ref_end|>";

    /// <summary><c>&lt;|box_start|&gt;</c>, opens a box <c>(x1,y1),(x2,y2)</c> on the 0–1000 grid.</summary>
    public const string BoxStart = "<|box_start|>";

    /// <summary><c>&lt;|box_end|&gt;</c>, closes a box.</summary>
    public const string BoxEnd = "<|box_end|>";

    /// <summary><c>&lt;|quad_start|&gt;</c>, opens a quadrilateral.</summary>
    public const string QuadStart = "<|quad_start|>";

    /// <summary><c>&lt;|quad_end|&gt;</c>, closes a quadrilateral.</summary>
    public const string QuadEnd = "<|quad_end|>";

    /// <summary><c>&lt;|vision_start|&gt;</c>, precedes the placeholder tokens of an image or video.</summary>
    public const string VisionStart = "<|vision_start|>";

    /// <summary><c>&lt;|vision_end|&gt;</c>, follows the placeholder tokens of an image or video.</summary>
    public const string VisionEnd = "<|vision_end|>";

    /// <summary><c>&lt;|vision_pad|&gt;</c>.</summary>
    public const string VisionPad = "<|vision_pad|>";

    /// <summary><c>&lt;|image_pad|&gt;</c>, one per merged image patch; replaced by vision embeddings in the model.</summary>
    public const string ImagePad = "<|image_pad|>";

    /// <summary><c>&lt;|video_pad|&gt;</c>, one per merged video patch.</summary>
    public const string VideoPad = "<|video_pad|>";

    /// <summary>All fourteen special tokens in id order (151643 … 151656 in Qwen2-VL).</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        EndOfText, ImStart, ImEnd, ObjectRefStart, ObjectRefEnd, BoxStart, BoxEnd,
        QuadStart, QuadEnd, VisionStart, VisionEnd, VisionPad, ImagePad, VideoPad,
    ];

    /// <summary>The highest token id of the Qwen2-VL vocabulary (<c>&lt;|video_pad|&gt;</c>); Qwen3 files add tokens above it.</summary>
    public const int Qwen2VLMaxTokenId = 151656;

    /// <summary>The pre-tokenizer split pattern of Qwen2 / Qwen2-VL (as written in their <c>tokenizer.json</c>).</summary>
    public const string SplitPattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
}
