namespace DeepPerception.ML.Preprocessing.Images.Jpeg;

/// <summary>
/// Huffman entropy decoding of one scan into the components' coefficient buffers: sequential (baseline/extended,
/// T.81 F.2.2) and progressive (G.1.2: DC first/refine, AC first/refine with end-of-band runs), with restart
/// intervals. Coefficients are 16-bit like libjpeg's JCOEF, with the same wrap-around on overflow.
/// </summary>
internal sealed class JpegEntropyDecoder
{
    private readonly JpegBitReader _reader;
    private readonly int _restartInterval;
    private int _eobRun;

    internal JpegEntropyDecoder(JpegBitReader reader, int restartInterval)
    {
        _reader = reader;
        _restartInterval = restartInterval;
    }

    private delegate void BlockDecoder(ManagedJpegDecoder.Component component, short[] coefficients, int offset);

    internal void DecodeSequential(ManagedJpegDecoder.Component[] scan)
    {
        Iterate(scan, DecodeSequentialBlock);
    }

    internal void DecodeProgressive(ManagedJpegDecoder.Component[] scan, int ss, int se, int ah, int al)
    {
        BlockDecoder decode;
        if (ss == 0)
        {
            decode = ah == 0
                ? (c, coef, o) => DecodeDcFirst(c, coef, o, al)
                : (_, coef, o) => DecodeDcRefine(coef, o, al);
        }
        else
        {
            decode = ah == 0
                ? (c, coef, o) => DecodeAcFirst(c, coef, o, ss, se, al)
                : (c, coef, o) => DecodeAcRefine(c, coef, o, ss, se, al);
        }

        Iterate(scan, decode);
    }

    private void Iterate(ManagedJpegDecoder.Component[] scan, BlockDecoder decode)
    {
        foreach (ManagedJpegDecoder.Component c in scan)
        {
            c.DcPredictor = 0;
        }

        _eobRun = 0;
        int restartsLeft = _restartInterval;
        if (scan.Length == 1)
        {
            // Non-interleaved: one block per MCU, over the component's own (unpadded) block grid.
            ManagedJpegDecoder.Component c = scan[0];
            long mcus = (long)c.WidthInBlocks * c.HeightInBlocks;
            long done = 0;
            for (int by = 0; by < c.HeightInBlocks; by++)
            {
                for (int bx = 0; bx < c.WidthInBlocks; bx++)
                {
                    decode(c, c.Coefficients, (((by * c.BlocksPerLine) + bx) * 64));
                    done++;
                    if (_restartInterval > 0 && --restartsLeft == 0 && done < mcus)
                    {
                        Restart(scan);
                        restartsLeft = _restartInterval;
                    }
                }
            }

            return;
        }

        int blocksInMcu = 0;
        foreach (ManagedJpegDecoder.Component c in scan)
        {
            blocksInMcu += c.H * c.V;
        }

        if (blocksInMcu > 10)
        {
            throw ManagedJpegDecoder.Corrupt($"an interleaved MCU of {blocksInMcu} blocks (at most 10 are allowed)");
        }

        int mcusPerLine = scan[0].BlocksPerLine / scan[0].H;
        int mcusPerColumn = scan[0].BlocksPerColumn / scan[0].V;
        long total = (long)mcusPerLine * mcusPerColumn;
        long count = 0;
        for (int my = 0; my < mcusPerColumn; my++)
        {
            for (int mx = 0; mx < mcusPerLine; mx++)
            {
                foreach (ManagedJpegDecoder.Component c in scan)
                {
                    for (int v = 0; v < c.V; v++)
                    {
                        int row = (my * c.V) + v;
                        for (int h = 0; h < c.H; h++)
                        {
                            int col = (mx * c.H) + h;
                            decode(c, c.Coefficients, ((row * c.BlocksPerLine) + col) * 64);
                        }
                    }
                }

                count++;
                if (_restartInterval > 0 && --restartsLeft == 0 && count < total)
                {
                    Restart(scan);
                    restartsLeft = _restartInterval;
                }
            }
        }
    }

    private void Restart(ManagedJpegDecoder.Component[] scan)
    {
        _reader.Restart();
        foreach (ManagedJpegDecoder.Component c in scan)
        {
            c.DcPredictor = 0;
        }

        _eobRun = 0;
    }

    private void DecodeSequentialBlock(ManagedJpegDecoder.Component c, short[] coef, int offset)
    {
        int s = _reader.Decode(c.DcTable!);
        int diff = s == 0 ? 0 : _reader.Receive(s);
        c.DcPredictor = unchecked(c.DcPredictor + diff);
        coef[offset] = unchecked((short)c.DcPredictor);

        JpegHuffmanTable ac = c.AcTable!;
        for (int k = 1; k < 64; k++)
        {
            int rs = _reader.Decode(ac);
            int r = rs >> 4;
            s = rs & 15;
            if (s != 0)
            {
                k += r;
                coef[offset + JpegTables.NaturalOrderPadded[k]] = unchecked((short)_reader.Receive(s));
            }
            else
            {
                if (r != 15)
                {
                    break;
                }

                k += 15;
            }
        }
    }

    private void DecodeDcFirst(ManagedJpegDecoder.Component c, short[] coef, int offset, int al)
    {
        int s = _reader.Decode(c.DcTable!);
        int diff = s == 0 ? 0 : _reader.Receive(s);
        c.DcPredictor = unchecked(c.DcPredictor + diff);
        coef[offset] = unchecked((short)(c.DcPredictor << al));
    }

    private void DecodeDcRefine(short[] coef, int offset, int al)
    {
        if (_reader.GetBits(1) != 0)
        {
            coef[offset] = unchecked((short)((ushort)coef[offset] | (1 << al)));
        }
    }

    private void DecodeAcFirst(ManagedJpegDecoder.Component c, short[] coef, int offset, int ss, int se, int al)
    {
        if (_eobRun > 0)
        {
            _eobRun--;
            return;
        }

        JpegHuffmanTable ac = c.AcTable!;
        for (int k = ss; k <= se; k++)
        {
            int rs = _reader.Decode(ac);
            int r = rs >> 4;
            int s = rs & 15;
            if (s != 0)
            {
                k += r;
                int value = _reader.Receive(s);
                coef[offset + JpegTables.NaturalOrderPadded[k]] = unchecked((short)(value << al));
            }
            else if (r == 15)
            {
                k += 15;
            }
            else
            {
                _eobRun = 1 << r;
                if (r != 0)
                {
                    _eobRun += _reader.GetBits(r);
                }

                _eobRun--;
                break;
            }
        }
    }

    private void DecodeAcRefine(ManagedJpegDecoder.Component c, short[] coef, int offset, int ss, int se, int al)
    {
        int p1 = 1 << al;
        int m1 = -1 << al;
        int k = ss;
        if (_eobRun == 0)
        {
            JpegHuffmanTable ac = c.AcTable!;
            for (; k <= se; k++)
            {
                int rs = _reader.Decode(ac);
                int r = rs >> 4;
                int s = rs & 15;
                if (s != 0)
                {
                    // s must be 1 here (libjpeg only warns otherwise and uses the sign bit the same way).
                    s = _reader.GetBits(1) != 0 ? p1 : m1;
                }
                else if (r != 15)
                {
                    _eobRun = 1 << r;
                    if (r != 0)
                    {
                        _eobRun += _reader.GetBits(r);
                    }

                    break;
                }

                // Advance over already-nonzero coefficients (appending correction bits) and r still-zero ones.
                do
                {
                    int pos = offset + JpegTables.NaturalOrderPadded[k];
                    short current = coef[pos];
                    if (current != 0)
                    {
                        if (_reader.GetBits(1) != 0 && (current & p1) == 0)
                        {
                            coef[pos] = unchecked((short)(current >= 0 ? current + p1 : current + m1));
                        }
                    }
                    else
                    {
                        if (--r < 0)
                        {
                            break;
                        }
                    }

                    k++;
                }
                while (k <= se);

                if (s != 0)
                {
                    coef[offset + JpegTables.NaturalOrderPadded[k]] = unchecked((short)s);
                }
            }
        }

        if (_eobRun > 0)
        {
            for (; k <= se; k++)
            {
                int pos = offset + JpegTables.NaturalOrderPadded[k];
                short current = coef[pos];
                if (current != 0 && _reader.GetBits(1) != 0 && (current & p1) == 0)
                {
                    coef[pos] = unchecked((short)(current >= 0 ? current + p1 : current + m1));
                }
            }

            _eobRun--;
        }
    }
}
