using System.Text.Json;

namespace DeepPerception.ML.Preprocessing.Tests.Images;

/// <summary>Locates and reads the checked-in image fixtures under <c>tests/fixtures</c>.</summary>
internal static class ImageFixtures
{
    private static readonly Lazy<string> Root = new(FindFixturesRoot);

    public static string FixturesDirectory => Root.Value;

    public static string ImagesDirectory => Path.Combine(Root.Value, "images");

    public static string Sample(string name) => Path.Combine(ImagesDirectory, "samples", name);

    public static JsonDocument ReadJson(string fileName) =>
        JsonDocument.Parse(File.ReadAllBytes(Path.Combine(ImagesDirectory, fileName)));

    /// <summary>Reads an array described by <c>{offset, length, dtype, shape}</c> from a .bin blob.</summary>
    public static byte[] ReadBytes(byte[] blob, JsonElement entry, string expectedDtype)
    {
        Assert.Equal(expectedDtype, entry.GetProperty("dtype").GetString());
        int offset = entry.GetProperty("offset").GetInt32();
        int length = entry.GetProperty("length").GetInt32();
        return blob.AsSpan(offset, length).ToArray();
    }

    public static float[] ReadFloats(byte[] blob, JsonElement entry)
    {
        byte[] bytes = ReadBytes(blob, entry, "f32");
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return values;
    }

    private static string FindFixturesRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "fixtures", "images");
            if (Directory.Exists(candidate))
            {
                return Path.Combine(dir.FullName, "tests", "fixtures");
            }
        }

        throw new DirectoryNotFoundException(
            $"tests/fixtures/images not found above {AppContext.BaseDirectory}.");
    }
}
