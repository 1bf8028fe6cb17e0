using System.Text;

namespace DeepPerception.ML.Preprocessing.Text;

/// <summary>
/// Qwen2-VL's chat template (Hugging Face <c>qwen2_vl</c>, ChatML): <c>&lt;|im_start|&gt;{role}\n{content}&lt;|im_end|&gt;\n</c>
/// per turn, the default system prompt <c>You are a helpful assistant.</c> when the first turn is not a system turn,
/// images as <c>&lt;|vision_start|&gt;&lt;|image_pad|&gt;…&lt;|vision_end|&gt;</c> with one pad per image token, and
/// <c>&lt;|im_start|&gt;assistant\n</c> appended for generation.
/// </summary>
public static class ChatTemplate
{
    /// <summary>The system prompt the template inserts when the conversation does not start with one.</summary>
    public const string DefaultSystemPrompt = "You are a helpful assistant.";

    /// <summary>
    /// The DeepPerception grounding instruction (evaluation prompt <c>r1</c> and GRPO <c>QUESTION_TEMPLATE</c>), appended to
    /// the question; it starts with two spaces.
    /// </summary>
    public const string GroundingInstruction =
        "  Output the thinking process in <think> </think> and final answer (bounding box) in <answer> </answer> tags.";

    /// <summary>The DeepPerception user text for a question: <c>{question}  Output the thinking process …</c>.</summary>
    public static string FormatGroundingQuestion(string question)
    {
        ArgumentNullException.ThrowIfNull(question);
        return question + GroundingInstruction;
    }

    /// <summary>
    /// The DeepPerception conversation for one image and one question: a user turn (image first, then the grounding
    /// text) and, for training, the assistant's answer.
    /// </summary>
    public static IReadOnlyList<ChatMessage> GroundingConversation(string question, int imageTokenCount, string? answer = null)
    {
        var messages = new List<ChatMessage> { ChatMessage.User(FormatGroundingQuestion(question), imageTokenCount) };
        if (answer is not null)
        {
            messages.Add(ChatMessage.Assistant(answer));
        }

        return messages;
    }

    /// <summary>Renders the conversation as prompt text (images expanded to their pad tokens).</summary>
    public static string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        var text = new StringBuilder();
        foreach (var piece in Pieces(messages, addGenerationPrompt, maskNewlineAfterEnd: true))
        {
            if (piece.ImageTokens > 0)
            {
                text.Append(QwenSpecialTokens.VisionStart);
                text.Insert(text.Length, QwenSpecialTokens.ImagePad, piece.ImageTokens);
                text.Append(QwenSpecialTokens.VisionEnd);
            }
            else
            {
                text.Append(piece.Text);
            }
        }

        return text.ToString();
    }

    /// <summary>
    /// Tokenizes the conversation and marks the assistant targets. Each assistant turn's content, its <c>&lt;|im_end|&gt;</c>
    /// and (with <paramref name="maskNewlineAfterEnd"/>, as LLaMA-Factory's <c>qwen2_vl</c> template, whose assistant
    /// slot is <c>{content}&lt;|im_end|&gt;\n</c>) the newline after it are targets; everything else, the
    /// <c>&lt;|im_start|&gt;assistant\n</c> header included, is not. As in LLaMA-Factory, prompt and answer segments are
    /// encoded separately; this equals encoding <see cref="Render"/>'s text unless an answer starts with whitespace.
    /// </summary>
    /// <exception cref="InvalidOperationException">The tokenizer lacks a token the template needs.</exception>
    public static EncodedChat Encode(QwenTokenizer tokenizer, IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, bool maskNewlineAfterEnd = true)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var visionStart = Require(tokenizer.VisionStartId, QwenSpecialTokens.VisionStart);
        var visionEnd = Require(tokenizer.VisionEndId, QwenSpecialTokens.VisionEnd);
        var imagePad = Require(tokenizer.ImagePadId, QwenSpecialTokens.ImagePad);
        Require(tokenizer.ImStartId, QwenSpecialTokens.ImStart);
        Require(tokenizer.ImEndId, QwenSpecialTokens.ImEnd);

        var ids = new List<int>();
        var mask = new List<bool>();
        foreach (var piece in Pieces(messages, addGenerationPrompt, maskNewlineAfterEnd))
        {
            if (piece.ImageTokens > 0)
            {
                ids.Add(visionStart);
                ids.AddRange(Enumerable.Repeat(imagePad, piece.ImageTokens));
                ids.Add(visionEnd);
                mask.AddRange(Enumerable.Repeat(false, piece.ImageTokens + 2));
            }
            else
            {
                var pieceIds = tokenizer.Encode(piece.Text);
                ids.AddRange(pieceIds);
                mask.AddRange(Enumerable.Repeat(piece.IsTarget, pieceIds.Count));
            }
        }

        return new EncodedChat(ids, mask);
    }

    private static int Require(int? id, string token) =>
        id ?? throw new InvalidOperationException($"The tokenizer has no '{token}' token, which the Qwen2-VL chat template needs.");

    private readonly record struct Piece(string Text, int ImageTokens, bool IsTarget);

    // The template as a list of pieces: prompt text, images and assistant targets, in order. Adjacent prompt text is
    // merged so that it is encoded in one go.
    private static List<Piece> Pieces(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, bool maskNewlineAfterEnd)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0)
        {
            throw new ArgumentException("A chat needs at least one message.", nameof(messages));
        }

        var pieces = new List<Piece>();
        var prompt = new StringBuilder();

        void FlushPrompt()
        {
            if (prompt.Length > 0)
            {
                pieces.Add(new Piece(prompt.ToString(), 0, false));
                prompt.Clear();
            }
        }

        if (messages[0] is null)
        {
            throw new ArgumentException("Message 0 is null.", nameof(messages));
        }

        if (messages[0].Role != ChatRole.System)
        {
            prompt.Append(QwenSpecialTokens.ImStart).Append("system\n").Append(DefaultSystemPrompt).Append(QwenSpecialTokens.ImEnd).Append('\n');
        }

        for (var m = 0; m < messages.Count; m++)
        {
            var message = messages[m] ?? throw new ArgumentException($"Message {m} is null.", nameof(messages));
            var role = message.Role switch
            {
                ChatRole.System => "system",
                ChatRole.User => "user",
                ChatRole.Assistant => "assistant",
                _ => throw new ArgumentException($"Message {m} has an unknown role {message.Role}.", nameof(messages)),
            };
            prompt.Append(QwenSpecialTokens.ImStart).Append(role).Append('\n');
            var isAssistant = message.Role == ChatRole.Assistant;
            if (isAssistant)
            {
                FlushPrompt();
            }

            var target = new StringBuilder();
            foreach (var content in message.Content)
            {
                switch (content)
                {
                    case ChatText text when isAssistant:
                        target.Append(text.Value);
                        break;
                    case ChatText text:
                        prompt.Append(text.Value);
                        break;
                    case ChatImage image:
                        if (target.Length > 0)
                        {
                            pieces.Add(new Piece(target.ToString(), 0, true));
                            target.Clear();
                        }

                        FlushPrompt();
                        pieces.Add(new Piece(string.Empty, image.TokenCount, false));
                        break;
                    default:
                        throw new ArgumentException($"Message {m} has an unsupported content part ({content?.GetType().Name ?? "null"}).", nameof(messages));
                }
            }

            if (isAssistant)
            {
                target.Append(QwenSpecialTokens.ImEnd);
                if (maskNewlineAfterEnd)
                {
                    target.Append('\n');
                    pieces.Add(new Piece(target.ToString(), 0, true));
                }
                else
                {
                    pieces.Add(new Piece(target.ToString(), 0, true));
                    prompt.Append('\n');
                }
            }
            else
            {
                prompt.Append(QwenSpecialTokens.ImEnd).Append('\n');
            }
        }

        if (addGenerationPrompt)
        {
            prompt.Append(QwenSpecialTokens.ImStart).Append("assistant\n");
        }

        FlushPrompt();
        return pieces;
    }
}
