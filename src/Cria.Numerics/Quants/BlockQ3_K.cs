namespace Cria.Numerics.Quants;

/// <summary>
/// Q3_K: 256 elements in 110 bytes; sixteen 16-element sub-blocks j with x = d·(sc[j] − 32)·(q − 4),
/// q in 0..7, sc 6-bit.
/// Layout: [0..32) hmask, [32..96) qs, [96..108) scales, [108..110) d fp16.
/// Element e = 128h + 32k + l (h in 0..1, k in 0..3, l in 0..31) keeps its low 2 bits in bits
/// 2k..2k+1 of qs[32h + l] and its high bit in bit 4h+k of hmask[l]; a clear high bit means q − 4
/// is negative. Scale j keeps its low 4 bits in scales[j] (low nibble, j &lt; 8) or scales[j−8]
/// (high nibble, j ≥ 8), and its top 2 bits in bits 2(j/4)..2(j/4)+1 of scales[8 + j%4].
/// </summary>
public static class BlockQ3_K
{
    public const int BlockSize = GgmlTypes.QK_K;
    public const int TypeSize = 110;

    internal const int OffsetHmask = 0;
    internal const int OffsetQs = 32;
    internal const int OffsetScales = 96;
    internal const int OffsetD = 108;

    /// <summary>The 6-bit scale of sub-block <paramref name="j"/> (0..15) minus 32: −32..31.</summary>
    internal static int GetScale(ReadOnlySpan<byte> scales, int j)
    {
        int low = j < 8 ? scales[j] & 0xF : scales[j - 8] >> 4;
        int high = (scales[8 + (j % 4)] >> (2 * (j / 4))) & 3;
        return (low | (high << 4)) - 32;
    }

    /// <param name="src">[blocks × 110] bytes.</param>
    /// <param name="dst">[blocks × 256] floats.</param>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        int blocks = QuantGuard.DequantizeBlocks(GgmlType.Q3_K, src.Length, dst.Length, BlockSize, TypeSize);
        for (int b = 0; b < blocks; b++)
        {
            ReadOnlySpan<byte> blk = src.Slice(b * TypeSize, TypeSize);
            Span<float> y = dst.Slice(b * BlockSize, BlockSize);
            ReadOnlySpan<byte> hmask = blk.Slice(OffsetHmask, 32);
            ReadOnlySpan<byte> qs = blk.Slice(OffsetQs, 64);
            ReadOnlySpan<byte> scales = blk.Slice(OffsetScales, 12);
            float d = Fp16.Read(blk, OffsetD);
            for (int e = 0; e < BlockSize; e++)
            {
                int h = e / 128;
                int k = (e % 128) / 32;
                int l = e % 32;
                int low = (qs[(32 * h) + l] >> (2 * k)) & 3;
                int q = (hmask[l] & (1 << ((4 * h) + k))) != 0 ? low : low - 4;
                float dl = d * GetScale(scales, e / 16);
                y[e] = dl * q;
            }
        }
    }

    /// <summary>
    /// ggml's quantize_row_q3_K_ref (no importance matrix): per sub-block a symmetric search with
    /// element-wise refinement (<see cref="KQuantMath.MakeQ3Quants"/>, nmax 4, weights x²); the
    /// sixteen scales quantized to 6 bits against the one of largest magnitude (which lands on −32);
    /// then every element re-rounded against the scale the block actually stores.
    /// </summary>
    /// <param name="src">[blocks × 256] floats.</param>
    /// <param name="dst">[blocks × 110] bytes.</param>
    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        int blocks = QuantGuard.QuantizeBlocks(GgmlType.Q3_K, src.Length, dst.Length, BlockSize, TypeSize);
        Span<byte> levels = stackalloc byte[BlockSize];   // [256] q per element, 0..7
        Span<float> scales = stackalloc float[16];
        for (int b = 0; b < blocks; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * BlockSize, BlockSize);
            Span<byte> blk = dst.Slice(b * TypeSize, TypeSize);
            blk.Clear();

            float maxScale = 0f;
            float maxAbsScale = 0f;
            for (int j = 0; j < 16; j++)
            {
                scales[j] = KQuantMath.MakeQ3Quants(x.Slice(16 * j, 16), 4, levels.Slice(16 * j, 16));
                if (MathF.Abs(scales[j]) > maxAbsScale)
                {
                    maxAbsScale = MathF.Abs(scales[j]);
                    maxScale = scales[j];
                }
            }

            Span<byte> packed = blk.Slice(OffsetScales, 12);
            float d = 0f;
            if (maxScale != 0f)
            {
                float iscale = -32f / maxScale;
                for (int j = 0; j < 16; j++)
                {
                    int s = Math.Clamp(KQuantMath.NearestInt(iscale * scales[j]), -32, 31) + 32;
                    if (j < 8)
                    {
                        packed[j] = (byte)(s & 0xF);
                    }
                    else
                    {
                        packed[j - 8] |= (byte)((s & 0xF) << 4);
                    }
                    packed[8 + (j % 4)] |= (byte)((s >> 4) << (2 * (j / 4)));
                }
                d = Fp16.Write(blk, OffsetD, 1f / iscale);
            }

            for (int j = 0; j < 16; j++)
            {
                float dj = d * GetScale(packed, j);
                if (dj == 0f)
                {
                    continue;
                }
                for (int l = 0; l < 16; l++)
                {
                    levels[(16 * j) + l] = (byte)(Math.Clamp(KQuantMath.NearestInt(x[(16 * j) + l] / dj), -4, 3) + 4);
                }
            }

            Span<byte> hmask = blk.Slice(OffsetHmask, 32);
            Span<byte> qs = blk.Slice(OffsetQs, 64);
            for (int e = 0; e < BlockSize; e++)
            {
                int h = e / 128;
                int k = (e % 128) / 32;
                int l = e % 32;
                int q = levels[e];
                if (q > 3)
                {
                    hmask[l] |= (byte)(1 << ((4 * h) + k));
                }
                qs[(32 * h) + l] |= (byte)((q & 3) << (2 * k));
            }
        }
    }
}
