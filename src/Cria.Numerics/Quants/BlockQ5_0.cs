using System.Buffers.Binary;

namespace Cria.Numerics.Quants;

/// <summary>
/// Q5_0: 32 elements in 22 bytes, x = d·(q − 16), q in 0..31.
/// Layout: [0..2) d fp16, [2..6) qh uint32 little-endian: bit j is bit 4 of element j,
/// [6..22) qs: byte j holds the low 4 bits of element j (low nibble) and j+16 (high nibble).
/// </summary>
public static class BlockQ5_0
{
    public const int BlockSize = 32;
    public const int TypeSize = 22;

    internal const int OffsetD = 0;
    internal const int OffsetQh = 2;
    internal const int OffsetQs = 6;

    /// <param name="src">[blocks × 22] bytes.</param>
    /// <param name="dst">[blocks × 32] floats.</param>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        int blocks = QuantGuard.DequantizeBlocks(GgmlType.Q5_0, src.Length, dst.Length, BlockSize, TypeSize);
        for (int b = 0; b < blocks; b++)
        {
            ReadOnlySpan<byte> blk = src.Slice(b * TypeSize, TypeSize);
            Span<float> y = dst.Slice(b * BlockSize, BlockSize);
            float d = Fp16.Read(blk, OffsetD);
            uint qh = BinaryPrimitives.ReadUInt32LittleEndian(blk[OffsetQh..]);
            for (int j = 0; j < BlockSize / 2; j++)
            {
                int q = blk[OffsetQs + j];
                int h0 = (int)((qh >> j) & 1u) << 4;
                int h1 = (int)((qh >> (j + 16)) & 1u) << 4;
                y[j] = (((q & 0xF) | h0) - 16) * d;
                y[j + (BlockSize / 2)] = (((q >> 4) | h1) - 16) * d;
            }
        }
    }

    /// <summary>ggml's quantize_row_q5_0_ref: d = −max/16 for the signed largest magnitude, q = round(x/d) + 16.</summary>
    /// <param name="src">[blocks × 32] floats.</param>
    /// <param name="dst">[blocks × 22] bytes.</param>
    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        int blocks = QuantGuard.QuantizeBlocks(GgmlType.Q5_0, src.Length, dst.Length, BlockSize, TypeSize);
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
            float d = max / -16f;
            float id = d != 0f ? 1f / d : 0f;
            Fp16.Write(blk, OffsetD, d);
            uint qh = 0;
            for (int j = 0; j < BlockSize / 2; j++)
            {
                int q0 = Math.Min(31, (int)((x[j] * id) + 16.5f));
                int q1 = Math.Min(31, (int)((x[j + (BlockSize / 2)] * id) + 16.5f));
                blk[OffsetQs + j] = (byte)((q0 & 0xF) | ((q1 & 0xF) << 4));
                qh |= (uint)(q0 >> 4) << j;
                qh |= (uint)(q1 >> 4) << (j + 16);
            }
            BinaryPrimitives.WriteUInt32LittleEndian(blk[OffsetQh..], qh);
        }
    }
}
