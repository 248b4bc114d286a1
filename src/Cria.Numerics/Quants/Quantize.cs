using System.Runtime.InteropServices;

namespace Cria.Numerics.Quants;

/// <summary>
/// Turns a row of floats into any supported tensor type with the scalar reference quantizer of its
/// block format (for the K-quants, llama.cpp's reference algorithm without an importance matrix).
/// </summary>
public static class Quantize
{
    public static bool IsSupported(GgmlType type)
    {
        return Dequantize.IsSupported(type);
    }

    /// <summary>
    /// Quantizes whole blocks: <paramref name="src"/> holds a multiple of the block size of
    /// <paramref name="type"/> and <paramref name="dst"/> exactly the bytes of those blocks.
    /// </summary>
    /// <exception cref="ArgumentException">The lengths do not describe the same whole number of blocks.</exception>
    /// <exception cref="NotSupportedException"><paramref name="type"/> has no quantizer.</exception>
    public static void Row(GgmlType type, ReadOnlySpan<float> src, Span<byte> dst)
    {
        switch (type)
        {
            case GgmlType.F32:
                QuantGuard.QuantizeBlocks(type, src.Length, dst.Length, 1, sizeof(float));
                MemoryMarshal.AsBytes(src).CopyTo(dst);
                break;
            case GgmlType.F16:
                BlockF16.Quantize(src, dst);
                break;
            case GgmlType.BF16:
                BlockBF16.Quantize(src, dst);
                break;
            case GgmlType.Q4_0:
                BlockQ4_0.Quantize(src, dst);
                break;
            case GgmlType.Q4_1:
                BlockQ4_1.Quantize(src, dst);
                break;
            case GgmlType.Q5_0:
                BlockQ5_0.Quantize(src, dst);
                break;
            case GgmlType.Q5_1:
                BlockQ5_1.Quantize(src, dst);
                break;
            case GgmlType.Q8_0:
                BlockQ8_0.Quantize(src, dst);
                break;
            case GgmlType.Q2_K:
                BlockQ2_K.Quantize(src, dst);
                break;
            case GgmlType.Q3_K:
                BlockQ3_K.Quantize(src, dst);
                break;
            case GgmlType.Q4_K:
                BlockQ4_K.Quantize(src, dst);
                break;
            case GgmlType.Q5_K:
                BlockQ5_K.Quantize(src, dst);
                break;
            case GgmlType.Q6_K:
                BlockQ6_K.Quantize(src, dst);
                break;
            default:
                QuantGuard.ThrowNotSupported(type, "Quantizing");
                break;
        }
    }
}
