using System.Globalization;
using System.Text.Json;
using DeepPerception.Cli.Infrastructure;
using DeepPerception.Client;

namespace DeepPerception.Cli.Commands;

/// <summary>
/// <c>remote ground</c>: sends a ground request to a DeepPerception server over its HTTP API (no local model): streams
/// the reasoning with <c>--stream</c>, then prints the box in original-image pixels and on the model grid, the parse
/// status and the timings; <c>--json</c> prints the whole answer as JSON. The key comes from <c>--api-key</c> or the
/// <c>DEEPPERCEPTION_API_KEY</c> environment variable.
/// </summary>
public sealed class RemoteGroundCommand(Func<HttpMessageHandler>? handlerFactory = null) : ICliCommand
{
    /// <summary>The environment variable that can hold the API key.</summary>
    public const string ApiKeyVariable = "DEEPPERCEPTION_API_KEY";

    /// <inheritdoc />
    public string Name => "remote ground";

    /// <inheritdoc />
    public string Summary => "Ground an entity through a DeepPerception server's HTTP API (remote mode).";

    /// <inheritdoc />
    public IReadOnlyList<CliOption> Options { get; } =
    [
        new("server", "URL", "server base address, e.g. http://127.0.0.1:5080", Required: true),
        new("model", "ID", "the tenant's model id", Required: true),
        new("image", "FILE", "image file (PNG, JPEG, GIF, WebP)", Required: true),
        new("query", "TEXT", "entity name or question", Required: true),
        new("api-key", "KEY", $"API key (default: ${ApiKeyVariable})"),
        new("version", "N", "model version (default: the active version)"),
        new("max-new-tokens", "N", "longest completion (default 256)"),
        new("stream", null, "stream the reasoning as it is generated"),
        new("json", null, "print the answer as JSON"),
    ];

    /// <inheritdoc />
    public async Task<int> RunAsync(CliArguments args, CliContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);
        if (!Uri.TryCreate(args.Required("server"), UriKind.Absolute, out var server) || server.Scheme is not ("http" or "https"))
        {
            throw new CliUsageException("--server", "must be an http or https URL.");
        }

        var key = args.String("api-key") ?? Environment.GetEnvironmentVariable(ApiKeyVariable);
        if (string.IsNullOrWhiteSpace(key))
        {
            throw new CliUsageException("--api-key", $"is required (or set {ApiKeyVariable}).");
        }

        var image = await File.ReadAllBytesAsync(args.ExistingFile("image"), cancellationToken).ConfigureAwait(false);
        var model = args.Required("model");
        var query = args.Required("query");
        var version = args.IntOrNull("version", 1);
        var maxNewTokens = args.IntOrNull("max-new-tokens", 1, 2048);
        using var http = handlerFactory is null ? new HttpClient() : new HttpClient(handlerFactory());
        http.BaseAddress = new Uri(server.ToString().TrimEnd('/') + "/");
        http.Timeout = TimeSpan.FromMinutes(10);
        var client = new DeepPerceptionClient(http, key);
        try
        {
            GroundResultDto answer;
            if (args.Has("stream"))
            {
                GroundResultDto? final = null;
                await foreach (var e in client.GroundStreamAsync(model, image, query, version, maxNewTokens, cancellationToken).ConfigureAwait(false))
                {
                    if (e.Final is { } f)
                    {
                        final = f;
                    }
                    else if (!args.Has("json"))
                    {
                        await context.Error.WriteAsync(e.Text).ConfigureAwait(false);
                    }
                }

                if (!args.Has("json"))
                {
                    await context.Error.WriteLineAsync().ConfigureAwait(false);
                }

                answer = final ?? throw new InvalidOperationException("The server's stream ended without a final answer.");
            }
            else
            {
                answer = await client.GroundAsync(model, image, query, version, maxNewTokens, cancellationToken).ConfigureAwait(false);
            }

            if (args.Has("json"))
            {
                await context.Out.WriteLineAsync(JsonSerializer.Serialize(answer, new JsonSerializerOptions(JsonSerializerDefaults.Web))).ConfigureAwait(false);
                return CliApp.Success;
            }

            if (!args.Has("stream") && answer.Reasoning is { Length: > 0 } reasoning)
            {
                await context.Error.WriteLineAsync(reasoning).ConfigureAwait(false);
            }

            static string Box(BoxDto b) => string.Create(CultureInfo.InvariantCulture, $"({b.X1:0.#},{b.Y1:0.#}),({b.X2:0.#},{b.Y2:0.#})");
            await context.Out.WriteLineAsync(answer.Box is { } box
                ? $"box (pixels of the {answer.ImageWidth}x{answer.ImageHeight} image): {Box(box)}   model grid: {Box(answer.ModelBox!)}"
                : $"no box ({answer.ParseStatus})").ConfigureAwait(false);
            await context.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"parse: {answer.ParseStatus}  model {answer.Model} v{answer.Version?.ToString(CultureInfo.InvariantCulture) ?? "base"}  tokens {answer.GeneratedTokens}  model {answer.Timings.ModelMs:F0} ms  server {answer.Timings.ServerMs:F0} ms  batch {answer.Timings.BatchSize}")).ConfigureAwait(false);
            return CliApp.Success;
        }
        catch (DeepPerceptionApiException e)
        {
            await context.Error.WriteLineAsync($"error: the server answered {(int)e.Status} {e.Title}: {e.Detail}").ConfigureAwait(false);
            return CliApp.Failure;
        }
        catch (HttpRequestException e)
        {
            await context.Error.WriteLineAsync($"error: cannot reach {server}: {e.Message}").ConfigureAwait(false);
            return CliApp.Failure;
        }
    }
}
