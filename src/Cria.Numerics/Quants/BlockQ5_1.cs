using System.Buffers.Binary;

namespace Cria.Numerics.Quants;

/// <summary>
/// Q5_1: 32 elements in 24 bytes, x = d·q + m, q in 0..31.
/// Layout: [0..2) d fp16, [2..4) m fp16, [4..8) qh uint32 little-endian: bit j is bit 4 of element j,
/// [8..24) qs: byte j holds the low 4 bits of element j (low nibble) and j+16 (high nibble).
/// </summary>
public static class BlockQ5_1
{
    public const int BlockSize = 32;
    public const int TypeSize = 24;

    internal const int OffsetD = 0;
    internal const int OffsetM = 2;
    internal const int OffsetQh = 4;
    internal const int OffsetQs = 8;

    /// <param name="src">[blocks × 24] bytes.</param>
    /// <param name="dst">[blocks × 32] floats.</param>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        int blocks = QuantGuard.DequantizeBlocks(GgmlType.Q5_1, src.Length, dst.Length, BlockSize, TypeSize);
        for (int b = 0; b < blocks; b++)
        {
            ReadOnlySpan<byte> blk = src.Slice(b * TypeSize, TypeSize);
            Span<float> y = dst.Slice(b * BlockSize, BlockSize);
            float d = Fp16.Read(blk, OffsetD);
            float m = Fp16.Read(blk, OffsetM);
            uint qh = BinaryPrimitives.ReadUInt32LittleEndian(blk[OffsetQh..]);
            for (int j = 0; j < BlockSize / 2; j++)
            {
                int q = blk[OffsetQs + j];
                int h0 = (int)((qh >> j) & 1u) << 4;
                int h1 = (int)((qh >> (j + 16)) & 1u) << 4;
                y[j] = (((q & 0xF) | h0) * d) + m;
                y[j + (BlockSize / 2)] = (((q >> 4) | h1) * d) + m;
            }
        }
    }

    /// <summary>ggml's quantize_row_q5_1_ref: m = min, d = (max − min)/31, q = round((x − m)/d) (ties up).</summary>
    /// <param name="src">[blocks × 32] floats.</param>
    /// <param name="dst">[blocks × 24] bytes.</param>
    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        int blocks = QuantGuard.QuantizeBlocks(GgmlType.Q5_1, src.Length, dst.Length, BlockSize, TypeSize);
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
            float d = (max - min) / 31f;
            float id = d != 0f ? 1f / d : 0f;
            Fp16.Write(blk, OffsetD, d);
            Fp16.Write(blk, OffsetM, min);
            uint qh = 0;
            for (int j = 0; j < BlockSize / 2; j++)
            {
                int q0 = Math.Min(31, (int)(((x[j] - min) * id) + 0.5f));
                int q1 = Math.Min(31, (int)(((x[j + (BlockSize / 2)] - min) * id) + 0.5f));
                blk[OffsetQs + j] = (byte)((q0 & 0xF) | ((q1 & 0xF) << 4));
                qh |= (uint)(q0 >> 4) << j;
                qh |= (uint)(q1 >> 4) << (j + 16);
            }
            BinaryPrimitives.WriteUInt32LittleEndian(blk[OffsetQh..], qh);
        }
    }
}
