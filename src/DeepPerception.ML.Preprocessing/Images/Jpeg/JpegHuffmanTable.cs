namespace DeepPerception.ML.Preprocessing.Images.Jpeg;

/// <summary>
/// A canonical Huffman decoding table (JPEG Annex C/F.2.2.3) with a 9-bit lookahead table for short codes. Built
/// from the 16 code-length counts and the symbol list of a DHT segment; rejects tables whose codes overflow.
/// </summary>
internal sealed class JpegHuffmanTable
{
    internal const int LookaheadBits = 9;

    // maxCode[l]: largest code of length l (-1 if none); valOffset[l]: index into Values of the first code of
    // length l minus that code. maxCode[17] is a sentinel that ends every search.
    private readonly int[] _maxCode = new int[18];
    private readonly int[] _valOffset = new int[18];

    /// <summary>Lookahead entries: (code length << 8) | symbol, or 0 when the code is longer than 9 bits.</summary>
    internal readonly ushort[] Lookahead = new ushort[1 << LookaheadBits];

    internal JpegHuffmanTable(ReadOnlySpan<byte> counts, ReadOnlySpan<byte> values, bool isDc)
    {
        Values = values.ToArray();
        if (isDc)
        {
            foreach (byte v in Values)
            {
                if (v > 15)
                {
                    throw ManagedJpegDecoder.Corrupt($"a DC Huffman table holds symbol {v} (at most 15 is valid)");
                }
            }
        }

        int code = 0;
        int k = 0;
        for (int length = 1; length <= 16; length++)
        {
            int n = counts[length - 1];
            _valOffset[length] = k - code;
            if (n > 0)
            {
                // The codes of this length must fit in it without using the all-ones code (libjpeg's check too).
                if (code + n >= (1 << length))
                {
                    throw ManagedJpegDecoder.Corrupt("a Huffman table defines more codes than its code lengths allow");
                }

                for (int i = 0; i < n; i++, k++, code++)
                {
                    if (length <= LookaheadBits)
                    {
                        int shift = LookaheadBits - length;
                        int first = code << shift;
                        for (int fill = 0; fill < (1 << shift); fill++)
                        {
                            Lookahead[first + fill] = (ushort)((length << 8) | Values[k]);
                        }
                    }
                }

                _maxCode[length] = code - 1;
            }
            else
            {
                _maxCode[length] = -1;
            }

            code <<= 1;
        }

        _maxCode[17] = int.MaxValue;
    }

    /// <summary>The symbols in code order.</summary>
    internal byte[] Values { get; }

    /// <summary>Decodes the rest of a code longer than the lookahead, given its first 9 bits.</summary>
    internal int DecodeLong(JpegBitReader reader)
    {
        int code = reader.GetBits(LookaheadBits);
        int length = LookaheadBits;
        while (code > _maxCode[length])
        {
            code = (code << 1) | reader.GetBits(1);
            length++;
            if (length > 16)
            {
                throw ManagedJpegDecoder.Corrupt("the entropy-coded data holds an invalid Huffman code");
            }
        }

        return Values[code + _valOffset[length]];
    }
}
