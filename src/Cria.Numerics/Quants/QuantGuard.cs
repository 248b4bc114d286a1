using System.Diagnostics.CodeAnalysis;

namespace Cria.Numerics.Quants;

/// <summary>
/// The length checks every block format runs once at its entry, and the throws they lead to
/// (kept here so the block loops stay free of cold code).
/// </summary>
internal static class QuantGuard
{
    /// <summary>
    /// Blocks in a dequantize call: <paramref name="srcBytes"/> must be a whole number of
    /// <paramref name="typeSize"/>-byte blocks and <paramref name="dstElements"/> exactly their elements.
    /// </summary>
    public static int DequantizeBlocks(GgmlType type, int srcBytes, int dstElements, int blockSize, int typeSize)
    {
        int blocks = srcBytes / typeSize;
        if (srcBytes % typeSize != 0)
        {
            ThrowPartialBlock(type, "src", srcBytes, "bytes", typeSize);
        }
        if ((long)blocks * blockSize != dstElements)
        {
            ThrowMismatch(type, "dst", dstElements, "elements", (long)blocks * blockSize);
        }
        return blocks;
    }

    /// <summary>
    /// Blocks in a quantize call: <paramref name="srcElements"/> must be a whole number of
    /// <paramref name="blockSize"/>-element blocks and <paramref name="dstBytes"/> exactly their bytes.
    /// </summary>
    public static int QuantizeBlocks(GgmlType type, int srcElements, int dstBytes, int blockSize, int typeSize)
    {
        int blocks = srcElements / blockSize;
        if (srcElements % blockSize != 0)
        {
            ThrowPartialBlock(type, "src", srcElements, "elements", blockSize);
        }
        if ((long)blocks * typeSize != dstBytes)
        {
            ThrowMismatch(type, "dst", dstBytes, "bytes", (long)blocks * typeSize);
        }
        return blocks;
    }

    [DoesNotReturn]
    public static void ThrowNotSupported(GgmlType type, string operation)
    {
        throw new NotSupportedException($"{operation} of tensor type {GgmlTypes.Name(type)} (id {(uint)type}) is not supported.");
    }

    [DoesNotReturn]
    private static void ThrowPartialBlock(GgmlType type, string paramName, int length, string unit, int multiple)
    {
        throw new ArgumentException(
            $"{GgmlTypes.Name(type)}: {paramName} has {length} {unit}, not a multiple of {multiple}.", paramName);
    }

    [DoesNotReturn]
    private static void ThrowMismatch(GgmlType type, string paramName, int length, string unit, long expected)
    {
        throw new ArgumentException(
            $"{GgmlTypes.Name(type)}: {paramName} has {length} {unit}; the other buffer needs exactly {expected}.", paramName);
    }
}
