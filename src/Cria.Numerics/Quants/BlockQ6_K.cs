namespace Cria.Numerics.Quants;

/// <summary>
/// Q6_K: 256 elements in 210 bytes; sixteen 16-element sub-blocks j with x = d·sc[j]·(q − 32),
/// q in 0..63, sc a signed byte.
/// Layout: [0..128) ql, [128..192) qh, [192..208) scales int8 ×16, [208..210) d fp16.
/// Each 128-element half h uses ql[64h..64h+64) and qh[32h..32h+32); for l in 0..31 its elements
/// l, l+32, l+64, l+96 take their low 4 bits from the low nibble of ql[l], the low nibble of
/// ql[l+32], the high nibble of ql[l], the high nibble of ql[l+32], and their top 2 bits from
/// bits 0–1, 2–3, 4–5, 6–7 of qh[l].
/// </summary>
public static class BlockQ6_K
{
    public const int BlockSize = GgmlTypes.QK_K;
    public const int TypeSize = 210;

    internal const int OffsetQl = 0;
    internal const int OffsetQh = 128;
    internal const int OffsetScales = 192;
    internal const int OffsetD = 208;

    /// <param name="src">[blocks × 210] bytes.</param>
    /// <param name="dst">[blocks × 256] floats.</param>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        int blocks = QuantGuard.DequantizeBlocks(GgmlType.Q6_K, src.Length, dst.Length, BlockSize, TypeSize);
        for (int b = 0; b < blocks; b++)
        {
            ReadOnlySpan<byte> blk = src.Slice(b * TypeSize, TypeSize);
            float d = Fp16.Read(blk, OffsetD);
            for (int h = 0; h < 2; h++)
            {
                ReadOnlySpan<byte> ql = blk.Slice(OffsetQl + (64 * h), 64);
                ReadOnlySpan<byte> qh = blk.Slice(OffsetQh + (32 * h), 32);
                ReadOnlySpan<byte> sc = blk.Slice(OffsetScales + (8 * h), 8);
                Span<float> y = dst.Slice((b * BlockSize) + (128 * h), 128);
                for (int l = 0; l < 32; l++)
                {
                    int s = l / 16;
                    int q0 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32;
                    int q1 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                    int q2 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                    int q3 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                    y[l] = d * (sbyte)sc[s] * q0;
                    y[l + 32] = d * (sbyte)sc[s + 2] * q1;
                    y[l + 64] = d * (sbyte)sc[s + 4] * q2;
                    y[l + 96] = d * (sbyte)sc[s + 6] * q3;
                }
            }
        }
    }

    /// <summary>
    /// ggml's quantize_row_q6_K_ref (no importance matrix): per sub-block a symmetric scale search
    /// (<see cref="KQuantMath.MakeQxQuants"/>, nmax 32, weights x², 19 candidates), the sixteen scales
    /// quantized to int8 against the one of largest magnitude (which lands on −128), then every
    /// element re-rounded against the scale the block actually stores.
    /// </summary>
    /// <param name="src">[blocks × 256] floats.</param>
    /// <param name="dst">[blocks × 210] bytes.</param>
    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        int blocks = QuantGuard.QuantizeBlocks(GgmlType.Q6_K, src.Length, dst.Length, BlockSize, TypeSize);
        Span<byte> levels = stackalloc byte[BlockSize];   // [256] q per element, 0..63
        Span<byte> scratch = stackalloc byte[16];
        Span<float> scales = stackalloc float[16];
        for (int b = 0; b < blocks; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * BlockSize, BlockSize);
            Span<byte> blk = dst.Slice(b * TypeSize, TypeSize);

            float maxScale = 0f;
            float maxAbsScale = 0f;
            for (int j = 0; j < 16; j++)
            {
                scales[j] = KQuantMath.MakeQxQuants(x.Slice(16 * j, 16), 32, levels.Slice(16 * j, 16), scratch);
                if (MathF.Abs(scales[j]) > maxAbsScale)
                {
                    maxAbsScale = MathF.Abs(scales[j]);
                    maxScale = scales[j];
                }
            }

            blk.Clear();
            if (maxAbsScale < KQuantMath.GroupMaxEps)
            {
                continue;
            }

            float iscale = -128f / maxScale;
            float d = Fp16.Write(blk, OffsetD, 1f / iscale);
            Span<byte> sc = blk.Slice(OffsetScales, 16);
            for (int j = 0; j < 16; j++)
            {
                int s = Math.Clamp(KQuantMath.NearestInt(iscale * scales[j]), -128, 127);
                sc[j] = (byte)(sbyte)s;
                float dj = d * s;
                if (dj == 0f)
                {
                    continue;
                }
                for (int l = 0; l < 16; l++)
                {
                    levels[(16 * j) + l] = (byte)(Math.Clamp(KQuantMath.NearestInt(x[(16 * j) + l] / dj), -32, 31) + 32);
                }
            }

            for (int h = 0; h < 2; h++)
            {
                Span<byte> ql = blk.Slice(OffsetQl + (64 * h), 64);
                Span<byte> qh = blk.Slice(OffsetQh + (32 * h), 32);
                ReadOnlySpan<byte> q = levels.Slice(128 * h, 128);
                for (int l = 0; l < 32; l++)
                {
                    ql[l] = (byte)((q[l] & 0xF) | ((q[l + 64] & 0xF) << 4));
                    ql[l + 32] = (byte)((q[l + 32] & 0xF) | ((q[l + 96] & 0xF) << 4));
                    qh[l] = (byte)((q[l] >> 4) | ((q[l + 32] >> 4) << 2) | ((q[l + 64] >> 4) << 4) | ((q[l + 96] >> 4) << 6));
                }
            }
        }
    }
}
