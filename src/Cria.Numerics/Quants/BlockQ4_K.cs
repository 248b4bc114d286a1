namespace Cria.Numerics.Quants;

/// <summary>
/// Q4_K: 256 elements in 144 bytes; eight 32-element sub-blocks j with x = d·sc[j]·q − dmin·m[j],
/// q in 0..15, sc and m 6-bit (see <see cref="ScaleMinK4"/>).
/// Layout: [0..2) d fp16, [2..4) dmin fp16, [4..16) scales, [16..144) qs: 32-byte chunk c holds
/// sub-block 2c in its low nibbles and sub-block 2c+1 in its high nibbles, both in element order.
/// </summary>
public static class BlockQ4_K
{
    public const int BlockSize = GgmlTypes.QK_K;
    public const int TypeSize = 144;

    internal const int OffsetD = 0;
    internal const int OffsetDmin = 2;
    internal const int OffsetScales = 4;
    internal const int OffsetQs = 16;

    /// <param name="src">[blocks × 144] bytes.</param>
    /// <param name="dst">[blocks × 256] floats.</param>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        int blocks = QuantGuard.DequantizeBlocks(GgmlType.Q4_K, src.Length, dst.Length, BlockSize, TypeSize);
        for (int b = 0; b < blocks; b++)
        {
            ReadOnlySpan<byte> blk = src.Slice(b * TypeSize, TypeSize);
            Span<float> y = dst.Slice(b * BlockSize, BlockSize);
            float d = Fp16.Read(blk, OffsetD);
            float dmin = Fp16.Read(blk, OffsetDmin);
            ReadOnlySpan<byte> scales = blk.Slice(OffsetScales, 12);
            ReadOnlySpan<byte> qs = blk.Slice(OffsetQs, 128);
            for (int c = 0; c < 4; c++)
            {
                ScaleMinK4.Get(scales, 2 * c, out int sc0, out int m0);
                ScaleMinK4.Get(scales, (2 * c) + 1, out int sc1, out int m1);
                float d0 = d * sc0;
                float min0 = dmin * m0;
                float d1 = d * sc1;
                float min1 = dmin * m1;
                for (int l = 0; l < 32; l++)
                {
                    int q = qs[(32 * c) + l];
                    y[(64 * c) + l] = (d0 * (q & 0xF)) - min0;
                    y[(64 * c) + 32 + l] = (d1 * (q >> 4)) - min1;
                }
            }
        }
    }

    /// <summary>
    /// ggml's quantize_row_q4_K_ref (no importance matrix): per sub-block an affine scale search
    /// (<see cref="KQuantMath.MakeQkx2Quants"/>, weights sqrt(mean x²) + |x|, 21 candidates), then the
    /// eight scales and mins quantized to 6 bits against their maxima, then every element re-rounded
    /// against the scale and min the block actually stores.
    /// </summary>
    /// <param name="src">[blocks × 256] floats.</param>
    /// <param name="dst">[blocks × 144] bytes.</param>
    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        int blocks = QuantGuard.QuantizeBlocks(GgmlType.Q4_K, src.Length, dst.Length, BlockSize, TypeSize);
        Span<byte> levels = stackalloc byte[BlockSize];   // [256] q per element
        Span<byte> scratch = stackalloc byte[32];
        Span<float> weights = stackalloc float[32];
        Span<float> scales = stackalloc float[8];
        Span<float> mins = stackalloc float[8];
        Span<byte> scale6 = stackalloc byte[8];
        Span<byte> min6 = stackalloc byte[8];
        for (int b = 0; b < blocks; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * BlockSize, BlockSize);
            Span<byte> blk = dst.Slice(b * TypeSize, TypeSize);

            float maxScale = 0f;
            float maxMin = 0f;
            for (int j = 0; j < 8; j++)
            {
                ReadOnlySpan<float> xs = x.Slice(32 * j, 32);
                float sumX2 = 0f;
                for (int l = 0; l < 32; l++)
                {
                    sumX2 += xs[l] * xs[l];
                }
                float avX = MathF.Sqrt(sumX2 / 32f);
                for (int l = 0; l < 32; l++)
                {
                    weights[l] = avX + MathF.Abs(xs[l]);
                }
                scales[j] = KQuantMath.MakeQkx2Quants(
                    xs, weights, 15, levels.Slice(32 * j, 32), scratch, out mins[j], -1f, 0.1f, 20, useMad: false);
                maxScale = MathF.Max(maxScale, scales[j]);
                maxMin = MathF.Max(maxMin, mins[j]);
            }

            float invScale = maxScale > 0f ? 63f / maxScale : 0f;
            float invMin = maxMin > 0f ? 63f / maxMin : 0f;
            for (int j = 0; j < 8; j++)
            {
                scale6[j] = (byte)Math.Clamp(KQuantMath.NearestInt(invScale * scales[j]), 0, 63);
                min6[j] = (byte)Math.Clamp(KQuantMath.NearestInt(invMin * mins[j]), 0, 63);
            }
            ScaleMinK4.Pack(blk.Slice(OffsetScales, 12), scale6, min6);
            float d = Fp16.Write(blk, OffsetD, maxScale / 63f);
            float dmin = Fp16.Write(blk, OffsetDmin, maxMin / 63f);

            for (int j = 0; j < 8; j++)
            {
                float dj = d * scale6[j];
                if (dj == 0f)
                {
                    continue;
                }
                float mj = dmin * min6[j];
                for (int l = 0; l < 32; l++)
                {
                    levels[(32 * j) + l] = (byte)Math.Clamp(KQuantMath.NearestInt((x[(32 * j) + l] + mj) / dj), 0, 15);
                }
            }

            Span<byte> qs = blk.Slice(OffsetQs, 128);
            for (int c = 0; c < 4; c++)
            {
                for (int l = 0; l < 32; l++)
                {
                    qs[(32 * c) + l] = (byte)(levels[(64 * c) + l] | (levels[(64 * c) + 32 + l] << 4));
                }
            }
        }
    }
}
