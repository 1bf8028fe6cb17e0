using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace DeepPerception.ML.Preprocessing.Text;

/// <summary>
/// Trains a small byte-level BPE tokenizer with Qwen's pre-tokenization (NFC, the Qwen split pattern, GPT-2 byte
/// alphabet) for tiny test and toy models. The result is a Hugging Face <c>tokenizer.json</c> that
/// <see cref="QwenTokenizer.FromFile"/> loads like a real Qwen file. All 256 byte tokens are in the vocabulary, so any
/// text round-trips. Training is deterministic: equal inputs give byte-identical output.
/// </summary>
public static class BpeTrainer
{
    /// <summary>
    /// Learns merges from <paramref name="corpus"/> until the vocabulary (256 byte tokens + merges + special tokens)
    /// reaches <paramref name="vocabSize"/> or no pair occurs twice any more. Special tokens (default: the fourteen
    /// <see cref="QwenSpecialTokens.All"/>) are cut out of the corpus and get the ids after the learned tokens.
    /// </summary>
    public static BpeTrainingResult Train(IEnumerable<string> corpus, int vocabSize, IEnumerable<string>? specialTokens = null)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        var specials = (specialTokens ?? QwenSpecialTokens.All).ToList();
        if (specials.Any(string.IsNullOrEmpty))
        {
            throw new ArgumentException("Special tokens must be non-empty strings.", nameof(specialTokens));
        }

        if (specials.Distinct(StringComparer.Ordinal).Count() != specials.Count)
        {
            throw new ArgumentException("Special tokens must be distinct.", nameof(specialTokens));
        }

        var minimum = 256 + specials.Count;
        if (vocabSize < minimum)
        {
            throw new ArgumentOutOfRangeException(nameof(vocabSize), vocabSize, $"The vocabulary needs at least 256 byte tokens plus {specials.Count} special tokens = {minimum}.");
        }

        var wordCounts = CountWords(corpus, specials);
        var tokens = new List<string>(vocabSize);
        var tokenIds = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var c in ByteLevelAlphabet.OrderedCharacters)
        {
            tokenIds[c.ToString()] = tokens.Count;
            tokens.Add(c.ToString());
        }

        var merges = LearnMerges(wordCounts, tokens, tokenIds, vocabSize - specials.Count);

        var added = new List<AddedToken>(specials.Count);
        foreach (var special in specials)
        {
            if (tokenIds.ContainsKey(special))
            {
                throw new ArgumentException($"Special token '{special}' collides with a byte-level vocabulary token.", nameof(specialTokens));
            }

            added.Add(new AddedToken(tokens.Count + added.Count, special, Special: true));
        }

        return new BpeTrainingResult(tokens, merges, added);
    }

    private static Dictionary<string, long> CountWords(IEnumerable<string> corpus, List<string> specials)
    {
        var split = new Regex(QwenSpecialTokens.SplitPattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
        var specialPattern = new Regex(
            string.Join('|', specials.OrderByDescending(s => s.Length).ThenBy(s => s, StringComparer.Ordinal).Select(Regex.Escape)),
            RegexOptions.CultureInvariant);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var document in corpus)
        {
            if (document is null)
            {
                throw new ArgumentException("The corpus contains a null document.", nameof(corpus));
            }

            foreach (var segment in specialPattern.Split(document))
            {
                if (segment.Length == 0)
                {
                    continue;
                }

                var normalized = segment.Normalize(NormalizationForm.FormC);
                for (var match = split.Match(normalized); match.Success; match = match.NextMatch())
                {
                    var word = ByteLevelAlphabet.Encode(match.Value);
                    counts[word] = counts.GetValueOrDefault(word) + 1;
                }
            }
        }

        return counts;
    }

    private static List<(string Left, string Right)> LearnMerges(
        Dictionary<string, long> wordCounts, List<string> tokens, Dictionary<string, int> tokenIds, int targetTokens)
    {
        var words = new List<List<int>>(wordCounts.Count);
        var frequencies = new List<long>(wordCounts.Count);
        foreach (var (word, count) in wordCounts)
        {
            words.Add(word.Select(c => tokenIds[c.ToString()]).ToList());
            frequencies.Add(count);
        }

        var pairCounts = new Dictionary<long, long>();
        var pairWords = new Dictionary<long, HashSet<int>>();
        for (var w = 0; w < words.Count; w++)
        {
            AddPairs(w, +1, words, frequencies, pairCounts, pairWords, changed: null);
        }

        var queue = new PriorityQueue<long, PairPriority>(new PairPriorityComparer(tokens));
        foreach (var (pair, count) in pairCounts)
        {
            queue.Enqueue(pair, new PairPriority(count, Left(pair), Right(pair)));
        }

        var merges = new List<(string, string)>();
        var changed = new Dictionary<long, long>();
        while (tokens.Count < targetTokens && queue.TryDequeue(out var pair, out var priority))
        {
            if (pairCounts.GetValueOrDefault(pair) != priority.Count)
            {
                continue; // stale entry; the current count was queued when it changed
            }

            if (priority.Count < 2)
            {
                break;
            }

            var (left, right) = (Left(pair), Right(pair));
            var merged = tokens[left] + tokens[right];
            if (!tokenIds.TryGetValue(merged, out var mergedId))
            {
                mergedId = tokens.Count;
                tokens.Add(merged);
                tokenIds[merged] = mergedId;
            }

            merges.Add((tokens[left], tokens[right]));
            changed.Clear();
            foreach (var w in pairWords[pair].ToList())
            {
                var symbols = words[w];
                if (!Contains(symbols, left, right))
                {
                    continue;
                }

                AddPairs(w, -1, words, frequencies, pairCounts, pairWords, changed);
                var result = new List<int>(symbols.Count);
                for (var i = 0; i < symbols.Count; i++)
                {
                    if (i + 1 < symbols.Count && symbols[i] == left && symbols[i + 1] == right)
                    {
                        result.Add(mergedId);
                        i++;
                    }
                    else
                    {
                        result.Add(symbols[i]);
                    }
                }

                words[w] = result;
                AddPairs(w, +1, words, frequencies, pairCounts, pairWords, changed);
            }

            pairWords.Remove(pair);
            foreach (var (p, delta) in changed)
            {
                // Only pairs whose count really changed are queued again (neighbours of untouched symbols net to zero).
                if (delta != 0 && pairCounts.TryGetValue(p, out var count) && count > 0)
                {
                    queue.Enqueue(p, new PairPriority(count, Left(p), Right(p)));
                }
            }
        }

        return merges;
    }

    private static bool Contains(List<int> symbols, int left, int right)
    {
        for (var i = 0; i + 1 < symbols.Count; i++)
        {
            if (symbols[i] == left && symbols[i + 1] == right)
            {
                return true;
            }
        }

        return false;
    }

    private static void AddPairs(int w, int sign, List<List<int>> words, List<long> frequencies,
        Dictionary<long, long> pairCounts, Dictionary<long, HashSet<int>> pairWords, Dictionary<long, long>? changed)
    {
        var symbols = words[w];
        var frequency = frequencies[w] * sign;
        for (var i = 0; i + 1 < symbols.Count; i++)
        {
            var pair = Key(symbols[i], symbols[i + 1]);
            var count = pairCounts.GetValueOrDefault(pair) + frequency;
            if (count == 0)
            {
                pairCounts.Remove(pair);
            }
            else
            {
                pairCounts[pair] = count;
            }

            if (sign > 0)
            {
                if (!pairWords.TryGetValue(pair, out var set))
                {
                    pairWords[pair] = set = [];
                }

                set.Add(w);
            }

            if (changed is not null)
            {
                changed[pair] = changed.GetValueOrDefault(pair) + frequency;
            }
        }
    }

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    private static int Left(long key) => (int)(key >> 32);

    private static int Right(long key) => (int)(key & 0xFFFFFFFF);

    private readonly record struct PairPriority(long Count, int Left, int Right);

    // Highest count first; ties broken by the token strings (ordinal), so the order never depends on hashing.
    private sealed class PairPriorityComparer(List<string> tokens) : IComparer<PairPriority>
    {
        public int Compare(PairPriority x, PairPriority y)
        {
            var byCount = y.Count.CompareTo(x.Count);
            if (byCount != 0)
            {
                return byCount;
            }

            var byLeft = string.CompareOrdinal(tokens[x.Left], tokens[y.Left]);
            return byLeft != 0 ? byLeft : string.CompareOrdinal(tokens[x.Right], tokens[y.Right]);
        }
    }
}

/// <summary>A trained byte-level BPE tokenizer: vocabulary, merges in priority order and special tokens.</summary>
public sealed class BpeTrainingResult
{
    internal BpeTrainingResult(List<string> tokens, List<(string Left, string Right)> merges, List<AddedToken> specialTokens)
    {
        Tokens = tokens;
        Merges = merges;
        SpecialTokens = specialTokens;
    }

    /// <summary>The vocabulary in id order (byte-level form): 256 byte tokens, then the learned tokens.</summary>
    public IReadOnlyList<string> Tokens { get; }

    /// <summary>The learned merges, highest priority first.</summary>
    public IReadOnlyList<(string Left, string Right)> Merges { get; }

    /// <summary>The special tokens, with ids following the vocabulary.</summary>
    public IReadOnlyList<AddedToken> SpecialTokens { get; }

    /// <summary>Total number of ids (vocabulary plus special tokens).</summary>
    public int VocabSize => Tokens.Count + SpecialTokens.Count;

    /// <summary>The Hugging Face <c>tokenizer.json</c> text (model BPE, byte-level, NFC, Qwen split pattern).</summary>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("version", "1.0");
            json.WriteNull("truncation");
            json.WriteNull("padding");
            json.WriteStartArray("added_tokens");
            foreach (var token in SpecialTokens)
            {
                json.WriteStartObject();
                json.WriteNumber("id", token.Id);
                json.WriteString("content", token.Content);
                json.WriteBoolean("single_word", false);
                json.WriteBoolean("lstrip", false);
                json.WriteBoolean("rstrip", false);
                json.WriteBoolean("normalized", false);
                json.WriteBoolean("special", token.Special);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartObject("normalizer");
            json.WriteString("type", "NFC");
            json.WriteEndObject();
            json.WriteStartObject("pre_tokenizer");
            json.WriteString("type", "Sequence");
            json.WriteStartArray("pretokenizers");
            json.WriteStartObject();
            json.WriteString("type", "Split");
            json.WriteStartObject("pattern");
            json.WriteString("Regex", QwenSpecialTokens.SplitPattern);
            json.WriteEndObject();
            json.WriteString("behavior", "Isolated");
            json.WriteBoolean("invert", false);
            json.WriteEndObject();
            WriteByteLevel(json, null);
            json.WriteEndArray();
            json.WriteEndObject();
            WriteByteLevel(json, "post_processor");
            WriteByteLevel(json, "decoder");
            json.WriteStartObject("model");
            json.WriteString("type", "BPE");
            json.WriteNull("dropout");
            json.WriteNull("unk_token");
            json.WriteString("continuing_subword_prefix", "");
            json.WriteString("end_of_word_suffix", "");
            json.WriteBoolean("fuse_unk", false);
            json.WriteBoolean("byte_fallback", false);
            json.WriteBoolean("ignore_merges", false);
            json.WriteStartObject("vocab");
            for (var id = 0; id < Tokens.Count; id++)
            {
                json.WriteNumber(Tokens[id], id);
            }

            json.WriteEndObject();
            json.WriteStartArray("merges");
            foreach (var (left, right) in Merges)
            {
                json.WriteStartArray();
                json.WriteStringValue(left);
                json.WriteStringValue(right);
                json.WriteEndArray();
            }

            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Writes <see cref="ToJson"/> to <paramref name="tokenizerJsonPath"/>.</summary>
    public void Save(string tokenizerJsonPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(tokenizerJsonPath);
        File.WriteAllText(tokenizerJsonPath, ToJson(), new UTF8Encoding(false));
    }

    /// <summary>
    /// Writes <c>tokenizer.json</c> and a <c>tokenizer_config.json</c> naming the eos and pad tokens (Qwen2-VL's
    /// <c>&lt;|im_end|&gt;</c> and <c>&lt;|endoftext|&gt;</c> by default) into <paramref name="directory"/>, for
    /// <see cref="QwenTokenizer.FromDirectory"/>.
    /// </summary>
    public void SaveDirectory(string directory, string? eosToken = QwenSpecialTokens.ImEnd, string? padToken = QwenSpecialTokens.EndOfText)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        foreach (var token in new[] { eosToken, padToken })
        {
            if (token is not null && SpecialTokens.All(t => t.Content != token))
            {
                throw new ArgumentException($"'{token}' is not one of the special tokens of this tokenizer.");
            }
        }

        Directory.CreateDirectory(directory);
        Save(Path.Combine(directory, "tokenizer.json"));
        var config = new Dictionary<string, object?>
        {
            ["add_bos_token"] = false,
            ["add_prefix_space"] = false,
            ["bos_token"] = null,
            ["eos_token"] = eosToken,
            ["pad_token"] = padToken,
            ["clean_up_tokenization_spaces"] = false,
            ["model_max_length"] = 32768,
            ["tokenizer_class"] = "Qwen2Tokenizer",
        };
        File.WriteAllText(Path.Combine(directory, "tokenizer_config.json"),
            JsonSerializer.Serialize(config, new JsonSerializerOptions { WriteIndented = true }), new UTF8Encoding(false));
    }

    private static void WriteByteLevel(Utf8JsonWriter json, string? propertyName)
    {
        if (propertyName is null)
        {
            json.WriteStartObject();
        }
        else
        {
            json.WriteStartObject(propertyName);
        }

        json.WriteString("type", "ByteLevel");
        json.WriteBoolean("add_prefix_space", false);
        json.WriteBoolean("trim_offsets", false);
        json.WriteBoolean("use_regex", false);
        json.WriteEndObject();
    }
}
