namespace Cria.Numerics.Quants;

/// <summary>
/// Q8_0: 32 elements in 34 bytes, x = d·q.
/// Layout: [0..2) d fp16, [2..34) q int8 ×32 in element order.
/// </summary>
public static class BlockQ8_0
{
    public const int BlockSize = 32;
    public const int TypeSize = 34;

    internal const int OffsetD = 0;
    internal const int OffsetQs = 2;

    /// <param name="src">[blocks × 34] bytes.</param>
    /// <param name="dst">[blocks × 32] floats.</param>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        int blocks = QuantGuard.DequantizeBlocks(GgmlType.Q8_0, src.Length, dst.Length, BlockSize, TypeSize);
        for (int b = 0; b < blocks; b++)
        {
            ReadOnlySpan<byte> blk = src.Slice(b * TypeSize, TypeSize);
            Span<float> y = dst.Slice(b * BlockSize, BlockSize);
            float d = Fp16.Read(blk, OffsetD);
            for (int j = 0; j < BlockSize; j++)
            {
                y[j] = (sbyte)blk[OffsetQs + j] * d;
            }
        }
    }

    /// <summary>
    /// ggml's quantize_row_q8_0_ref: d = absmax/127, q = round(x/d) with ties away from zero.
    /// </summary>
    /// <param name="src">[blocks × 32] floats.</param>
    /// <param name="dst">[blocks × 34] bytes.</param>
    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        int blocks = QuantGuard.QuantizeBlocks(GgmlType.Q8_0, src.Length, dst.Length, BlockSize, TypeSize);
        for (int b = 0; b < blocks; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * BlockSize, BlockSize);
            Span<byte> blk = dst.Slice(b * TypeSize, TypeSize);
            float amax = 0f;
            for (int j = 0; j < BlockSize; j++)
            {
                amax = MathF.Max(amax, MathF.Abs(x[j]));
            }
            float d = amax / 127f;
            float id = d != 0f ? 1f / d : 0f;
            Fp16.Write(blk, OffsetD, d);
            for (int j = 0; j < BlockSize; j++)
            {
                blk[OffsetQs + j] = (byte)(sbyte)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero);
            }
        }
    }
}
