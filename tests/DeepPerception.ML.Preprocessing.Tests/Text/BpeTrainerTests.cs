using System.Text;
using System.Text.Json.Nodes;
using DeepPerception.ML.Preprocessing.Text;

namespace DeepPerception.ML.Preprocessing.Tests.Text;

/// <summary>The byte-level BPE trainer: its tokenizer.json loads through <see cref="QwenTokenizer.FromFile"/> and round-trips any text.</summary>
public sealed class BpeTrainerTests
{
    private static readonly string[] Words =
    [
        "the", "aircraft", "bounding", "box", "of", "Douglas", "DC-6", "Boeing", "747", "wing", "engine", "left", "right",
        "find", "and", "give", "answer", "think", "reptile", "iguana", "car", "bird", "food", "pizza", "飞机", "汽车", "鸟",
    ];

    private static readonly string[] Syllables =
        ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "qu", "ph", "th", "str", "an", "el", "or", "ix", "um", "ao", "飞", "机"];

    private static readonly string[] RoundTripTexts =
    [
        "Hello, world! The aircraft is a Douglas DC-6.",
        "zebra quokka xylophone — never seen in the corpus",
        "你好，世界！日本語のテキスト。한국어 텍스트.",
        "Emoji 👍🏽👨‍👩‍👧‍👦🇫🇷 and e\u0301 (NFC) and ＡＢＣ and 𝐀𠀀",
        "tabs\tCRLF\r\nnewlines\n\n  spaces   ",
        "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Find <|object_ref_start|>X<|object_ref_end|><|im_end|>",
        "(123,456),(789,1000) \u0000\u0001\u007f\u0085\u00a0\ufeff",
        "",
    ];

    internal static List<string> Corpus(int documents, int seed)
    {
        var random = new Random(seed);
        var corpus = new List<string>(documents);
        for (var d = 0; d < documents; d++)
        {
            var sb = new StringBuilder();
            var count = random.Next(5, 40);
            for (var i = 0; i < count; i++)
            {
                if (random.Next(3) == 0)
                {
                    // A pseudo-word from syllables keeps the pair statistics rich enough for larger vocabularies.
                    for (var k = random.Next(2, 5); k > 0; k--)
                    {
                        sb.Append(Syllables[random.Next(Syllables.Length)]);
                    }
                }
                else
                {
                    sb.Append(Words[random.Next(Words.Length)]);
                }

                sb.Append(random.Next(10) switch
                {
                    0 => ", ",
                    1 => ". ",
                    2 => $" ({random.Next(1000)},{random.Next(1000)}) ",
                    3 => "\n",
                    _ => " ",
                });
            }

            if (d % 7 == 0)
            {
                sb.Append("<|im_end|>\n<|im_start|>assistant\n<|object_ref_start|>DC-6<|object_ref_end|>");
            }

            corpus.Add(sb.ToString());
        }

        return corpus;
    }

    [Fact]
    public void Trained_tokenizer_loads_through_FromFile_and_round_trips_any_text()
    {
        var result = BpeTrainer.Train(Corpus(400, 1), vocabSize: 500);
        Assert.Equal(500, result.VocabSize);
        Assert.Equal(486, result.Tokens.Count);
        Assert.True(result.Merges.Count >= 230);

        using var dir = new TempDirectory();
        var path = dir.File("tokenizer.json");
        result.Save(path);
        var tokenizer = QwenTokenizer.FromFile(path);
        Assert.Equal(500, tokenizer.VocabSize);

        foreach (var text in RoundTripTexts.Concat(QwenReferenceTextsOrEmpty()))
        {
            var ids = tokenizer.Encode(text);
            Assert.All(ids, id => Assert.InRange(id, 0, 499));
            Assert.Equal(QwenReference.NfcOutsideAddedTokens(text, tokenizer), tokenizer.Decode(ids, skipSpecialTokens: false));
        }
    }

    [Fact]
    public void All_256_bytes_are_in_the_vocabulary_and_merges_compress_corpus_text()
    {
        var corpus = Corpus(300, 2);
        var result = BpeTrainer.Train(corpus, vocabSize: 400);
        Assert.Equal(ByteLevelAlphabet.OrderedCharacters.Select(c => c.ToString()), result.Tokens.Take(256));

        using var dir = new TempDirectory();
        result.Save(dir.File("tokenizer.json"));
        var tokenizer = QwenTokenizer.FromFile(dir.File("tokenizer.json"));
        for (var b = 0; b < 256; b++)
        {
            Assert.NotNull(tokenizer.TokenToId(ByteLevelAlphabet.ByteToChar((byte)b).ToString()));
        }

        var text = corpus[0];
        Assert.True(tokenizer.Encode(text).Count * 2 < Encoding.UTF8.GetByteCount(text), "merges learnt from the corpus should compress it");
    }

    [Fact]
    public void Qwen_special_tokens_map_to_single_ids_after_the_vocabulary()
    {
        var result = BpeTrainer.Train(Corpus(100, 3), vocabSize: 300);
        using var dir = new TempDirectory();
        result.SaveDirectory(dir.Path);
        var tokenizer = QwenTokenizer.FromDirectory(dir.Path);

        Assert.Equal(QwenSpecialTokens.All, tokenizer.AddedTokens.Select(t => t.Content));
        Assert.Equal(Enumerable.Range(286, 14), tokenizer.AddedTokens.Select(t => t.Id));
        Assert.Equal(287, tokenizer.ImStartId);
        Assert.Equal(tokenizer.ImEndId, tokenizer.EosTokenId);
        Assert.Equal(tokenizer.EndOfTextId, tokenizer.PadTokenId);
        foreach (var special in QwenSpecialTokens.All)
        {
            Assert.Equal([tokenizer.TokenToId(special)!.Value], tokenizer.Encode(special));
        }

        var ids = tokenizer.Encode("x<|object_ref_start|>DC-6<|object_ref_end|>y");
        Assert.Equal(tokenizer.ObjectRefStartId, ids[1]);
        Assert.Equal(tokenizer.ObjectRefEndId, ids[^2]);
        Assert.Equal("xDC-6y", tokenizer.Decode(ids, skipSpecialTokens: true));

        // The chat template works on a trained tokenizer too.
        var chat = ChatTemplate.Encode(tokenizer, ChatTemplate.GroundingConversation("Find it", 3, "<answer>(1,2),(3,4)</answer>"), addGenerationPrompt: false);
        Assert.Equal(ChatTemplate.Render(ChatTemplate.GroundingConversation("Find it", 3, "<answer>(1,2),(3,4)</answer>"), false),
            tokenizer.Decode(chat.InputIds, skipSpecialTokens: false));
    }

    [Fact]
    public void Training_is_deterministic()
    {
        var first = BpeTrainer.Train(Corpus(200, 4), vocabSize: 420).ToJson();
        var second = BpeTrainer.Train(Corpus(200, 4), vocabSize: 420).ToJson();
        Assert.Equal(first, second);
        var other = BpeTrainer.Train(Corpus(200, 5), vocabSize: 420).ToJson();
        Assert.NotEqual(first, other);
    }

    [Fact]
    public void A_one_megabyte_corpus_trains_to_vocab_2000()
    {
        var corpus = Corpus(9000, 6);
        Assert.True(corpus.Sum(d => d.Length) > 1_000_000);
        var result = BpeTrainer.Train(corpus, vocabSize: 2000);
        Assert.True(result.VocabSize <= 2000);
        Assert.True(result.Merges.Count > 100);
    }

    [Fact]
    public void Merges_written_as_strings_load_the_same_as_pairs()
    {
        var result = BpeTrainer.Train(Corpus(200, 7), vocabSize: 380);
        var json = JsonNode.Parse(result.ToJson())!;
        var merges = json["model"]!["merges"]!.AsArray();
        var asStrings = new JsonArray([.. merges.Select(m => (JsonNode)JsonValue.Create($"{m![0]} {m[1]}"))]);
        json["model"]!["merges"] = asStrings;

        using var dir = new TempDirectory();
        result.Save(dir.File("pairs.json"));
        File.WriteAllText(dir.File("strings.json"), json.ToJsonString());
        var pairs = QwenTokenizer.FromFile(dir.File("pairs.json"));
        var strings = QwenTokenizer.FromFile(dir.File("strings.json"));
        foreach (var text in RoundTripTexts.Concat(Corpus(20, 8)))
        {
            Assert.Equal(pairs.Encode(text), strings.Encode(text));
        }
    }

    [Fact]
    public void Bad_arguments_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BpeTrainer.Train(["abc"], vocabSize: 269));
        Assert.Throws<ArgumentException>(() => BpeTrainer.Train(["abc"], 300, ["<a>", "<a>"]));
        Assert.Throws<ArgumentException>(() => BpeTrainer.Train(["abc"], 300, [""]));
        Assert.Throws<ArgumentException>(() => BpeTrainer.Train(["abc", null!], 300));
        Assert.Throws<ArgumentException>(() => BpeTrainer.Train(["abc"], 300, ["a"]));
    }

    [Fact]
    public void Chat_template_needs_the_vision_tokens()
    {
        var result = BpeTrainer.Train(Corpus(50, 9), vocabSize: 300, specialTokens: ["<|im_start|>", "<|im_end|>"]);
        using var dir = new TempDirectory();
        result.Save(dir.File("tokenizer.json"));
        var tokenizer = QwenTokenizer.FromFile(dir.File("tokenizer.json"));
        var error = Assert.Throws<InvalidOperationException>(() => ChatTemplate.Encode(tokenizer, [ChatMessage.User("x")], true));
        Assert.Contains("<|vision_start|>", error.Message, StringComparison.Ordinal);
    }

    private static IEnumerable<string> QwenReferenceTextsOrEmpty()
    {
        var path = Path.Combine(TestPaths.RepositoryRoot, "tests", "fixtures", "npm", "out", "tokenizer-reference.json");
        return File.Exists(path) ? QwenReference.Cases.Select(c => c.Text).Take(400) : [];
    }
}
