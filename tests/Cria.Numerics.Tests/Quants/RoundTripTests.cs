using Cria.Numerics.Quants;

namespace Cria.Numerics.Tests.Quants;

/// <summary>
/// Quantize then dequantize seeded rows of every shape in <see cref="DataShape"/> and bound the
/// error RMS(x − y)/RMS(x). The bounds sit a little above the worst we measured over seeds 1..5
/// (given in the comments, in %); they are the error llama.cpp's reference quantizers reach on
/// the same data (the golden tests show our quantizers give their bytes).
/// </summary>
public class RoundTripTests
{
    private const int Elements = 256 * 64;

    public static TheoryData<GgmlType, DataShape> Cases()
    {
        var data = new TheoryData<GgmlType, DataShape>();
        foreach (GgmlType type in s_quantizableTypes)
        {
            foreach (DataShape shape in Enum.GetValues<DataShape>())
            {
                data.Add(type, shape);
            }
        }
        return data;
    }

    public static TheoryData<GgmlType> Types()
    {
        return new TheoryData<GgmlType>(s_quantizableTypes);
    }

    private static readonly GgmlType[] s_quantizableTypes =
    [
        GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q4_0, GgmlType.Q4_1,
        GgmlType.Q6_K, GgmlType.Q5_K, GgmlType.Q4_K, GgmlType.Q3_K, GgmlType.Q2_K,
    ];

    /// <summary>Bound on the relative RMS error for typical rows and for rows with outliers.</summary>
    private static (double Typical, double Outliers) Bound(GgmlType type)
    {
        return type switch
        {
            GgmlType.F16 => (0.00025, 0.00025),   // measured 0.021, 0.021
            GgmlType.BF16 => (0.0020, 0.0020),    // 0.169, 0.175
            GgmlType.Q8_0 => (0.0060, 0.014),     // 0.550, 1.22
            GgmlType.Q6_K => (0.023, 0.038),      // 2.12 (1.79 but for Tiny: its scale is an fp16 subnormal), 3.44
            GgmlType.Q5_K => (0.040, 0.056),      // 3.74, 5.15
            GgmlType.Q5_1 => (0.042, 0.060),      // 3.85, 5.33
            GgmlType.Q5_0 => (0.047, 0.100),      // 4.39, 9.23
            GgmlType.Q4_K => (0.078, 0.110),      // 7.31, 10.06
            GgmlType.Q4_1 => (0.087, 0.125),      // 8.07, 11.41
            GgmlType.Q4_0 => (0.095, 0.160),      // 8.80, 14.45
            GgmlType.Q3_K => (0.165, 0.165),      // 15.42, 13.52
            GgmlType.Q2_K => (0.320, 0.320),      // 29.89, 22.57
            _ => throw new ArgumentOutOfRangeException(nameof(type)),
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void RoundTripErrorIsBounded(GgmlType type, DataShape shape)
    {
        (double typical, double outliers) = Bound(type);
        double bound = shape == DataShape.Outliers ? outliers : typical;
        var q = new byte[GgmlTypes.RowBytes(type, Elements)];
        var y = new float[Elements];
        for (int seed = 1; seed <= 5; seed++)
        {
            float[] x = QuantTestData.Row(shape, Elements, seed);

            Quantize.Row(type, x, q);
            Dequantize.Row(type, q, y);

            double error = QuantTestData.RelativeRmsError(x, y);
            Assert.True(error <= bound, $"{type} {shape} seed {seed}: relative RMS error {error:P3} > {bound:P3}");
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void ZeroSpansStayExactlyZero(GgmlType type)
    {
        float[] x = QuantTestData.Row(DataShape.ZeroSpans, Elements, seed: 7);
        var q = new byte[GgmlTypes.RowBytes(type, Elements)];
        var y = new float[Elements];

        Quantize.Row(type, x, q);
        Dequantize.Row(type, q, y);

        for (int i = 256; i < Elements; i += 512)
        {
            for (int j = 0; j < 256; j++)
            {
                Assert.Equal(0f, y[i + j]);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void RowsDoNotAllocate(GgmlType type)
    {
        float[] x = QuantTestData.Row(DataShape.Gaussian, 1024, seed: 11);
        var q = new byte[GgmlTypes.RowBytes(type, x.Length)];
        var y = new float[x.Length];
        Quantize.Row(type, x, q);
        Dequantize.Row(type, q, y);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
        {
            Quantize.Row(type, x, q);
            Dequantize.Row(type, q, y);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
    }

    [Fact]
    public void F32IsCopiedBitForBit()
    {
        float[] x = [1.5f, -0f, float.NaN, float.PositiveInfinity, float.Epsilon];
        var q = new byte[x.Length * 4];
        var y = new float[x.Length];

        Quantize.Row(GgmlType.F32, x, q);
        Dequantize.Row(GgmlType.F32, q, y);

        for (int i = 0; i < x.Length; i++)
        {
            Assert.Equal(BitConverter.SingleToUInt32Bits(x[i]), BitConverter.SingleToUInt32Bits(y[i]));
        }
    }

    [Fact]
    public void DispatcherAndBlockClassesAgree()
    {
        float[] x = QuantTestData.Row(DataShape.Gaussian, 512, seed: 3);
        var viaRow = new byte[GgmlTypes.RowBytes(GgmlType.Q4_K, 512)];
        var direct = new byte[viaRow.Length];

        Quantize.Row(GgmlType.Q4_K, x, viaRow);
        BlockQ4_K.Quantize(x, direct);

        Assert.Equal(direct, viaRow);
    }
}
