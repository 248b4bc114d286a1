using System.Buffers.Binary;

namespace Cria.Numerics.Quants;

/// <summary>
/// The little-endian IEEE half-precision scales (<c>ggml_half</c>) inside quant blocks.
/// float → half rounds to nearest even, as ggml's GGML_FP32_TO_FP16 does.
/// </summary>
internal static class Fp16
{
    public static float Read(ReadOnlySpan<byte> block, int offset)
    {
        return (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(block[offset..]));
    }

    /// <summary>Stores <paramref name="value"/> as a half and returns the float the half stands for.</summary>
    public static float Write(Span<byte> block, int offset, float value)
    {
        var h = (Half)value;
        BinaryPrimitives.WriteUInt16LittleEndian(block[offset..], BitConverter.HalfToUInt16Bits(h));
        return (float)h;
    }
}
