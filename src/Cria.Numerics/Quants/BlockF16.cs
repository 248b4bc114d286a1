using System.Buffers.Binary;

namespace Cria.Numerics.Quants;

/// <summary>
/// F16: IEEE 754 half precision, 2 little-endian bytes per element. float → half rounds to nearest
/// even (System.Half), overflowing to ±infinity, as ggml's GGML_FP32_TO_FP16 does.
/// </summary>
public static class BlockF16
{
    public const int BlockSize = 1;
    public const int TypeSize = 2;

    public static float ToFloat(ushort bits)
    {
        return (float)BitConverter.UInt16BitsToHalf(bits);
    }

    public static ushort FromFloat(float value)
    {
        return BitConverter.HalfToUInt16Bits((Half)value);
    }

    /// <param name="src">[n × 2] bytes.</param>
    /// <param name="dst">[n] floats.</param>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        int n = QuantGuard.DequantizeBlocks(GgmlType.F16, src.Length, dst.Length, BlockSize, TypeSize);
        for (int i = 0; i < n; i++)
        {
            dst[i] = ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * i)..]));
        }
    }

    /// <param name="src">[n] floats.</param>
    /// <param name="dst">[n × 2] bytes.</param>
    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        int n = QuantGuard.QuantizeBlocks(GgmlType.F16, src.Length, dst.Length, BlockSize, TypeSize);
        for (int i = 0; i < n; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(dst[(2 * i)..], FromFloat(src[i]));
        }
    }
}
