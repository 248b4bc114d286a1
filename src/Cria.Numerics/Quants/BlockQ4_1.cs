namespace Cria.Numerics.Quants;

/// <summary>
/// Q4_1: 32 elements in 20 bytes, x = d·q + m, q in 0..15.
/// Layout: [0..2) d fp16, [2..4) m fp16, [4..20) qs: byte j holds element j (low nibble) and j+16 (high nibble).
/// </summary>
public static class BlockQ4_1
{
    public const int BlockSize = 32;
    public const int TypeSize = 20;

    internal const int OffsetD = 0;
    internal const int OffsetM = 2;
    internal const int OffsetQs = 4;

    /// <param name="src">[blocks × 20] bytes.</param>
    /// <param name="dst">[blocks × 32] floats.</param>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        int blocks = QuantGuard.DequantizeBlocks(GgmlType.Q4_1, src.Length, dst.Length, BlockSize, TypeSize);
        for (int b = 0; b < blocks; b++)
        {
            ReadOnlySpan<byte> blk = src.Slice(b * TypeSize, TypeSize);
            Span<float> y = dst.Slice(b * BlockSize, BlockSize);
            float d = Fp16.Read(blk, OffsetD);
            float m = Fp16.Read(blk, OffsetM);
            for (int j = 0; j < BlockSize / 2; j++)
            {
                int q = blk[OffsetQs + j];
                y[j] = ((q & 0xF) * d) + m;
                y[j + (BlockSize / 2)] = ((q >> 4) * d) + m;
            }
        }
    }

    /// <summary>ggml's quantize_row_q4_1_ref: m = min, d = (max − min)/15, q = round((x − m)/d) (ties up).</summary>
    /// <param name="src">[blocks × 32] floats.</param>
    /// <param name="dst">[blocks × 20] bytes.</param>
    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        int blocks = QuantGuard.QuantizeBlocks(GgmlType.Q4_1, src.Length, dst.Length, BlockSize, TypeSize);
        for (int b = 0; b < blocks; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * BlockSize, BlockSize);
            Span<byte> blk = dst.Slice(b * TypeSize, TypeSize);
            float min = float.MaxValue;
            float max = -float.MaxValue;
            for (int j = 0; j < BlockSize; j++)
            {
                // Plain comparisons, not MathF.Min/Max: a −0 must not replace a +0 in the stored min.
                if (x[j] < min)
                {
                    min = x[j];
                }
                if (x[j] > max)
                {
                    max = x[j];
                }
            }
            float d = (max - min) / 15f;
            float id = d != 0f ? 1f / d : 0f;
            Fp16.Write(blk, OffsetD, d);
            Fp16.Write(blk, OffsetM, min);
            for (int j = 0; j < BlockSize / 2; j++)
            {
                int q0 = Math.Min(15, (int)(((x[j] - min) * id) + 0.5f));
                int q1 = Math.Min(15, (int)(((x[j + (BlockSize / 2)] - min) * id) + 0.5f));
                blk[OffsetQs + j] = (byte)(q0 | (q1 << 4));
            }
        }
    }
}
