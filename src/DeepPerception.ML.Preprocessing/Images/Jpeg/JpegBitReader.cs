using System.Runtime.CompilerServices;

namespace DeepPerception.ML.Preprocessing.Images.Jpeg;

/// <summary>
/// Reads the entropy-coded bytes of one scan MSB-first: removes stuffed zero bytes (FF 00), stops in front of any
/// marker and feeds zero bits past it for lookahead only. Consuming a bit beyond the available data is an error
/// (libjpeg would substitute zeros and warn; a hardened decoder reports the scan as truncated instead).
/// </summary>
internal sealed class JpegBitReader
{
    private readonly byte[] _data;
    private readonly int _end;
    private int _pos;
    private ulong _buffer;      // bits aligned to the top
    private int _count;         // valid bits in _buffer, padding included
    private int _padding;       // zero bits appended after a marker or the end of the segment
    private bool _atMarker;

    internal JpegBitReader(byte[] data, int start, int end)
    {
        _data = data;
        _pos = start;
        _end = end;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Fill()
    {
        while (_count <= 56)
        {
            if (!_atMarker && _pos < _end)
            {
                byte b = _data[_pos];
                if (b == 0xFF)
                {
                    byte next = _pos + 1 < _end ? _data[_pos + 1] : (byte)0xD9;
                    if (next == 0x00)
                    {
                        _pos += 2;
                    }
                    else
                    {
                        _atMarker = true;
                        continue;
                    }
                }
                else
                {
                    _pos++;
                }

                _buffer |= (ulong)b << (56 - _count);
                _count += 8;
            }
            else
            {
                _atMarker = true;
                _count += 8;
                _padding += 8;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Consume(int n)
    {
        _buffer <<= n;
        _count -= n;
        if (_count < _padding)
        {
            throw new ImageDecodeException(
                ImageDecodeFailureReason.Truncated,
                "JPEG data ends early: the entropy-coded data of a scan stops before all of its blocks are decoded.");
        }
    }

    /// <summary>Reads <paramref name="n"/> bits (0 to 16) as an unsigned value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int GetBits(int n)
    {
        if (n == 0)
        {
            return 0;
        }

        if (_count < n)
        {
            Fill();
        }

        int value = (int)(_buffer >> (64 - n));
        Consume(n);
        return value;
    }

    /// <summary>Decodes one Huffman symbol.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int Decode(JpegHuffmanTable table)
    {
        if (_count < 16)
        {
            Fill();
        }

        int entry = table.Lookahead[(int)(_buffer >> (64 - JpegHuffmanTable.LookaheadBits))];
        if (entry != 0)
        {
            Consume(entry >> 8);
            return entry & 0xFF;
        }

        return table.DecodeLong(this);
    }

    /// <summary>Reads <paramref name="s"/> bits and sign-extends them as a JPEG magnitude category value (F.2.2.1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int Receive(int s)
    {
        int r = GetBits(s);
        return r < (1 << (s - 1)) ? r + (-1 << s) + 1 : r;
    }

    /// <summary>
    /// Discards the buffered bits and reads the restart marker that must follow; throws when it is missing.
    /// </summary>
    internal void Restart()
    {
        _buffer = 0;
        _count = 0;
        _padding = 0;
        _atMarker = false;
        // Skip any bytes the encoder left before the marker (libjpeg discards them with a warning) and fill bytes.
        while (_pos + 1 < _end && !(_data[_pos] == 0xFF && _data[_pos + 1] != 0x00 && _data[_pos + 1] != 0xFF))
        {
            _pos++;
        }

        if (_pos + 1 >= _end || _data[_pos] != 0xFF || _data[_pos + 1] < 0xD0 || _data[_pos + 1] > 0xD7)
        {
            throw ManagedJpegDecoder.Corrupt("a restart marker (RSTn) is missing where the restart interval requires one");
        }

        _pos += 2;
    }
}
