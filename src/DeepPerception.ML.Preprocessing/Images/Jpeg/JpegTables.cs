namespace DeepPerception.ML.Preprocessing.Images.Jpeg;

/// <summary>Constant tables of the JPEG standard.</summary>
internal static class JpegTables
{
    /// <summary>Zig-zag index → natural (row-major) index within an 8×8 block (T.81 figure A.6).</summary>
    internal static readonly int[] NaturalOrder =
    [
        0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
        12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
        35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
        58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
    ];

    /// <summary>
    /// <see cref="NaturalOrder"/> followed by 16 extra entries of 63, so that a corrupt run length that overshoots
    /// the block lands on the last coefficient, as in libjpeg, instead of outside the block.
    /// </summary>
    internal static readonly int[] NaturalOrderPadded = [.. NaturalOrder, .. Enumerable.Repeat(63, 16)];
}
