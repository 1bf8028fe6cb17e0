using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace DeepPerception.ML.Preprocessing.Text;

/// <summary>
/// Qwen's byte-level BPE tokenizer, loaded from a Hugging Face <c>tokenizer.json</c> (as shipped with Qwen2-VL checkpoints)
/// and run with Microsoft.ML.Tokenizers. Encoding matches Hugging Face's fast tokenizer: added tokens (the special
/// <c>&lt;|…|&gt;</c> tokens) are cut out of the raw text first and become their ids; each remaining piece is normalized
/// (NFC), split with the pattern from the file and byte-level BPE encoded. No BOS/EOS is added.
/// An instance is immutable after loading and may be used from several threads at once.
/// </summary>
public sealed class QwenTokenizer
{
    private readonly BpeTokenizer _bpe;
    private readonly Regex? _addedTokenPattern;
    private readonly Dictionary<string, int> _vocabulary;
    private readonly Dictionary<string, AddedToken> _addedByContent;
    private readonly byte[]?[] _tokenBytes;
    private readonly string?[] _tokens;
    private readonly bool[] _isSpecial;

    private QwenTokenizer(TokenizerDefinition definition, string? eosToken, string? padToken, string sourcePath)
    {
        _vocabulary = definition.Vocabulary;
        _addedByContent = definition.AddedTokens.ToDictionary(t => t.Content, StringComparer.Ordinal);
        AddedTokens = [.. definition.AddedTokens.OrderBy(t => t.Id)];

        var maxId = Math.Max(_vocabulary.Values.Max(), AddedTokens.Count > 0 ? AddedTokens[^1].Id : -1);
        VocabSize = maxId + 1;
        _tokens = new string?[VocabSize];
        _tokenBytes = new byte[]?[VocabSize];
        _isSpecial = new bool[VocabSize];
        foreach (var (token, id) in _vocabulary)
        {
            _tokens[id] = token;
            _tokenBytes[id] = TokenToBytes(token);
        }

        foreach (var added in AddedTokens)
        {
            _tokens[added.Id] = added.Content;
            _tokenBytes[added.Id] = TokenToBytes(added.Content);
            _isSpecial[added.Id] = added.Special;
        }

        // All added tokens split the text, special or not, exactly as in Hugging Face tokenizers (leftmost, then longest).
        var addedIds = AddedTokens.ToDictionary(t => t.Content, t => t.Id, StringComparer.Ordinal);
        if (addedIds.Count > 0)
        {
            var alternatives = addedIds.Keys.OrderByDescending(k => k.Length).ThenBy(k => k, StringComparer.Ordinal).Select(Regex.Escape);
            _addedTokenPattern = new Regex(string.Join('|', alternatives), RegexOptions.CultureInvariant);
        }

        Regex split;
        try
        {
            split = new Regex(definition.SplitPattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
        }
        catch (ArgumentException ex)
        {
            throw new TokenizerLoadException(sourcePath, $"the split regex is not valid: {ex.Message}", ex);
        }

        try
        {
            _bpe = BpeTokenizer.Create(new BpeOptions(_vocabulary)
            {
                Merges = definition.Merges,
                ByteLevel = true,
                PreTokenizer = new RegexPreTokenizer(split, addedIds),
                SpecialTokens = addedIds,
                Normalizer = definition.Normalization is { } form ? new UnicodeNormalizer(form) : null,
            });
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new TokenizerLoadException(sourcePath, $"the BPE model cannot be built: {ex.Message}", ex);
        }

        EndOfTextId = TokenToId(QwenSpecialTokens.EndOfText);
        ImStartId = TokenToId(QwenSpecialTokens.ImStart);
        ImEndId = TokenToId(QwenSpecialTokens.ImEnd);
        ObjectRefStartId = TokenToId(QwenSpecialTokens.ObjectRefStart);
        ObjectRefEndId = TokenToId(QwenSpecialTokens.ObjectRefEnd);
        BoxStartId = TokenToId(QwenSpecialTokens.BoxStart);
        BoxEndId = TokenToId(QwenSpecialTokens.BoxEnd);
        VisionStartId = TokenToId(QwenSpecialTokens.VisionStart);
        VisionEndId = TokenToId(QwenSpecialTokens.VisionEnd);
        ImagePadId = TokenToId(QwenSpecialTokens.ImagePad);
        VideoPadId = TokenToId(QwenSpecialTokens.VideoPad);
        EosTokenId = eosToken is null ? null : TokenToId(eosToken) ?? throw new TokenizerLoadException(sourcePath, $"the eos token '{eosToken}' is not in the vocabulary.");
        PadTokenId = padToken is null ? null : TokenToId(padToken) ?? throw new TokenizerLoadException(sourcePath, $"the pad token '{padToken}' is not in the vocabulary.");
    }

    /// <summary>Number of token ids: the highest id (vocabulary or added token) plus one.</summary>
    public int VocabSize { get; }

    /// <summary>The added tokens (<c>added_tokens</c> of the file, after the optional id cap), in id order.</summary>
    public IReadOnlyList<AddedToken> AddedTokens { get; }

    /// <summary>Id of <c>&lt;|endoftext|&gt;</c>, when present.</summary>
    public int? EndOfTextId { get; }

    /// <summary>Id of <c>&lt;|im_start|&gt;</c>, when present.</summary>
    public int? ImStartId { get; }

    /// <summary>Id of <c>&lt;|im_end|&gt;</c>, when present.</summary>
    public int? ImEndId { get; }

    /// <summary>Id of <c>&lt;|object_ref_start|&gt;</c>, when present.</summary>
    public int? ObjectRefStartId { get; }

    /// <summary>Id of <c>&lt;|object_ref_end|&gt;</c>, when present.</summary>
    public int? ObjectRefEndId { get; }

    /// <summary>Id of <c>&lt;|box_start|&gt;</c>, when present.</summary>
    public int? BoxStartId { get; }

    /// <summary>Id of <c>&lt;|box_end|&gt;</c>, when present.</summary>
    public int? BoxEndId { get; }

    /// <summary>Id of <c>&lt;|vision_start|&gt;</c>, when present.</summary>
    public int? VisionStartId { get; }

    /// <summary>Id of <c>&lt;|vision_end|&gt;</c>, when present.</summary>
    public int? VisionEndId { get; }

    /// <summary>Id of <c>&lt;|image_pad|&gt;</c>, when present.</summary>
    public int? ImagePadId { get; }

    /// <summary>Id of <c>&lt;|video_pad|&gt;</c>, when present.</summary>
    public int? VideoPadId { get; }

    /// <summary>Id of the end-of-sequence token named by <c>tokenizer_config.json</c> (<see cref="FromDirectory"/>), else null.</summary>
    public int? EosTokenId { get; }

    /// <summary>Id of the padding token named by <c>tokenizer_config.json</c> (<see cref="FromDirectory"/>), else null.</summary>
    public int? PadTokenId { get; }

    /// <summary>
    /// Loads a byte-level BPE <c>tokenizer.json</c>. With <paramref name="maxTokenId"/>, every vocabulary entry and added
    /// token above it is dropped (e.g. <see cref="QwenSpecialTokens.Qwen2VLMaxTokenId"/> turns a Qwen3 file into the
    /// Qwen2-VL vocabulary, in which <c>&lt;think&gt;</c> is plain text).
    /// </summary>
    /// <exception cref="TokenizerLoadException">The file is missing, not JSON, or not a supported tokenizer.</exception>
    public static QwenTokenizer FromFile(string tokenizerJsonPath, int? maxTokenId = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(tokenizerJsonPath);
        if (maxTokenId is < 255)
        {
            throw new ArgumentOutOfRangeException(nameof(maxTokenId), maxTokenId, "A byte-level vocabulary needs at least the 256 byte tokens.");
        }

        var definition = TokenizerJsonReader.Read(tokenizerJsonPath, maxTokenId);
        return new QwenTokenizer(definition, null, null, tokenizerJsonPath);
    }

    /// <summary>
    /// Loads <c>tokenizer.json</c> from a model directory, and the eos/pad tokens from <c>tokenizer_config.json</c> when
    /// that file is present.
    /// </summary>
    /// <exception cref="TokenizerLoadException">A file is missing, not JSON, or not a supported tokenizer.</exception>
    public static QwenTokenizer FromDirectory(string modelDir, int? maxTokenId = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelDir);
        var tokenizerPath = Path.Combine(modelDir, "tokenizer.json");
        if (!Directory.Exists(modelDir))
        {
            throw new TokenizerLoadException(tokenizerPath, $"the model directory '{modelDir}' does not exist.");
        }

        if (maxTokenId is < 255)
        {
            throw new ArgumentOutOfRangeException(nameof(maxTokenId), maxTokenId, "A byte-level vocabulary needs at least the 256 byte tokens.");
        }

        var definition = TokenizerJsonReader.Read(tokenizerPath, maxTokenId);
        var configPath = Path.Combine(modelDir, "tokenizer_config.json");
        string? eos = null, pad = null;
        if (File.Exists(configPath))
        {
            (eos, pad) = ReadConfig(configPath);
        }

        return new QwenTokenizer(definition, eos, pad, File.Exists(configPath) ? configPath : tokenizerPath);
    }

    /// <summary>Encodes text to ids. Added/special tokens written in the text become their single ids; nothing is prepended.</summary>
    public IReadOnlyList<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        var start = 0;
        if (_addedTokenPattern is not null)
        {
            for (var match = _addedTokenPattern.Match(text); match.Success; match = match.NextMatch())
            {
                EncodeOrdinary(text, start, match.Index - start, ids);
                ids.Add(_addedByContent[match.Value].Id);
                start = match.Index + match.Length;
            }
        }

        EncodeOrdinary(text, start, text.Length - start, ids);
        return ids;
    }

    /// <summary>
    /// Decodes ids to text (invalid UTF-8, e.g. a character cut in half, becomes U+FFFD). With
    /// <paramref name="skipSpecialTokens"/>, added tokens marked special are left out (non-special added tokens such as
    /// Qwen3's <c>&lt;think&gt;</c> stay), as Hugging Face's <c>skip_special_tokens</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is not in the vocabulary.</exception>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var bytes = new List<byte>();
        foreach (var id in ids)
        {
            if (GetDecodeBytes(id, skipSpecialTokens) is { } tokenBytes)
            {
                bytes.AddRange(tokenBytes);
            }
        }

        return Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
    }

    /// <summary>The id of a token string (a vocabulary entry in byte-level form, e.g. <c>Ġthe</c>, or an added token), else null.</summary>
    public int? TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (_addedByContent.TryGetValue(token, out var added))
        {
            return added.Id;
        }

        return _vocabulary.TryGetValue(token, out var id) ? id : null;
    }

    /// <summary>The token string of an id (byte-level form for vocabulary entries), or null for an unknown id.</summary>
    public string? IdToToken(int id) => id >= 0 && id < _tokens.Length ? _tokens[id] : null;

    /// <summary>Whether <paramref name="id"/> is an added token marked special (skipped by <c>skipSpecialTokens</c>).</summary>
    public bool IsSpecialToken(int id) => id >= 0 && id < _isSpecial.Length && _isSpecial[id];

    /// <summary>The bytes an id decodes to, or null when it is a special token that is skipped.</summary>
    internal byte[]? GetDecodeBytes(int id, bool skipSpecialTokens)
    {
        if (id < 0 || id >= _tokenBytes.Length || _tokenBytes[id] is not { } bytes)
        {
            throw new ArgumentOutOfRangeException(nameof(id), id, $"Token id {id} is not in the vocabulary (size {VocabSize}).");
        }

        return skipSpecialTokens && _isSpecial[id] ? null : bytes;
    }

    private void EncodeOrdinary(string text, int start, int length, List<int> ids)
    {
        if (length > 0)
        {
            ids.AddRange(_bpe.EncodeToIds(text.Substring(start, length)));
        }
    }

    // As Hugging Face's ByteLevel decoder: map every character back to its byte; a token with a character outside the
    // byte-level alphabet is taken as its UTF-8 text.
    private static byte[] TokenToBytes(string token)
    {
        var bytes = new byte[token.Length];
        for (var i = 0; i < token.Length; i++)
        {
            if (!ByteLevelAlphabet.TryCharToByte(token[i], out bytes[i]))
            {
                return Encoding.UTF8.GetBytes(token);
            }
        }

        return bytes;
    }

    private static (string? Eos, string? Pad) ReadConfig(string configPath)
    {
        try
        {
            using var stream = File.OpenRead(configPath);
            using var document = JsonDocument.Parse(stream);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new TokenizerLoadException(configPath, "the JSON root is not an object.");
            }

            return (ReadTokenName(configPath, document.RootElement, "eos_token"), ReadTokenName(configPath, document.RootElement, "pad_token"));
        }
        catch (JsonException ex)
        {
            throw new TokenizerLoadException(configPath, $"the file is not valid JSON ({ex.Message}).", ex);
        }
        catch (IOException ex)
        {
            throw new TokenizerLoadException(configPath, $"the file cannot be read ({ex.Message}).", ex);
        }
    }

    private static string? ReadTokenName(string configPath, JsonElement root, string property)
    {
        if (!root.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Object when value.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String => content.GetString(),
            _ => throw new TokenizerLoadException(configPath, $"'{property}' is neither a string nor an object with a 'content' string."),
        };
    }
}
