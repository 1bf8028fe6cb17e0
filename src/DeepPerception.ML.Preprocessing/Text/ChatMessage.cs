namespace DeepPerception.ML.Preprocessing.Text;

/// <summary>The speaker of a chat turn.</summary>
public enum ChatRole
{
    /// <summary>The system prompt.</summary>
    System,

    /// <summary>The user: question text and images.</summary>
    User,

    /// <summary>The model's answer.</summary>
    Assistant,
}

/// <summary>One part of a chat turn: text (<see cref="ChatText"/>) or an image (<see cref="ChatImage"/>).</summary>
public abstract record ChatContent
{
    private protected ChatContent()
    {
    }

    /// <summary>A text part.</summary>
    public static ChatContent Text(string text) => new ChatText(text);

    /// <summary>An image part that occupies <paramref name="tokenCount"/> <c>&lt;|image_pad|&gt;</c> tokens.</summary>
    public static ChatContent Image(int tokenCount) => new ChatImage(tokenCount);
}

/// <summary>Text of a chat turn, inserted verbatim (special tokens written in it are encoded as such).</summary>
public sealed record ChatText : ChatContent
{
    /// <summary>Creates a text part.</summary>
    public ChatText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Value = text;
    }

    /// <summary>The text.</summary>
    public string Value { get; }
}

/// <summary>
/// An image of a chat turn: <c>&lt;|vision_start|&gt;</c>, <see cref="TokenCount"/> × <c>&lt;|image_pad|&gt;</c>,
/// <c>&lt;|vision_end|&gt;</c>. The count comes from image preprocessing: (H/28)·(W/28) for the resized image.
/// </summary>
public sealed record ChatImage : ChatContent
{
    /// <summary>Creates an image part.</summary>
    public ChatImage(int tokenCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tokenCount);
        TokenCount = tokenCount;
    }

    /// <summary>Number of <c>&lt;|image_pad|&gt;</c> tokens of the image.</summary>
    public int TokenCount { get; }
}

/// <summary>One chat turn.</summary>
/// <param name="Role">Who speaks.</param>
/// <param name="Content">The parts, in order.</param>
public sealed record ChatMessage(ChatRole Role, IReadOnlyList<ChatContent> Content)
{
    /// <summary>The parts, in order.</summary>
    public IReadOnlyList<ChatContent> Content { get; init; } = Content ?? throw new ArgumentNullException(nameof(Content));

    /// <summary>A system turn with the given prompt.</summary>
    public static ChatMessage System(string text) => new(ChatRole.System, [new ChatText(text)]);

    /// <summary>A user turn: the images first (one token count each), then the text, as the DeepPerception evaluation builds it.</summary>
    public static ChatMessage User(string text, params int[] imageTokenCounts)
    {
        ArgumentNullException.ThrowIfNull(imageTokenCounts);
        var content = new List<ChatContent>(imageTokenCounts.Length + 1);
        content.AddRange(imageTokenCounts.Select(count => new ChatImage(count)));
        content.Add(new ChatText(text));
        return new ChatMessage(ChatRole.User, content);
    }

    /// <summary>An assistant turn with the given answer text.</summary>
    public static ChatMessage Assistant(string text) => new(ChatRole.Assistant, [new ChatText(text)]);
}

/// <summary>A tokenized chat: the ids and, per id, whether it is an assistant target (loss is taken only there).</summary>
/// <param name="InputIds">Token ids of the whole conversation.</param>
/// <param name="AssistantMask">True where the token belongs to an assistant answer (its content and closing tokens).</param>
public sealed record EncodedChat(IReadOnlyList<int> InputIds, IReadOnlyList<bool> AssistantMask)
{
    /// <summary>Training labels: the id where <see cref="AssistantMask"/> is true, <paramref name="ignoreIndex"/> elsewhere.</summary>
    public int[] Labels(int ignoreIndex = -100)
    {
        var labels = new int[InputIds.Count];
        for (var i = 0; i < labels.Length; i++)
        {
            labels[i] = AssistantMask[i] ? InputIds[i] : ignoreIndex;
        }

        return labels;
    }
}
