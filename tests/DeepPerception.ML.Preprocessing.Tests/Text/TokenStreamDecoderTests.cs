using System.Text;
using DeepPerception.ML.Preprocessing.Text;

namespace DeepPerception.ML.Preprocessing.Tests.Text;

/// <summary>Incremental decoding: deltas add up to the full decode and never end inside a character.</summary>
public sealed class TokenStreamDecoderTests
{
    [Fact]
    public void Deltas_concatenate_to_the_full_decode_for_every_reference_string()
    {
        var tokenizer = QwenReference.Full;
        foreach (var skip in new[] { false, true })
        {
            var decoder = new TokenStreamDecoder(tokenizer, skip);
            foreach (var c in QwenReference.Cases)
            {
                decoder.Reset();
                var text = new StringBuilder();
                foreach (var id in c.Ids)
                {
                    var delta = decoder.Append(id);
                    AssertWellFormed(delta);
                    text.Append(delta);
                }

                text.Append(decoder.Flush());
                Assert.Equal(tokenizer.Decode(c.Ids, skip), text.ToString());
                Assert.Equal(text.ToString(), decoder.Text);
                Assert.DoesNotContain('\uFFFD', text.ToString());
                Assert.Equal(0, decoder.PendingByteCount);
            }
        }
    }

    [Fact]
    public void A_character_split_over_tokens_is_held_back_until_complete()
    {
        var tokenizer = QwenReference.Qwen2VL;
        // '𪚥' (4 UTF-8 bytes) is not a single token; byte tokens carry its pieces.
        var ids = tokenizer.Encode("a𪚥b");
        Assert.True(ids.Count > 3, "expected the astral character to span several tokens");
        var decoder = new TokenStreamDecoder(tokenizer);
        var deltas = ids.Select(decoder.Append).ToList();
        Assert.Equal("a𪚥b", string.Concat(deltas) + decoder.Flush());
        Assert.Contains(string.Empty, deltas);
        Assert.Contains("𪚥", deltas.Select(d => d.Replace("a", "", StringComparison.Ordinal).Replace("b", "", StringComparison.Ordinal)));
    }

    [Fact]
    public void Random_id_sequences_decode_like_the_batch_decoder_including_invalid_utf8()
    {
        var tokenizer = QwenReference.Qwen2VL;
        var random = new Random(7);
        for (var round = 0; round < 300; round++)
        {
            // Mostly single-byte tokens (ids below 256 in byte order) so that broken sequences are frequent.
            var ids = Enumerable.Range(0, random.Next(1, 40))
                .Select(_ => random.NextDouble() < 0.7 ? random.Next(0, 256) : random.Next(0, tokenizer.VocabSize))
                .ToArray();
            var decoder = new TokenStreamDecoder(tokenizer, skipSpecialTokens: false);
            var streamed = string.Concat(ids.Select(id =>
            {
                var delta = decoder.Append(id);
                AssertWellFormed(delta);
                return delta;
            })) + decoder.Flush();
            Assert.Equal(tokenizer.Decode(ids, skipSpecialTokens: false), streamed);
        }
    }

    [Fact]
    public void Special_tokens_are_skipped_or_kept_as_asked()
    {
        var tokenizer = QwenReference.Qwen2VL;
        var ids = tokenizer.Encode("<|im_start|>assistant\nHi<|im_end|>");
        var skipping = new TokenStreamDecoder(tokenizer);
        Assert.Equal("assistant\nHi", string.Concat(ids.Select(skipping.Append)) + skipping.Flush());
        var keeping = new TokenStreamDecoder(tokenizer, skipSpecialTokens: false);
        Assert.Equal("<|im_start|>assistant\nHi<|im_end|>", string.Concat(ids.Select(keeping.Append)) + keeping.Flush());
        Assert.Throws<ArgumentOutOfRangeException>(() => keeping.Append(tokenizer.VocabSize));
    }

    private static void AssertWellFormed(string delta)
    {
        for (var i = 0; i < delta.Length; i++)
        {
            if (char.IsHighSurrogate(delta[i]))
            {
                Assert.True(i + 1 < delta.Length && char.IsLowSurrogate(delta[i + 1]), "delta ends in half a surrogate pair");
                i++;
            }
            else
            {
                Assert.False(char.IsLowSurrogate(delta[i]), "lone low surrogate in delta");
            }
        }
    }
}
