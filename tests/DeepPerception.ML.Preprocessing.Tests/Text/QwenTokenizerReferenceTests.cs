using System.Text;
using DeepPerception.ML.Preprocessing.Text;

namespace DeepPerception.ML.Preprocessing.Tests.Text;

/// <summary>
/// The C# tokenizer against the JavaScript reference implementation of the real Qwen tokenizer.
/// The reference package is Qwen3's; its ids 0–151656 equal Qwen2-VL's and it adds 151657–151668 (<c>&lt;think&gt;</c>, …).
/// Choice: the exact-equality test loads the file uncapped (the same vocabulary as the reference), so every string,
/// including those with <c>&lt;think&gt;</c>, must agree; a second test loads the Qwen2-VL cap and requires equality on
/// every string without Qwen3-only tokens, and checks the Qwen3-only tokens against Qwen2-VL ids derived separately.
/// </summary>
public sealed class QwenTokenizerReferenceTests
{
    private static string[] Qwen3OnlyTokens =>
        [.. QwenReference.Full.AddedTokens.Where(t => t.Id > QwenSpecialTokens.Qwen2VLMaxTokenId).Select(t => t.Content)];

    [Fact]
    public void Reference_has_at_least_1200_varied_strings()
    {
        var cases = QwenReference.Cases;
        Assert.True(cases.Count >= 1200, $"only {cases.Count} reference strings");
        Assert.Contains(cases, c => c.Text.Contains("<think>", StringComparison.Ordinal));
        Assert.Contains(cases, c => c.Text.Contains("<|image_pad|>", StringComparison.Ordinal));
        Assert.Contains(cases, c => c.Text.Contains("\r\n", StringComparison.Ordinal));
        Assert.Contains(cases, c => c.Text.Any(ch => ch >= 0x4E00 && ch <= 0x9FFF));
        Assert.Contains(cases, c => c.Text.Any(char.IsSurrogate));
        Assert.True(cases.Select(c => c.Text).Distinct().Count() > 1000, "reference strings are not varied");
    }

    [Fact]
    public void Encode_matches_the_reference_ids_exactly_for_every_string()
    {
        var tokenizer = QwenReference.Full;
        var mismatches = new List<string>();
        foreach (var c in QwenReference.Cases)
        {
            var ids = tokenizer.Encode(c.Text);
            if (!ids.SequenceEqual(c.Ids))
            {
                mismatches.Add($"text {Show(c.Text)}\n  expected [{string.Join(",", c.Ids)}]\n  actual   [{string.Join(",", ids)}]");
            }
        }

        Assert.True(mismatches.Count == 0,
            $"{mismatches.Count} of {QwenReference.Cases.Count} strings differ; first ones:\n{string.Join("\n", mismatches.Take(8))}");
    }

    [Fact]
    public void Qwen2VL_cap_matches_the_reference_where_the_vocabularies_agree()
    {
        var tokenizer = QwenReference.Qwen2VL;
        var qwen3Only = Qwen3OnlyTokens;
        Assert.Equal(12, qwen3Only.Length);
        var compared = 0;
        var mismatches = new List<string>();
        foreach (var c in QwenReference.Cases)
        {
            var ids = tokenizer.Encode(c.Text);
            Assert.All(ids, id => Assert.InRange(id, 0, QwenSpecialTokens.Qwen2VLMaxTokenId));
            if (qwen3Only.Any(t => c.Text.Contains(t, StringComparison.Ordinal)))
            {
                // Qwen3-only tokens are plain text in Qwen2-VL: different ids, same text.
                Assert.Equal(QwenReference.NfcOutsideAddedTokens(c.Text, tokenizer), tokenizer.Decode(ids, skipSpecialTokens: false));
                continue;
            }

            compared++;
            if (!ids.SequenceEqual(c.Ids))
            {
                mismatches.Add($"text {Show(c.Text)}\n  expected [{string.Join(",", c.Ids)}]\n  actual   [{string.Join(",", ids)}]");
            }
        }

        Assert.True(compared > 1000, $"only {compared} strings compared");
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} strings differ; first ones:\n{string.Join("\n", mismatches.Take(8))}");
    }

    [Fact]
    public void Qwen2VL_cap_encodes_think_tags_as_plain_text_like_Qwen2VL()
    {
        Assert.Equal(4, QwenReference.Qwen2VLCases.Count);
        foreach (var c in QwenReference.Qwen2VLCases)
        {
            Assert.Equal(c.Ids, QwenReference.Qwen2VL.Encode(c.Text));
            Assert.NotEqual(c.Ids, QwenReference.Full.Encode(c.Text));
        }
    }

    [Fact]
    public void Decoding_the_reference_ids_gives_back_the_text_up_to_NFC()
    {
        var failures = QwenReference.Cases
            .Where(c => QwenReference.Full.Decode(c.Ids, skipSpecialTokens: false) != QwenReference.NfcOutsideAddedTokens(c.Text, QwenReference.Full))
            .Select(c => Show(c.Text))
            .ToList();
        Assert.True(failures.Count == 0, $"{failures.Count} strings do not round-trip, e.g. {string.Join(" | ", failures.Take(5))}");
    }

    [Fact]
    public void Skipping_special_tokens_removes_exactly_the_special_tokens()
    {
        foreach (var c in QwenReference.Cases.Where(c => c.Text.Contains("<|", StringComparison.Ordinal)))
        {
            var expected = QwenReference.NfcOutsideAddedTokens(c.Text, QwenReference.Full);
            foreach (var special in QwenSpecialTokens.All)
            {
                expected = expected.Replace(special, string.Empty, StringComparison.Ordinal);
            }

            // Qwen3's <think>, <tool_call>, … are added but not special: they stay, as in Hugging Face.
            Assert.Equal(expected, QwenReference.Full.Decode(c.Ids, skipSpecialTokens: true));
        }
    }

    [Fact]
    public void Well_known_ids_and_vocabulary_sizes()
    {
        var t = QwenReference.Qwen2VL;
        Assert.Equal(151657, t.VocabSize);
        Assert.Equal(151643, t.EndOfTextId);
        Assert.Equal(151644, t.ImStartId);
        Assert.Equal(151645, t.ImEndId);
        Assert.Equal(151646, t.ObjectRefStartId);
        Assert.Equal(151647, t.ObjectRefEndId);
        Assert.Equal(151648, t.BoxStartId);
        Assert.Equal(151649, t.BoxEndId);
        Assert.Equal(151652, t.VisionStartId);
        Assert.Equal(151653, t.VisionEndId);
        Assert.Equal(151655, t.ImagePadId);
        Assert.Equal(151656, t.VideoPadId);
        Assert.Equal(14, t.AddedTokens.Count);
        Assert.All(t.AddedTokens, a => Assert.True(a.Special));
        Assert.Null(t.TokenToId("<think>"));
        Assert.Equal(151667, QwenReference.Full.TokenToId("<think>"));
        Assert.Equal(151669, QwenReference.Full.VocabSize);
        Assert.False(QwenReference.Full.IsSpecialToken(151667));
        Assert.True(QwenReference.Full.IsSpecialToken(151645));
        Assert.Equal(220, t.TokenToId("Ġ"));
        Assert.Equal("Ġ", t.IdToToken(220));
        Assert.Null(t.IdToToken(151657));
        Assert.Null(t.EosTokenId); // FromFile reads no tokenizer_config.json
    }

    [Fact]
    public void Special_tokens_inside_question_text_become_single_ids()
    {
        var t = QwenReference.Qwen2VL;
        var ids = t.Encode("Find <|object_ref_start|>Douglas DC-6<|object_ref_end|><|box_start|>(519,608),(986,768)<|box_end|>");
        Assert.Equal(1, ids.Count(id => id == t.ObjectRefStartId));
        Assert.Equal(1, ids.Count(id => id == t.ObjectRefEndId));
        Assert.Equal(1, ids.Count(id => id == t.BoxStartId));
        Assert.Equal(1, ids.Count(id => id == t.BoxEndId));
        Assert.DoesNotContain(ids, id => t.IdToToken(id) is "<" or "<|" or "|");

        // Every digit is its own token in Qwen.
        var box = t.Encode("(123,456),(789,1000)");
        Assert.Equal(["(", "1", "2", "3", ",", "4", "5", "6", "),(", "7", "8", "9", ",", "1", "0", "0", "0", ")"],
            box.Select(id => t.IdToToken(id)));
    }

    [Fact]
    public void Concurrent_encoding_from_one_instance_gives_the_reference_ids()
    {
        var tokenizer = QwenReference.Full;
        var cases = QwenReference.Cases;
        var failures = 0;
        Parallel.For(0, cases.Count * 2, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var c = cases[i % cases.Count];
            if (!tokenizer.Encode(c.Text).SequenceEqual(c.Ids))
            {
                Interlocked.Increment(ref failures);
            }
        });
        Assert.Equal(0, failures);
    }

    [Fact]
    public void Encode_of_empty_text_is_empty_and_null_is_rejected()
    {
        Assert.Empty(QwenReference.Qwen2VL.Encode(string.Empty));
        Assert.Throws<ArgumentNullException>(() => QwenReference.Qwen2VL.Encode(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => QwenReference.Qwen2VL.Decode([151657], skipSpecialTokens: false));
        Assert.Throws<ArgumentOutOfRangeException>(() => QwenReference.Qwen2VL.Decode([-1], skipSpecialTokens: false));
    }

    private static string Show(string text)
    {
        var sb = new StringBuilder("\"");
        foreach (var r in text.EnumerateRunes())
        {
            sb.Append(r.Value is < 0x20 or (>= 0x7F and < 0xA0) ? $"\\u{r.Value:X4}" : r.ToString());
        }

        return sb.Append('"').ToString();
    }
}
