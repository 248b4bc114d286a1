using Cria.Numerics.Quants;

namespace Cria.Numerics.Tests.Quants;

/// <summary>Buffers that are not the same whole number of blocks are refused before any work.</summary>
public class LengthTests
{
    public static TheoryData<GgmlType> SupportedTypes()
    {
        return new TheoryData<GgmlType>(
            GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1,
            GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K);
    }

    [Theory]
    [MemberData(nameof(SupportedTypes))]
    public void DequantizeRefusesMismatchedLengths(GgmlType type)
    {
        int bs = GgmlTypes.BlockSize(type);
        int ts = GgmlTypes.TypeSize(type);
        var src = new byte[(2 * ts) + 1];
        var dst = new float[(2 * bs) + 1];

        Assert.True(Dequantize.IsSupported(type));
        Assert.Throws<ArgumentException>(() => Dequantize.Row(type, src.AsSpan(0, (2 * ts) - 1), dst.AsSpan(0, 2 * bs)));
        Assert.Throws<ArgumentException>(() => Dequantize.Row(type, src.AsSpan(0, 2 * ts), dst.AsSpan(0, (2 * bs) - 1)));
        Assert.Throws<ArgumentException>(() => Dequantize.Row(type, src.AsSpan(0, 2 * ts), dst.AsSpan(0, (2 * bs) + 1)));
        Assert.Throws<ArgumentException>(() => Dequantize.Row(type, src.AsSpan(0, 2 * ts), dst.AsSpan(0, bs)));
        Assert.Throws<ArgumentException>(() => Dequantize.Row(type, src.AsSpan(0, ts), dst.AsSpan(0, 2 * bs)));
        Dequantize.Row(type, src.AsSpan(0, 2 * ts), dst.AsSpan(0, 2 * bs));
        Dequantize.Row(type, [], []);
    }

    [Theory]
    [MemberData(nameof(SupportedTypes))]
    public void QuantizeRefusesMismatchedLengths(GgmlType type)
    {
        int bs = GgmlTypes.BlockSize(type);
        int ts = GgmlTypes.TypeSize(type);
        var src = new float[(2 * bs) + 1];
        var dst = new byte[(2 * ts) + 1];

        Assert.True(Quantize.IsSupported(type));
        if (bs > 1)
        {
            Assert.Throws<ArgumentException>(() => Quantize.Row(type, src.AsSpan(0, (2 * bs) - 1), dst.AsSpan(0, 2 * ts)));
        }
        Assert.Throws<ArgumentException>(() => Quantize.Row(type, src.AsSpan(0, 2 * bs), dst.AsSpan(0, (2 * ts) - 1)));
        Assert.Throws<ArgumentException>(() => Quantize.Row(type, src.AsSpan(0, 2 * bs), dst.AsSpan(0, (2 * ts) + 1)));
        Assert.Throws<ArgumentException>(() => Quantize.Row(type, src.AsSpan(0, bs), dst.AsSpan(0, 2 * ts)));
        Quantize.Row(type, src.AsSpan(0, 2 * bs), dst.AsSpan(0, 2 * ts));
        Quantize.Row(type, [], []);
    }

    [Theory]
    [InlineData(GgmlType.Q8_1)]
    [InlineData(GgmlType.Q8_K)]
    [InlineData(GgmlType.IQ2_XXS)]
    [InlineData(GgmlType.IQ4_NL)]
    [InlineData(GgmlType.MXFP4)]
    [InlineData(GgmlType.I8)]
    [InlineData((GgmlType)4)]
    public void UnsupportedTypesSayWhichType(GgmlType type)
    {
        Assert.False(Dequantize.IsSupported(type));
        Assert.False(Quantize.IsSupported(type));
        var d = Assert.Throws<NotSupportedException>(() => Dequantize.Row(type, [], []));
        var q = Assert.Throws<NotSupportedException>(() => Quantize.Row(type, [], []));
        Assert.Contains(GgmlTypes.Name(type), d.Message, StringComparison.Ordinal);
        Assert.Contains(GgmlTypes.Name(type), q.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BlockConstantsMatchGgmlTypes()
    {
        AssertLayout(GgmlType.F16, BlockF16.BlockSize, BlockF16.TypeSize);
        AssertLayout(GgmlType.BF16, BlockBF16.BlockSize, BlockBF16.TypeSize);
        AssertLayout(GgmlType.Q8_0, BlockQ8_0.BlockSize, BlockQ8_0.TypeSize);
        AssertLayout(GgmlType.Q4_0, BlockQ4_0.BlockSize, BlockQ4_0.TypeSize);
        AssertLayout(GgmlType.Q4_1, BlockQ4_1.BlockSize, BlockQ4_1.TypeSize);
        AssertLayout(GgmlType.Q5_0, BlockQ5_0.BlockSize, BlockQ5_0.TypeSize);
        AssertLayout(GgmlType.Q5_1, BlockQ5_1.BlockSize, BlockQ5_1.TypeSize);
        AssertLayout(GgmlType.Q2_K, BlockQ2_K.BlockSize, BlockQ2_K.TypeSize);
        AssertLayout(GgmlType.Q3_K, BlockQ3_K.BlockSize, BlockQ3_K.TypeSize);
        AssertLayout(GgmlType.Q4_K, BlockQ4_K.BlockSize, BlockQ4_K.TypeSize);
        AssertLayout(GgmlType.Q5_K, BlockQ5_K.BlockSize, BlockQ5_K.TypeSize);
        AssertLayout(GgmlType.Q6_K, BlockQ6_K.BlockSize, BlockQ6_K.TypeSize);
    }

    private static void AssertLayout(GgmlType type, int blockSize, int typeSize)
    {
        Assert.True(GgmlTypes.TryGetLayout(type, out int b, out int t));
        Assert.Equal(b, blockSize);
        Assert.Equal(t, typeSize);
    }
}
