namespace Cria.Numerics;

/// <summary>
/// Tensor element types with the numeric ids GGUF stores (ggml's <c>enum ggml_type</c>).
/// Ids that were removed upstream (4, 5: Q4_2/Q4_3) are absent on purpose.
/// </summary>
public enum GgmlType : uint
{
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ2_XXS = 16,
    IQ2_XS = 17,
    IQ3_XXS = 18,
    IQ1_S = 19,
    IQ4_NL = 20,
    IQ3_S = 21,
    IQ2_S = 22,
    IQ4_XS = 23,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    IQ1_M = 29,
    BF16 = 30,
    TQ1_0 = 34,
    TQ2_0 = 35,
    MXFP4 = 39,
}

/// <summary>Block geometry of each <see cref="GgmlType"/>: elements per block and bytes per block.</summary>
public static class GgmlTypes
{
    /// <summary>Elements per K-quant super-block.</summary>
    public const int QK_K = 256;

    /// <summary>Returns false for ids GGUF does not define.</summary>
    public static bool IsKnown(GgmlType type) => TryGetLayout(type, out _, out _);

    /// <summary>Elements per block and bytes per block, as ggml's type traits give them.</summary>
    public static bool TryGetLayout(GgmlType type, out int blockSize, out int typeSize)
    {
        (blockSize, typeSize) = type switch
        {
            GgmlType.F32 => (1, 4),
            GgmlType.F16 => (1, 2),
            GgmlType.BF16 => (1, 2),
            GgmlType.F64 => (1, 8),
            GgmlType.I8 => (1, 1),
            GgmlType.I16 => (1, 2),
            GgmlType.I32 => (1, 4),
            GgmlType.I64 => (1, 8),
            GgmlType.Q4_0 => (32, 18),
            GgmlType.Q4_1 => (32, 20),
            GgmlType.Q5_0 => (32, 22),
            GgmlType.Q5_1 => (32, 24),
            GgmlType.Q8_0 => (32, 34),
            GgmlType.Q8_1 => (32, 36),
            GgmlType.Q2_K => (QK_K, 84),
            GgmlType.Q3_K => (QK_K, 110),
            GgmlType.Q4_K => (QK_K, 144),
            GgmlType.Q5_K => (QK_K, 176),
            GgmlType.Q6_K => (QK_K, 210),
            GgmlType.Q8_K => (QK_K, 292),
            GgmlType.IQ2_XXS => (QK_K, 66),
            GgmlType.IQ2_XS => (QK_K, 74),
            GgmlType.IQ3_XXS => (QK_K, 98),
            GgmlType.IQ1_S => (QK_K, 50),
            GgmlType.IQ4_NL => (32, 18),
            GgmlType.IQ3_S => (QK_K, 110),
            GgmlType.IQ2_S => (QK_K, 82),
            GgmlType.IQ4_XS => (QK_K, 136),
            GgmlType.IQ1_M => (QK_K, 56),
            GgmlType.TQ1_0 => (QK_K, 54),
            GgmlType.TQ2_0 => (QK_K, 66),
            GgmlType.MXFP4 => (32, 17),
            _ => (0, 0),
        };
        return blockSize != 0;
    }

    /// <summary>Elements per block; throws for an unknown type.</summary>
    public static int BlockSize(GgmlType type) =>
        TryGetLayout(type, out int b, out _) ? b : throw new ArgumentOutOfRangeException(nameof(type), type, "unknown tensor type");

    /// <summary>Bytes per block; throws for an unknown type.</summary>
    public static int TypeSize(GgmlType type) =>
        TryGetLayout(type, out _, out int t) ? t : throw new ArgumentOutOfRangeException(nameof(type), type, "unknown tensor type");

    /// <summary>
    /// Bytes for a row of <paramref name="elements"/> values, or -1 when the count is not a whole
    /// number of blocks or the byte count overflows.
    /// </summary>
    public static long RowBytes(GgmlType type, long elements)
    {
        if (!TryGetLayout(type, out int b, out int t) || elements < 0 || elements % b != 0)
        {
            return -1;
        }
        long blocks = elements / b;
        return blocks > long.MaxValue / t ? -1 : blocks * t;
    }

    /// <summary>A lower-case name for messages and options ("q4_k", "f16"); ggml itself writes the K types as "q4_K".</summary>
    public static string Name(GgmlType type) => type.ToString().ToLowerInvariant();
}
