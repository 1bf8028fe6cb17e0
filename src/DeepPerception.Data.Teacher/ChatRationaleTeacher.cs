using System.ClientModel;
using System.ClientModel.Primitives;
using DeepPerception.Data.Synthesis;
using Microsoft.Extensions.AI;
using OpenAI;

namespace DeepPerception.Data.Teacher;

/// <summary>
/// A rationale teacher behind any <see cref="IChatClient"/> (Microsoft.Extensions.AI), usually an OpenAI-compatible
/// endpoint serving a vision-language model (the paper used Qwen2-VL-72B). Each request is one user message with the
/// composite as a PNG image followed by the paper's prompt (<see cref="TeacherPrompt"/>); the answer's text is the
/// rationale, judged afterwards by the IoU gate.
/// </summary>
public sealed class ChatRationaleTeacher : IRationaleTeacher, IDisposable
{
    private readonly IChatClient _client;
    private readonly TeacherOptions _options;

    /// <summary>Uses an existing chat client; wrap it in <see cref="ResilientChatClient"/> for retries and limits.</summary>
    public ChatRationaleTeacher(IChatClient client, TeacherOptions options)
    {
        _client = client ?? throw new ArgumentNullException(nameof(client));
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
    }

    /// <inheritdoc />
    public string Name => _options.Model;

    /// <summary>
    /// A teacher for an OpenAI-compatible endpoint (chat completions): the OpenAI client with its own retries off, wrapped in
    /// <see cref="ResilientChatClient"/> (timeout, retries with backoff, concurrency limit, typed errors).
    /// </summary>
    public static ChatRationaleTeacher CreateOpenAICompatible(TeacherOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var client = new OpenAIClient(
            new ApiKeyCredential(string.IsNullOrEmpty(options.ApiKey) ? "none" : options.ApiKey),
            new OpenAIClientOptions
            {
                Endpoint = options.Endpoint,
                RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
                NetworkTimeout = options.RequestTimeout + TimeSpan.FromSeconds(5),
            });
        var chat = new ChatClientBuilder(client.GetChatClient(options.Model).AsIChatClient())
            .Use(inner => new ResilientChatClient(inner, options))
            .Build();
        return new ChatRationaleTeacher(chat, options);
    }

    /// <summary>The chat message sent for a request: the PNG image, then the prompt text.</summary>
    public static ChatMessage BuildMessage(RationaleRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new ChatMessage(ChatRole.User, [new DataContent(request.Png, "image/png"), new TextContent(request.Prompt)]);
    }

    /// <inheritdoc />
    public async Task<string> GenerateAsync(RationaleRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var chatOptions = new ChatOptions { ModelId = _options.Model, Temperature = _options.Temperature, MaxOutputTokens = _options.MaxOutputTokens };
        var response = await _client.GetResponseAsync([BuildMessage(request)], chatOptions, cancellationToken).ConfigureAwait(false);
        var text = response.Text;
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new TeacherProtocolException($"The teacher answered composite {request.Composite.Sample.Id} with no text.");
        }

        return text;
    }

    /// <inheritdoc />
    public void Dispose() => _client.Dispose();
}
