using Cria.Numerics.Quants;

namespace Cria.Numerics.Tests.Quants;

/// <summary>
/// Hand-built blocks of the 32-element formats (ggml-common.h block_q4_0 … block_q8_0), with every
/// expected value worked out by hand from the layout, independent of our quantizers.
/// fp16 bit patterns used: 0x3400 = 0.25, 0x3800 = 0.5, 0x3C00 = 1, 0x4000 = 2, 0xBC00 = −1.
/// </summary>
public class LegacyBlockTests
{
    [Fact]
    public void Q8_0_IsScaleTimesSignedByte()
    {
        var blk = new byte[34];
        blk[0] = 0x00;
        blk[1] = 0x38;              // d = 0.5
        blk[2 + 0] = 0x80;          // −128
        blk[2 + 1] = 0xFF;          // −1
        blk[2 + 2] = 0x01;          // 1
        blk[2 + 31] = 0x7F;         // 127
        var y = new float[32];

        BlockQ8_0.Dequantize(blk, y);

        var expected = new float[32];
        expected[0] = -64f;
        expected[1] = -0.5f;
        expected[2] = 0.5f;
        expected[31] = 63.5f;
        Assert.Equal(expected, y);
    }

    [Fact]
    public void Q4_0_LowNibblesAreTheFirstHalf()
    {
        var blk = new byte[18];
        blk[0] = 0x00;
        blk[1] = 0x34;              // d = 0.25
        blk.AsSpan(2).Fill(0x88);   // q = 8 everywhere: value 0
        blk[2 + 0] = 0x0F;          // element 0: q 15 → 7·0.25; element 16: q 0 → −8·0.25
        blk[2 + 1] = 0x8A;          // element 1: q 10 → 0.5; element 17: q 8 → 0
        blk[2 + 15] = 0x38;         // element 15: q 8 → 0; element 31: q 3 → −1.25
        var y = new float[32];

        BlockQ4_0.Dequantize(blk, y);

        var expected = new float[32];
        expected[0] = 1.75f;
        expected[16] = -2f;
        expected[1] = 0.5f;
        expected[31] = -1.25f;
        Assert.Equal(expected, y);
    }

    [Fact]
    public void Q4_1_AddsTheMin()
    {
        var blk = new byte[20];
        blk[0] = 0x00;
        blk[1] = 0x38;              // d = 0.5
        blk[2] = 0x00;
        blk[3] = 0xBC;              // m = −1
        blk[4 + 0] = 0x3C;          // element 0: 12·0.5 − 1 = 5; element 16: 3·0.5 − 1 = 0.5
        blk[4 + 15] = 0xF0;         // element 15: 0·0.5 − 1 = −1; element 31: 15·0.5 − 1 = 6.5
        var y = new float[32];

        BlockQ4_1.Dequantize(blk, y);

        var expected = new float[32];
        Array.Fill(expected, -1f);
        expected[0] = 5f;
        expected[16] = 0.5f;
        expected[31] = 6.5f;
        Assert.Equal(expected, y);
    }

    [Fact]
    public void Q5_0_HighBitsComeFromQhBitJ()
    {
        var blk = new byte[22];
        blk[0] = 0x00;
        blk[1] = 0x3C;              // d = 1
        // qh = 0x8002_0001 little-endian: bits 0, 17 and 31 → elements 0, 17 and 31 get +16.
        blk[2] = 0x01;
        blk[3] = 0x00;
        blk[4] = 0x02;
        blk[5] = 0x80;
        blk[6 + 0] = 0x21;          // element 0: 1|16 = 17 → 1;  element 16: 2 → −14
        blk[6 + 1] = 0x43;          // element 1: 3 → −13;        element 17: 4|16 = 20 → 4
        blk[6 + 15] = 0xF0;         // element 15: 0 → −16;       element 31: 15|16 = 31 → 15
        var y = new float[32];

        BlockQ5_0.Dequantize(blk, y);

        var expected = new float[32];
        Array.Fill(expected, -16f);
        expected[0] = 1f;
        expected[16] = -14f;
        expected[1] = -13f;
        expected[17] = 4f;
        expected[31] = 15f;
        Assert.Equal(expected, y);
    }

    [Fact]
    public void Q5_1_HighBitsAndMin()
    {
        var blk = new byte[24];
        blk[0] = 0x00;
        blk[1] = 0x38;              // d = 0.5
        blk[2] = 0x00;
        blk[3] = 0x40;              // m = 2
        // qh = 0x8000_0004: bit 2 → element 2, bit 31 → element 31.
        blk[4] = 0x04;
        blk[5] = 0x00;
        blk[6] = 0x00;
        blk[7] = 0x80;
        blk[8 + 2] = 0x01;          // element 2: 1|16 = 17 → 8.5 + 2 = 10.5; element 18: 0 → 2
        blk[8 + 15] = 0xF0;         // element 15: 0 → 2;   element 31: 15|16 = 31 → 15.5 + 2 = 17.5
        var y = new float[32];

        BlockQ5_1.Dequantize(blk, y);

        var expected = new float[32];
        Array.Fill(expected, 2f);
        expected[2] = 10.5f;
        expected[31] = 17.5f;
        Assert.Equal(expected, y);
    }

    [Fact]
    public void F16_DecodesLittleEndianHalves()
    {
        byte[] src =
        [
            0x00, 0x3C,             // 1
            0x00, 0xC0,             // −2
            0xFF, 0x7B,             // 65504, the largest half
            0x01, 0x00,             // 2^−24, the smallest subnormal
            0x00, 0x7C,             // +∞
            0x00, 0x80,             // −0
        ];
        var y = new float[6];

        BlockF16.Dequantize(src, y);

        Assert.Equal([1f, -2f, 65504f, MathF.Pow(2, -24), float.PositiveInfinity, -0f], y);
        Assert.True(float.IsNegative(y[5]));
    }

    [Fact]
    public void BF16_IsTheUpperHalfOfAFloat()
    {
        byte[] src =
        [
            0x80, 0x3F,             // 0x3F80 → 1
            0xC0, 0xBF,             // 0xBFC0 → −1.5
            0x49, 0x40,             // 0x4049 → 3.140625
            0x80, 0xFF,             // 0xFF80 → −∞
        ];
        var y = new float[4];

        BlockBF16.Dequantize(src, y);

        Assert.Equal([1f, -1.5f, 3.140625f, float.NegativeInfinity], y);
    }
}
