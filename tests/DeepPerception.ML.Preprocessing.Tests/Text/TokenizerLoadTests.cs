using System.Text.Json.Nodes;
using DeepPerception.ML.Preprocessing.Text;

namespace DeepPerception.ML.Preprocessing.Tests.Text;

/// <summary>Missing and malformed tokenizer files give a <see cref="TokenizerLoadException"/> naming the file and the problem.</summary>
public sealed class TokenizerLoadTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly JsonNode _valid = JsonNode.Parse(BpeTrainer.Train(BpeTrainerTests.Corpus(30, 11), 300).ToJson())!;

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Missing_file()
    {
        var path = _dir.File("nope.json");
        var error = Assert.Throws<TokenizerLoadException>(() => QwenTokenizer.FromFile(path));
        Assert.Equal(path, error.FilePath);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_directory_and_missing_tokenizer_json_in_directory()
    {
        var error = Assert.Throws<TokenizerLoadException>(() => QwenTokenizer.FromDirectory(_dir.File("no-model")));
        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
        error = Assert.Throws<TokenizerLoadException>(() => QwenTokenizer.FromDirectory(_dir.Path));
        Assert.Equal(_dir.File("tokenizer.json"), error.FilePath);
    }

    [Fact]
    public void Malformed_json()
    {
        var path = _dir.File("bad.json");
        File.WriteAllText(path, "{\"model\": {\"vocab\": {\"a\": 0,");
        var error = Assert.Throws<TokenizerLoadException>(() => QwenTokenizer.FromFile(path));
        Assert.Contains("not valid JSON", error.Message, StringComparison.Ordinal);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);

        File.WriteAllText(path, "[1, 2]");
        Assert.Contains("root is not an object", Assert.Throws<TokenizerLoadException>(() => QwenTokenizer.FromFile(path)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("model", "'model' section is missing")]
    [InlineData("model.vocab", "'model.vocab' is missing")]
    [InlineData("model.merges", "'model.merges' is missing")]
    [InlineData("pre_tokenizer", "'pre_tokenizer' is missing")]
    public void Missing_sections(string section, string expected)
    {
        var json = _valid.DeepClone();
        var parts = section.Split('.');
        var parent = parts.Length == 1 ? json.AsObject() : json[parts[0]]!.AsObject();
        parent.Remove(parts[^1]);
        var error = LoadError(json);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unsupported_or_inconsistent_content()
    {
        var json = _valid.DeepClone();
        json["model"]!["type"] = "WordPiece";
        Assert.Contains("model type 'WordPiece' is not supported", LoadError(json).Message, StringComparison.Ordinal);

        json = _valid.DeepClone();
        json["model"]!["merges"]!.AsArray()[0] = "nospace";
        Assert.Contains("merge #0 'nospace'", LoadError(json).Message, StringComparison.Ordinal);

        json = _valid.DeepClone();
        json["model"]!["vocab"]!["Ġthe_x"] = "seven";
        Assert.Contains("'Ġthe_x' has no valid", LoadError(json).Message, StringComparison.Ordinal);

        json = _valid.DeepClone();
        json["added_tokens"]!.AsArray()[0]!.AsObject().Remove("content");
        Assert.Contains("'added_tokens' lacks", LoadError(json).Message, StringComparison.Ordinal);

        json = _valid.DeepClone();
        json["added_tokens"]!.AsArray()[0]!["id"] = 5;
        Assert.Contains("reuses id 5", LoadError(json).Message, StringComparison.Ordinal);

        json = _valid.DeepClone();
        json["added_tokens"]!.AsArray()[0]!["id"] = "151643";
        Assert.Contains("unexpected JSON type", LoadError(json).Message, StringComparison.Ordinal);

        json = _valid.DeepClone();
        json["added_tokens"]!.AsArray()[1]!["lstrip"] = true;
        Assert.Contains("added token '<|im_start|>' sets 'lstrip'", LoadError(json).Message, StringComparison.Ordinal);

        json = _valid.DeepClone();
        json["pre_tokenizer"]!["pretokenizers"]!.AsArray().RemoveAt(1);
        json.AsObject().Remove("decoder");
        Assert.Contains("not byte-level", LoadError(json).Message, StringComparison.Ordinal);

        json = _valid.DeepClone();
        json["normalizer"] = JsonNode.Parse("{\"type\": \"Lowercase\"}");
        Assert.Contains("normalizer type 'Lowercase' is not supported", LoadError(json).Message, StringComparison.Ordinal);

        json = _valid.DeepClone();
        json["pre_tokenizer"]!["pretokenizers"]![0]!["pattern"] = JsonNode.Parse("{\"Regex\": \"(unclosed\"}");
        Assert.Contains("Split regex is not valid", LoadError(json).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_tokenizer_config()
    {
        File.WriteAllText(_dir.File("tokenizer.json"), _valid.ToJsonString());
        File.WriteAllText(_dir.File("tokenizer_config.json"), "{\"eos_token\": 42}");
        var error = Assert.Throws<TokenizerLoadException>(() => QwenTokenizer.FromDirectory(_dir.Path));
        Assert.Equal(_dir.File("tokenizer_config.json"), error.FilePath);
        Assert.Contains("'eos_token'", error.Message, StringComparison.Ordinal);

        File.WriteAllText(_dir.File("tokenizer_config.json"), "{\"eos_token\": {\"content\": \"<|nope|>\"}}");
        Assert.Contains("'<|nope|>' is not in the vocabulary", Assert.Throws<TokenizerLoadException>(() => QwenTokenizer.FromDirectory(_dir.Path)).Message, StringComparison.Ordinal);

        File.WriteAllText(_dir.File("tokenizer_config.json"), "{\"eos_token\": {\"content\": \"<|im_end|>\"}, \"pad_token\": null}");
        var tokenizer = QwenTokenizer.FromDirectory(_dir.Path);
        Assert.Equal(tokenizer.ImEndId, tokenizer.EosTokenId);
        Assert.Null(tokenizer.PadTokenId);
    }

    [Fact]
    public void A_cap_below_the_byte_alphabet_is_rejected()
    {
        File.WriteAllText(_dir.File("tokenizer.json"), _valid.ToJsonString());
        Assert.Throws<ArgumentOutOfRangeException>(() => QwenTokenizer.FromFile(_dir.File("tokenizer.json"), maxTokenId: 100));
        var capped = QwenTokenizer.FromFile(_dir.File("tokenizer.json"), maxTokenId: 290);
        Assert.Equal(291, capped.VocabSize);
        Assert.Equal("any text 你好 survives", capped.Decode(capped.Encode("any text 你好 survives"), skipSpecialTokens: false));
        Assert.Null(capped.ImagePadId);
    }

    private TokenizerLoadException LoadError(JsonNode json)
    {
        var path = _dir.File($"t{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json.ToJsonString());
        var error = Assert.Throws<TokenizerLoadException>(() => QwenTokenizer.FromFile(path));
        Assert.Equal(path, error.FilePath);
        Assert.StartsWith($"Cannot load tokenizer file '{path}': ", error.Message, StringComparison.Ordinal);
        return error;
    }
}
