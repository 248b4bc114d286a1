namespace Cria.Numerics.Quants;

/// <summary>
/// Q4_0: 32 elements in 18 bytes, x = d·(q − 8), q in 0..15.
/// Layout: [0..2) d fp16, [2..18) qs: byte j holds element j in its low nibble and element j+16 in its high nibble.
/// </summary>
public static class BlockQ4_0
{
    public const int BlockSize = 32;
    public const int TypeSize = 18;

    internal const int OffsetD = 0;
    internal const int OffsetQs = 2;

    /// <param name="src">[blocks × 18] bytes.</param>
    /// <param name="dst">[blocks × 32] floats.</param>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        int blocks = QuantGuard.DequantizeBlocks(GgmlType.Q4_0, src.Length, dst.Length, BlockSize, TypeSize);
        for (int b = 0; b < blocks; b++)
        {
            ReadOnlySpan<byte> blk = src.Slice(b * TypeSize, TypeSize);
            Span<float> y = dst.Slice(b * BlockSize, BlockSize);
            float d = Fp16.Read(blk, OffsetD);
            for (int j = 0; j < BlockSize / 2; j++)
            {
                int q = blk[OffsetQs + j];
                y[j] = ((q & 0xF) - 8) * d;
                y[j + (BlockSize / 2)] = ((q >> 4) - 8) * d;
            }
        }
    }

    /// <summary>
    /// ggml's quantize_row_q4_0_ref: d = −max/8 where max is the signed element of largest magnitude,
    /// so that element lands exactly on level 0 (−8·d); the others round to nearest (ties up).
    /// </summary>
    /// <param name="src">[blocks × 32] floats.</param>
    /// <param name="dst">[blocks × 18] bytes.</param>
    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        int blocks = QuantGuard.QuantizeBlocks(GgmlType.Q4_0, src.Length, dst.Length, BlockSize, TypeSize);
        for (int b = 0; b < blocks; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * BlockSize, BlockSize);
            Span<byte> blk = dst.Slice(b * TypeSize, TypeSize);
            float amax = 0f;
            float max = 0f;
            for (int j = 0; j < BlockSize; j++)
            {
                if (MathF.Abs(x[j]) > amax)
                {
                    amax = MathF.Abs(x[j]);
                    max = x[j];
                }
            }
            float d = max / -8f;
            float id = d != 0f ? 1f / d : 0f;
            Fp16.Write(blk, OffsetD, d);
            for (int j = 0; j < BlockSize / 2; j++)
            {
                int q0 = Math.Min(15, (int)((x[j] * id) + 8.5f));
                int q1 = Math.Min(15, (int)((x[j + (BlockSize / 2)] * id) + 8.5f));
                blk[OffsetQs + j] = (byte)(q0 | (q1 << 4));
            }
        }
    }
}
