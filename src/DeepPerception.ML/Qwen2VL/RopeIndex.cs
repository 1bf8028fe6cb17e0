namespace DeepPerception.ML.Qwen2VL;

/// <summary>M-RoPE position ids for a batch: [3][B][L] plus one rope delta per row.</summary>
public sealed record RopePositions(long[,,] Ids, long[] Deltas);

/// <summary>
/// Qwen2-VL's <c>get_rope_index</c>: text tokens take consecutive positions on all three axes; the tokens of an image
/// (after <c>vision_start</c>) take start + (t, h, w) over the merged grid in raster order; the next text continues from
/// max + 1. Padding (attention mask 0) gets position 1 and is skipped. The delta of a row is max + 1 − L (L = padded
/// length), so that a decoded token at cache position c sits at c + delta.
/// </summary>
public static class RopeIndex
{
    /// <summary>Computes positions for token ids [B][L] with optional mask [B][L] and the image grids in prompt order.</summary>
    public static RopePositions Compute(Qwen2VLConfig config, long[][] inputIds, long[][]? attentionMask, IReadOnlyList<ImageGrid> imageGrids)
    {
        var b = inputIds.Length;
        var l = inputIds[0].Length;
        var ids = new long[3, b, l];
        var deltas = new long[b];
        var merge = config.Vision.SpatialMergeSize;
        var imageIndex = 0;
        for (var row = 0; row < b; row++)
        {
            if (inputIds[row].Length != l)
            {
                throw new ArgumentException("All rows of input_ids must have the same (padded) length.");
            }

            var kept = new List<int>();
            for (var j = 0; j < l; j++)
            {
                ids[0, row, j] = ids[1, row, j] = ids[2, row, j] = 1;
                if (attentionMask is null || attentionMask[row][j] == 1)
                {
                    kept.Add(j);
                }
            }

            var tokens = kept.Select(j => inputIds[row][j]).ToArray();
            var positions = new long[3, tokens.Length];
            long next = 0;
            var st = 0;
            while (st < tokens.Length)
            {
                var ed = Array.IndexOf(tokens, (long)config.ImageTokenId, st);
                var isImage = ed >= 0 && ed > 0 && tokens[ed - 1] == config.VisionStartTokenId;
                if (ed < 0)
                {
                    ed = tokens.Length;
                }

                for (var j = st; j < ed; j++, next++)
                {
                    positions[0, j] = positions[1, j] = positions[2, j] = next;
                }

                if (ed >= tokens.Length)
                {
                    break;
                }

                if (!isImage)
                {
                    throw new ArgumentException($"Row {row}: <|image_pad|> at {ed} does not follow <|vision_start|>.");
                }

                if (imageIndex >= imageGrids.Count)
                {
                    throw new ArgumentException($"The prompt has more images than the {imageGrids.Count} image grids given.");
                }

                var g = imageGrids[imageIndex++];
                int gt = g.T, gh = g.H / merge, gw = g.W / merge;
                var count = gt * gh * gw;
                if (ed + count > tokens.Length || tokens.Skip(ed).Take(count).Any(t => t != config.ImageTokenId))
                {
                    throw new ArgumentException($"Row {row}: image {imageIndex - 1} needs {count} consecutive <|image_pad|> tokens at {ed}.");
                }

                var start = next;
                long max = start;
                var k = ed;
                for (var t = 0; t < gt; t++)
                {
                    for (var h = 0; h < gh; h++)
                    {
                        for (var w = 0; w < gw; w++, k++)
                        {
                            positions[0, k] = start + t;
                            positions[1, k] = start + h;
                            positions[2, k] = start + w;
                            max = Math.Max(max, Math.Max(start + t, Math.Max(start + h, start + w)));
                        }
                    }
                }

                next = max + 1;
                st = ed + count;
            }

            long rowMax = tokens.Length == 0 ? -1 : 0;
            for (var j = 0; j < tokens.Length; j++)
            {
                for (var a = 0; a < 3; a++)
                {
                    ids[a, row, kept[j]] = positions[a, j];
                    rowMax = Math.Max(rowMax, positions[a, j]);
                }
            }

            deltas[row] = rowMax + 1 - l;
        }

        if (imageIndex != imageGrids.Count)
        {
            throw new ArgumentException($"{imageGrids.Count} image grids were given but the prompts contain {imageIndex} images.");
        }

        return new RopePositions(ids, deltas);
    }
}
