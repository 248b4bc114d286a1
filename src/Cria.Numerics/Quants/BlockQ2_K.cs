namespace Cria.Numerics.Quants;

/// <summary>
/// Q2_K: 256 elements in 84 bytes; sixteen 16-element sub-blocks j with x = d·sc[j]·q − dmin·m[j],
/// q in 0..3, sc and m 4-bit.
/// Layout: [0..16) scales (byte j: sc[j] low nibble, m[j] high nibble), [16..80) qs, [80..82) d fp16,
/// [82..84) dmin fp16. Element e = 128h + 32k + l (h in 0..1, k in 0..3, l in 0..31) sits in bits
/// 2k..2k+1 of qs[32h + l].
/// </summary>
public static class BlockQ2_K
{
    public const int BlockSize = GgmlTypes.QK_K;
    public const int TypeSize = 84;

    internal const int OffsetScales = 0;
    internal const int OffsetQs = 16;
    internal const int OffsetD = 80;
    internal const int OffsetDmin = 82;

    /// <param name="src">[blocks × 84] bytes.</param>
    /// <param name="dst">[blocks × 256] floats.</param>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        int blocks = QuantGuard.DequantizeBlocks(GgmlType.Q2_K, src.Length, dst.Length, BlockSize, TypeSize);
        for (int b = 0; b < blocks; b++)
        {
            ReadOnlySpan<byte> blk = src.Slice(b * TypeSize, TypeSize);
            Span<float> y = dst.Slice(b * BlockSize, BlockSize);
            ReadOnlySpan<byte> scales = blk.Slice(OffsetScales, 16);
            ReadOnlySpan<byte> qs = blk.Slice(OffsetQs, 64);
            float d = Fp16.Read(blk, OffsetD);
            float dmin = Fp16.Read(blk, OffsetDmin);
            for (int e = 0; e < BlockSize; e++)
            {
                int h = e / 128;
                int k = (e % 128) / 32;
                int l = e % 32;
                int sc = scales[e / 16];
                float dl = d * (sc & 0xF);
                float ml = dmin * (sc >> 4);
                int q = (qs[(32 * h) + l] >> (2 * k)) & 3;
                y[e] = (dl * q) - ml;
            }
        }
    }

    /// <summary>
    /// ggml's quantize_row_q2_K_ref (no importance matrix): per sub-block an affine search
    /// (<see cref="KQuantMath.MakeQkx2Quants"/>, 4 levels, weights |x|, absolute error, 16 candidates),
    /// the scales and mins quantized to 4 bits against their maxima, then every element re-rounded
    /// against the scale and min the block actually stores.
    /// </summary>
    /// <param name="src">[blocks × 256] floats.</param>
    /// <param name="dst">[blocks × 84] bytes.</param>
    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        int blocks = QuantGuard.QuantizeBlocks(GgmlType.Q2_K, src.Length, dst.Length, BlockSize, TypeSize);
        Span<byte> levels = stackalloc byte[BlockSize];   // [256] q per element, 0..3
        Span<byte> scratch = stackalloc byte[16];
        Span<float> weights = stackalloc float[16];
        Span<float> scales = stackalloc float[16];
        Span<float> mins = stackalloc float[16];
        for (int b = 0; b < blocks; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * BlockSize, BlockSize);
            Span<byte> blk = dst.Slice(b * TypeSize, TypeSize);
            blk.Clear();

            float maxScale = 0f;
            float maxMin = 0f;
            for (int j = 0; j < 16; j++)
            {
                ReadOnlySpan<float> xs = x.Slice(16 * j, 16);
                for (int l = 0; l < 16; l++)
                {
                    weights[l] = MathF.Abs(xs[l]);
                }
                scales[j] = KQuantMath.MakeQkx2Quants(
                    xs, weights, 3, levels.Slice(16 * j, 16), scratch, out mins[j], -0.5f, 0.1f, 15, useMad: true);
                maxScale = MathF.Max(maxScale, scales[j]);
                maxMin = MathF.Max(maxMin, mins[j]);
            }

            Span<byte> packed = blk.Slice(OffsetScales, 16);
            float d = 0f;
            float dmin = 0f;
            if (maxScale > 0f)
            {
                float iscale = 15f / maxScale;
                for (int j = 0; j < 16; j++)
                {
                    packed[j] = (byte)Math.Clamp(KQuantMath.NearestInt(iscale * scales[j]), 0, 15);
                }
                d = Fp16.Write(blk, OffsetD, maxScale / 15f);
            }
            if (maxMin > 0f)
            {
                float iscale = 15f / maxMin;
                for (int j = 0; j < 16; j++)
                {
                    packed[j] |= (byte)(Math.Clamp(KQuantMath.NearestInt(iscale * mins[j]), 0, 15) << 4);
                }
                dmin = Fp16.Write(blk, OffsetDmin, maxMin / 15f);
            }

            for (int j = 0; j < 16; j++)
            {
                float dj = d * (packed[j] & 0xF);
                if (dj == 0f)
                {
                    continue;
                }
                float mj = dmin * (packed[j] >> 4);
                for (int l = 0; l < 16; l++)
                {
                    levels[(16 * j) + l] = (byte)Math.Clamp(KQuantMath.NearestInt((x[(16 * j) + l] + mj) / dj), 0, 3);
                }
            }

            Span<byte> qs = blk.Slice(OffsetQs, 64);
            for (int e = 0; e < BlockSize; e++)
            {
                int h = e / 128;
                int k = (e % 128) / 32;
                int l = e % 32;
                qs[(32 * h) + l] |= (byte)(levels[e] << (2 * k));
            }
        }
    }
}
