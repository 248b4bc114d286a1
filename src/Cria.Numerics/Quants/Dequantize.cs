using System.Runtime.InteropServices;

namespace Cria.Numerics.Quants;

/// <summary>
/// Turns a row of any supported tensor type into floats with the scalar reference code of its
/// block format (the floor every fast kernel is tested against).
/// </summary>
public static class Dequantize
{
    public static bool IsSupported(GgmlType type)
    {
        return type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16
            or GgmlType.Q4_0 or GgmlType.Q4_1 or GgmlType.Q5_0 or GgmlType.Q5_1 or GgmlType.Q8_0
            or GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K;
    }

    /// <summary>
    /// Dequantizes whole blocks: <paramref name="src"/> holds exactly <c>dst.Length / BlockSize</c>
    /// blocks of <paramref name="type"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The lengths do not describe the same whole number of blocks.</exception>
    /// <exception cref="NotSupportedException"><paramref name="type"/> has no dequantizer.</exception>
    public static void Row(GgmlType type, ReadOnlySpan<byte> src, Span<float> dst)
    {
        switch (type)
        {
            case GgmlType.F32:
                QuantGuard.DequantizeBlocks(type, src.Length, dst.Length, 1, sizeof(float));
                MemoryMarshal.Cast<byte, float>(src).CopyTo(dst);
                break;
            case GgmlType.F16:
                BlockF16.Dequantize(src, dst);
                break;
            case GgmlType.BF16:
                BlockBF16.Dequantize(src, dst);
                break;
            case GgmlType.Q4_0:
                BlockQ4_0.Dequantize(src, dst);
                break;
            case GgmlType.Q4_1:
                BlockQ4_1.Dequantize(src, dst);
                break;
            case GgmlType.Q5_0:
                BlockQ5_0.Dequantize(src, dst);
                break;
            case GgmlType.Q5_1:
                BlockQ5_1.Dequantize(src, dst);
                break;
            case GgmlType.Q8_0:
                BlockQ8_0.Dequantize(src, dst);
                break;
            case GgmlType.Q2_K:
                BlockQ2_K.Dequantize(src, dst);
                break;
            case GgmlType.Q3_K:
                BlockQ3_K.Dequantize(src, dst);
                break;
            case GgmlType.Q4_K:
                BlockQ4_K.Dequantize(src, dst);
                break;
            case GgmlType.Q5_K:
                BlockQ5_K.Dequantize(src, dst);
                break;
            case GgmlType.Q6_K:
                BlockQ6_K.Dequantize(src, dst);
                break;
            default:
                QuantGuard.ThrowNotSupported(type, "Dequantizing");
                break;
        }
    }
}
