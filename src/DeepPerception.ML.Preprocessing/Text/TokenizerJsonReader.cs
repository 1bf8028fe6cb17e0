using System.Text;
using System.Text.Json;

namespace DeepPerception.ML.Preprocessing.Text;

/// <summary>An added token of a <c>tokenizer.json</c> (<c>added_tokens</c>): matched in raw text before pre-tokenization.</summary>
/// <param name="Id">Token id.</param>
/// <param name="Content">The exact text of the token.</param>
/// <param name="Special">Whether the token is special (removed when decoding with special tokens skipped).</param>
public sealed record AddedToken(int Id, string Content, bool Special);

/// <summary>What <see cref="TokenizerJsonReader"/> extracts from a byte-level BPE <c>tokenizer.json</c>.</summary>
internal sealed record TokenizerDefinition(
    Dictionary<string, int> Vocabulary,
    List<string> Merges,
    List<AddedToken> AddedTokens,
    string SplitPattern,
    NormalizationForm? Normalization);

/// <summary>Reads the parts of a Hugging Face <c>tokenizer.json</c> that a byte-level BPE tokenizer needs.</summary>
internal static class TokenizerJsonReader
{
    /// <summary>The GPT-2 pattern used when the byte-level pre-tokenizer splits by itself (<c>use_regex: true</c>).</summary>
    private const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    public static TokenizerDefinition Read(string path, int? maxTokenId)
    {
        if (!File.Exists(path))
        {
            throw new TokenizerLoadException(path, "the file does not exist.");
        }

        JsonDocument document;
        try
        {
            using var stream = File.OpenRead(path);
            document = JsonDocument.Parse(stream, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException ex)
        {
            throw new TokenizerLoadException(path, $"the file is not valid JSON ({ex.Message}).", ex);
        }
        catch (IOException ex)
        {
            throw new TokenizerLoadException(path, $"the file cannot be read ({ex.Message}).", ex);
        }

        using (document)
        {
            try
            {
                return Read(path, document.RootElement, maxTokenId);
            }
            catch (InvalidOperationException ex)
            {
                // JsonElement accessors throw this when a value has an unexpected JSON type (e.g. an id written as a string).
                throw new TokenizerLoadException(path, $"a value has an unexpected JSON type ({ex.Message}).", ex);
            }
        }
    }

    private static TokenizerDefinition Read(string path, JsonElement root, int? maxTokenId)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new TokenizerLoadException(path, "the JSON root is not an object.");
        }

        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
        {
            throw new TokenizerLoadException(path, "the 'model' section is missing or is not an object.");
        }

        if (model.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() != "BPE")
        {
            throw new TokenizerLoadException(path, $"model type '{type.GetString()}' is not supported (only 'BPE').");
        }

        foreach (var unsupported in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
        {
            if (model.TryGetProperty(unsupported, out var v) && v.ValueKind == JsonValueKind.String && v.GetString()!.Length > 0)
            {
                throw new TokenizerLoadException(path, $"model.{unsupported} '{v.GetString()}' is not supported (byte-level BPE uses none).");
            }
        }

        var vocabulary = ReadVocabulary(path, model, maxTokenId);
        var merges = ReadMerges(path, model, vocabulary);
        var added = ReadAddedTokens(path, root, vocabulary, maxTokenId);
        var (pattern, byteLevel) = ReadPreTokenizer(path, root);
        if (!byteLevel && !HasByteLevelDecoder(root))
        {
            throw new TokenizerLoadException(path, "the tokenizer is not byte-level (no ByteLevel pre-tokenizer or decoder); only byte-level BPE is supported.");
        }

        var normalization = ReadNormalizer(path, root);
        return new TokenizerDefinition(vocabulary, merges, added, pattern, normalization);
    }

    private static Dictionary<string, int> ReadVocabulary(string path, JsonElement model, int? maxTokenId)
    {
        if (!model.TryGetProperty("vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Object)
        {
            throw new TokenizerLoadException(path, "'model.vocab' is missing or is not an object of token → id.");
        }

        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        var seenIds = new HashSet<int>();
        foreach (var entry in vocab.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out var id) || id < 0)
            {
                throw new TokenizerLoadException(path, $"'model.vocab' entry '{entry.Name}' has no valid non-negative integer id.");
            }

            if (maxTokenId is { } max && id > max)
            {
                continue;
            }

            if (!seenIds.Add(id))
            {
                throw new TokenizerLoadException(path, $"'model.vocab' uses id {id} twice (again for '{entry.Name}').");
            }

            result[entry.Name] = id;
        }

        if (result.Count == 0)
        {
            throw new TokenizerLoadException(path, "'model.vocab' is empty.");
        }

        return result;
    }

    private static List<string> ReadMerges(string path, JsonElement model, Dictionary<string, int> vocabulary)
    {
        if (!model.TryGetProperty("merges", out var merges) || merges.ValueKind != JsonValueKind.Array)
        {
            throw new TokenizerLoadException(path, "'model.merges' is missing or is not an array.");
        }

        var result = new List<string>(merges.GetArrayLength());
        var index = 0;
        foreach (var merge in merges.EnumerateArray())
        {
            string left, right;
            if (merge.ValueKind == JsonValueKind.String)
            {
                var text = merge.GetString()!;
                var space = text.IndexOf(' ', StringComparison.Ordinal);
                if (space <= 0 || space == text.Length - 1 || text.IndexOf(' ', space + 1) >= 0)
                {
                    throw new TokenizerLoadException(path, $"merge #{index} '{text}' is not of the form 'left right'.");
                }

                left = text[..space];
                right = text[(space + 1)..];
            }
            else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2
                     && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
            {
                left = merge[0].GetString()!;
                right = merge[1].GetString()!;
                if (left.Length == 0 || right.Length == 0 || left.Contains(' ', StringComparison.Ordinal) || right.Contains(' ', StringComparison.Ordinal))
                {
                    throw new TokenizerLoadException(path, $"merge #{index} ['{left}', '{right}'] has an empty part or a part containing a space.");
                }
            }
            else
            {
                throw new TokenizerLoadException(path, $"merge #{index} is neither a 'left right' string nor a pair of strings.");
            }

            index++;

            // A capped vocabulary drops the merges whose parts or result it no longer contains.
            if (vocabulary.ContainsKey(left) && vocabulary.ContainsKey(right) && vocabulary.ContainsKey(left + right))
            {
                result.Add($"{left} {right}");
            }
        }

        return result;
    }

    private static List<AddedToken> ReadAddedTokens(string path, JsonElement root, Dictionary<string, int> vocabulary, int? maxTokenId)
    {
        var result = new List<AddedToken>();
        if (!root.TryGetProperty("added_tokens", out var added) || added.ValueKind == JsonValueKind.Null)
        {
            return result;
        }

        if (added.ValueKind != JsonValueKind.Array)
        {
            throw new TokenizerLoadException(path, "'added_tokens' is not an array.");
        }

        var contents = new HashSet<string>(StringComparer.Ordinal);
        HashSet<int>? vocabularyIds = null;
        foreach (var token in added.EnumerateArray())
        {
            if (token.ValueKind != JsonValueKind.Object
                || !token.TryGetProperty("id", out var idElement) || !idElement.TryGetInt32(out var id) || id < 0
                || !token.TryGetProperty("content", out var contentElement) || contentElement.ValueKind != JsonValueKind.String
                || string.IsNullOrEmpty(contentElement.GetString()))
            {
                throw new TokenizerLoadException(path, $"an entry of 'added_tokens' lacks a non-negative 'id' or a non-empty 'content': {token.GetRawText()}");
            }

            if (maxTokenId is { } max && id > max)
            {
                continue;
            }

            foreach (var flag in new[] { "lstrip", "rstrip", "single_word" })
            {
                if (token.TryGetProperty(flag, out var value) && value.ValueKind == JsonValueKind.True)
                {
                    throw new TokenizerLoadException(path, $"added token '{contentElement.GetString()}' sets '{flag}', which is not supported.");
                }
            }

            var content = contentElement.GetString()!;
            var special = token.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True;
            if (!contents.Add(content))
            {
                throw new TokenizerLoadException(path, $"added token '{content}' is listed twice.");
            }

            if (vocabulary.TryGetValue(content, out var vocabId) && vocabId != id)
            {
                throw new TokenizerLoadException(path, $"added token '{content}' has id {id} but the vocabulary gives it id {vocabId}.");
            }

            vocabularyIds ??= [.. vocabulary.Values];
            if (!vocabulary.ContainsKey(content) && vocabularyIds.Contains(id))
            {
                var clash = vocabulary.First(kv => kv.Value == id);
                throw new TokenizerLoadException(path, $"added token '{content}' reuses id {id} of vocabulary token '{clash.Key}'.");
            }

            result.Add(new AddedToken(id, content, special));
        }

        return result;
    }

    private static (string Pattern, bool ByteLevel) ReadPreTokenizer(string path, JsonElement root)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind != JsonValueKind.Object)
        {
            throw new TokenizerLoadException(path, "'pre_tokenizer' is missing; a byte-level BPE tokenizer needs a Split and/or ByteLevel pre-tokenizer.");
        }

        var steps = new List<JsonElement>();
        if (GetType(pre) == "Sequence")
        {
            if (!pre.TryGetProperty("pretokenizers", out var list) || list.ValueKind != JsonValueKind.Array)
            {
                throw new TokenizerLoadException(path, "'pre_tokenizer' of type Sequence has no 'pretokenizers' array.");
            }

            steps.AddRange(list.EnumerateArray());
        }
        else
        {
            steps.Add(pre);
        }

        string? pattern = null;
        var byteLevel = false;
        foreach (var step in steps)
        {
            switch (GetType(step))
            {
                case "Split":
                    if (pattern is not null)
                    {
                        throw new TokenizerLoadException(path, "more than one Split pre-tokenizer is not supported.");
                    }

                    pattern = ReadSplitPattern(path, step);
                    break;
                case "ByteLevel":
                    byteLevel = true;
                    if (step.TryGetProperty("add_prefix_space", out var aps) && aps.ValueKind == JsonValueKind.True)
                    {
                        throw new TokenizerLoadException(path, "ByteLevel with add_prefix_space = true is not supported.");
                    }

                    if ((!step.TryGetProperty("use_regex", out var useRegex) || useRegex.ValueKind != JsonValueKind.False) && pattern is null)
                    {
                        pattern = Gpt2Pattern;
                    }

                    break;
                default:
                    throw new TokenizerLoadException(path, $"pre-tokenizer type '{GetType(step) ?? "(none)"}' is not supported (only Split and ByteLevel).");
            }
        }

        if (pattern is null)
        {
            throw new TokenizerLoadException(path, "the pre-tokenizer defines no split pattern (no Split step and ByteLevel has use_regex = false).");
        }

        return (pattern, byteLevel);
    }

    private static string ReadSplitPattern(string path, JsonElement split)
    {
        if (split.TryGetProperty("behavior", out var behavior) && behavior.GetString() != "Isolated")
        {
            throw new TokenizerLoadException(path, $"Split behavior '{behavior.GetString()}' is not supported (only 'Isolated').");
        }

        if (split.TryGetProperty("invert", out var invert) && invert.ValueKind == JsonValueKind.True)
        {
            throw new TokenizerLoadException(path, "Split with invert = true is not supported.");
        }

        if (!split.TryGetProperty("pattern", out var pattern) || pattern.ValueKind != JsonValueKind.Object)
        {
            throw new TokenizerLoadException(path, "the Split pre-tokenizer has no 'pattern' object.");
        }

        string result;
        if (pattern.TryGetProperty("Regex", out var regex) && regex.ValueKind == JsonValueKind.String)
        {
            result = regex.GetString()!;
        }
        else if (pattern.TryGetProperty("String", out var literal) && literal.ValueKind == JsonValueKind.String)
        {
            result = System.Text.RegularExpressions.Regex.Escape(literal.GetString()!);
        }
        else
        {
            throw new TokenizerLoadException(path, "the Split pattern has neither a 'Regex' nor a 'String' value.");
        }

        try
        {
            _ = new System.Text.RegularExpressions.Regex(result);
        }
        catch (ArgumentException ex)
        {
            throw new TokenizerLoadException(path, $"the Split regex is not valid: {ex.Message}", ex);
        }

        if (result.Length == 0)
        {
            throw new TokenizerLoadException(path, "the Split pattern is empty.");
        }

        return result;
    }

    private static bool HasByteLevelDecoder(JsonElement root) =>
        root.TryGetProperty("decoder", out var decoder) && decoder.ValueKind == JsonValueKind.Object && GetType(decoder) == "ByteLevel";

    private static NormalizationForm? ReadNormalizer(string path, JsonElement root)
    {
        if (!root.TryGetProperty("normalizer", out var normalizer) || normalizer.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var steps = new List<JsonElement>();
        if (GetType(normalizer) == "Sequence")
        {
            if (!normalizer.TryGetProperty("normalizers", out var list) || list.ValueKind != JsonValueKind.Array)
            {
                throw new TokenizerLoadException(path, "'normalizer' of type Sequence has no 'normalizers' array.");
            }

            steps.AddRange(list.EnumerateArray());
        }
        else
        {
            steps.Add(normalizer);
        }

        NormalizationForm? form = null;
        foreach (var step in steps)
        {
            var next = GetType(step) switch
            {
                "NFC" => NormalizationForm.FormC,
                "NFD" => NormalizationForm.FormD,
                "NFKC" => NormalizationForm.FormKC,
                "NFKD" => NormalizationForm.FormKD,
                var other => throw new TokenizerLoadException(path, $"normalizer type '{other ?? "(none)"}' is not supported (only NFC, NFD, NFKC, NFKD)."),
            };
            if (form is not null && form != next)
            {
                throw new TokenizerLoadException(path, "a sequence of different Unicode normalizers is not supported.");
            }

            form = next;
        }

        return form;
    }

    private static string? GetType(JsonElement element) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String
            ? t.GetString()
            : null;
}
