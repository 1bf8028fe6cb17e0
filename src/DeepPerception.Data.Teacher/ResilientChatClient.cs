using System.ClientModel;
using Microsoft.Extensions.AI;

namespace DeepPerception.Data.Teacher;

/// <summary>
/// A chat-client middleware for teacher calls: at most <see cref="TeacherOptions.MaxConcurrency"/> requests in flight,
/// a timeout per attempt, retries with exponential backoff on transient failures (5xx, 408, 429, timeouts, network
/// errors), and typed errors: <see cref="TeacherRequestException"/> for other statuses,
/// <see cref="TeacherProtocolException"/> when the answer cannot be read as a chat completion and
/// <see cref="TeacherUnavailableException"/> when the retries are spent.
/// </summary>
public sealed class ResilientChatClient : DelegatingChatClient
{
    private readonly TeacherOptions _options;
    private readonly SemaphoreSlim _slots;

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    public ResilientChatClient(IChatClient inner, TeacherOptions options)
        : base(inner)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _slots = new SemaphoreSlim(options.MaxConcurrency, options.MaxConcurrency);
    }

    /// <summary>Attempts made so far (first attempts and retries), for reports.</summary>
    public int Attempts => Volatile.Read(ref _attempts);

    private int _attempts;

    /// <inheritdoc />
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages as IList<ChatMessage> ?? messages.ToList();
        var backoff = _options.InitialBackoff;
        Exception? last = null;
        for (var attempt = 1; attempt <= _options.MaxRetries + 1; attempt++)
        {
            if (attempt > 1)
            {
                await Task.Delay(backoff, cancellationToken).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxBackoff.Ticks));
            }

            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.RequestTimeout);
            try
            {
                Interlocked.Increment(ref _attempts);
                return await base.GetResponseAsync(list, options, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (OperationCanceledException ex)
            {
                last = new TimeoutException($"No answer within {_options.RequestTimeout.TotalSeconds:0.###} s.", ex);
            }
            catch (ClientResultException ex) when (IsTransient(ex.Status))
            {
                last = ex;
            }
            catch (ClientResultException ex)
            {
                throw new TeacherRequestException(ex.Status, $"The teacher endpoint refused the request with HTTP {ex.Status}: {ex.Message}", ex);
            }
            catch (HttpRequestException ex)
            {
                last = ex;
            }
            catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException or FormatException or ArgumentException or KeyNotFoundException or NullReferenceException)
            {
                throw new TeacherProtocolException($"The teacher endpoint's answer is not a valid chat completion ({ex.GetType().Name}: {ex.Message}).", ex);
            }
            finally
            {
                _slots.Release();
            }
        }

        throw new TeacherUnavailableException(_options.MaxRetries + 1,
            $"The teacher endpoint failed {_options.MaxRetries + 1} time(s); last error: {Describe(last)}", last);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _slots.Dispose();
        }

        base.Dispose(disposing);
    }

    private static bool IsTransient(int status) => status is 0 or 408 or 429 or >= 500;

    private static string Describe(Exception? ex) => ex switch
    {
        null => "none",
        ClientResultException c => $"HTTP {c.Status}: {c.Message}",
        _ => ex.Message,
    };
}
