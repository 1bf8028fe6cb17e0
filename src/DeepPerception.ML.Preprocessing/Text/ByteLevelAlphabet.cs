namespace DeepPerception.ML.Preprocessing.Text;

/// <summary>
/// The GPT-2 byte-level alphabet used by Qwen's tokenizer: every byte value 0–255 is written as one printable
/// Unicode character (printable Latin-1 bytes map to themselves, the others to U+0100 and up, e.g. space → 'Ġ').
/// </summary>
public static class ByteLevelAlphabet
{
    private static readonly char[] ByteToCharTable = BuildByteToChar();
    private static readonly Dictionary<char, byte> CharToByteTable = BuildCharToByte(ByteToCharTable);

    /// <summary>The 256 alphabet characters in the conventional GPT-2 order (printable bytes first, then the rest).</summary>
    public static IReadOnlyList<char> OrderedCharacters { get; } = BuildOrdered();

    /// <summary>The character that stands for byte <paramref name="value"/>.</summary>
    public static char ByteToChar(byte value) => ByteToCharTable[value];

    /// <summary>The byte a character of the alphabet stands for; false when <paramref name="c"/> is not in the alphabet.</summary>
    public static bool TryCharToByte(char c, out byte value) => CharToByteTable.TryGetValue(c, out value);

    /// <summary>Writes the UTF-8 bytes of <paramref name="text"/> as byte-level characters.</summary>
    public static string Encode(string text)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        var chars = new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            chars[i] = ByteToCharTable[bytes[i]];
        }

        return new string(chars);
    }

    private static bool IsPrintable(int b) => b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;

    private static char[] BuildByteToChar()
    {
        var table = new char[256];
        var next = 0;
        for (var b = 0; b < 256; b++)
        {
            table[b] = IsPrintable(b) ? (char)b : (char)(256 + next++);
        }

        return table;
    }

    private static Dictionary<char, byte> BuildCharToByte(char[] byteToChar)
    {
        var map = new Dictionary<char, byte>(256);
        for (var b = 0; b < 256; b++)
        {
            map[byteToChar[b]] = (byte)b;
        }

        return map;
    }

    private static char[] BuildOrdered()
    {
        var ordered = new List<char>(256);
        for (var b = 0; b < 256; b++)
        {
            if (IsPrintable(b))
            {
                ordered.Add(ByteToCharTable[b]);
            }
        }

        for (var b = 0; b < 256; b++)
        {
            if (!IsPrintable(b))
            {
                ordered.Add(ByteToCharTable[b]);
            }
        }

        return [.. ordered];
    }
}
