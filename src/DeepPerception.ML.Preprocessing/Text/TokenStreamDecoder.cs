using System.Buffers;
using System.Text;

namespace DeepPerception.ML.Preprocessing.Text;

/// <summary>
/// Decodes generated token ids one at a time into text deltas for streaming. Bytes of a character split across tokens
/// are held back until the character is complete, so a delta never ends in half a character. The concatenation of all
/// deltas and <see cref="Flush"/> equals <see cref="QwenTokenizer.Decode"/> of the whole sequence.
/// Use one instance per stream; it is not thread-safe.
/// </summary>
public sealed class TokenStreamDecoder
{
    private readonly QwenTokenizer _tokenizer;
    private readonly bool _skipSpecialTokens;
    private readonly List<byte> _pending = [];
    private readonly StringBuilder _text = new();

    /// <summary>Creates a decoder; <paramref name="skipSpecialTokens"/> as in <see cref="QwenTokenizer.Decode"/>.</summary>
    public TokenStreamDecoder(QwenTokenizer tokenizer, bool skipSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
        _skipSpecialTokens = skipSpecialTokens;
    }

    /// <summary>All text emitted so far.</summary>
    public string Text => _text.ToString();

    /// <summary>Number of bytes held back because they may start a character that is not complete yet.</summary>
    public int PendingByteCount => _pending.Count;

    /// <summary>Feeds one id and returns the text it completes (possibly empty).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The id is not in the vocabulary.</exception>
    public string Append(int id)
    {
        if (_tokenizer.GetDecodeBytes(id, _skipSpecialTokens) is { } bytes)
        {
            _pending.AddRange(bytes);
        }

        return Drain(final: false);
    }

    /// <summary>Ends the stream: bytes still held back (an incomplete character) are emitted as U+FFFD.</summary>
    public string Flush() => Drain(final: true);

    /// <summary>Forgets all state to start a new stream.</summary>
    public void Reset()
    {
        _pending.Clear();
        _text.Clear();
    }

    private string Drain(bool final)
    {
        if (_pending.Count == 0)
        {
            return string.Empty;
        }

        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_pending);
        var delta = new StringBuilder();
        var offset = 0;
        Span<char> chars = stackalloc char[2];
        while (offset < span.Length)
        {
            var status = Rune.DecodeFromUtf8(span[offset..], out var rune, out var consumed);
            if (status == OperationStatus.NeedMoreData && !final)
            {
                break;
            }

            // Done, or invalid data (rune is U+FFFD over the maximal invalid subpart, as Encoding.UTF8 does).
            var written = rune.EncodeToUtf16(chars);
            delta.Append(chars[..written]);
            offset += consumed;
        }

        _pending.RemoveRange(0, offset);
        var result = delta.ToString();
        _text.Append(result);
        return result;
    }
}
