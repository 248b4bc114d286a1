using System.Buffers.Binary;

namespace Cria.Numerics.Quants;

/// <summary>
/// BF16 (bfloat16): the upper 16 bits of an IEEE float32, 2 little-endian bytes per element.
/// float → bf16 rounds to nearest even; a NaN keeps its sign and top payload bits and is made
/// quiet (ggml's ggml_compute_fp32_to_bf16), so it never rounds into an infinity.
/// </summary>
public static class BlockBF16
{
    public const int BlockSize = 1;
    public const int TypeSize = 2;

    public static float ToFloat(ushort bits)
    {
        return BitConverter.UInt32BitsToSingle((uint)bits << 16);
    }

    public static ushort FromFloat(float value)
    {
        uint u = BitConverter.SingleToUInt32Bits(value);
        if ((u & 0x7FFF_FFFFu) > 0x7F80_0000u)
        {
            return (ushort)((u >> 16) | 0x0040); // NaN: set the quiet bit
        }
        // Adding 0x7FFF plus the lowest kept bit rounds ties to the even neighbour.
        uint lsb = (u >> 16) & 1u;
        return (ushort)((u + 0x7FFFu + lsb) >> 16);
    }

    /// <param name="src">[n × 2] bytes.</param>
    /// <param name="dst">[n] floats.</param>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        int n = QuantGuard.DequantizeBlocks(GgmlType.BF16, src.Length, dst.Length, BlockSize, TypeSize);
        for (int i = 0; i < n; i++)
        {
            dst[i] = ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * i)..]));
        }
    }

    /// <param name="src">[n] floats.</param>
    /// <param name="dst">[n × 2] bytes.</param>
    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        int n = QuantGuard.QuantizeBlocks(GgmlType.BF16, src.Length, dst.Length, BlockSize, TypeSize);
        for (int i = 0; i < n; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(dst[(2 * i)..], FromFloat(src[i]));
        }
    }
}
