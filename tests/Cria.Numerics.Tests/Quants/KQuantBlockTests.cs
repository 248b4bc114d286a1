using Cria.Numerics.Quants;

namespace Cria.Numerics.Tests.Quants;

/// <summary>
/// Hand-built K-quant super-blocks (ggml-common.h block_q2_K … block_q6_K), every expected value
/// worked out by hand from the layout, independent of our quantizers. Each block sets a few
/// sub-block scales (one of them in the upper half, where the packing is awkward) and a few
/// elements; all other elements decode to a per-sub-block constant.
/// fp16 bit patterns used: 0x3400 = 0.25, 0x3800 = 0.5, 0x3C00 = 1.
/// </summary>
public class KQuantBlockTests
{
    [Fact]
    public void Q2_K_FourBitScalesAndMins()
    {
        var blk = new byte[84];
        blk[0] = 0x21;              // sub-block 0: sc 1, m 2
        blk[7] = 0x3F;              // sub-block 7: sc 15, m 3
        blk[12] = 0xF0;             // sub-block 12: sc 0, m 15
        // qs[32h + l] bits 2k..2k+1 hold element 128h + 32k + l.
        blk[16 + 5] = 0x03;         // element 5 (h 0, k 0, l 5): q 3
        blk[16 + 24] = 0x80;        // element 120 (h 0, k 3, l 24): q 2
        blk[16 + 32 + 8] = 0x30;    // element 200 (h 1, k 2, l 8): q 3, but sc 0
        blk[80] = 0x00;
        blk[81] = 0x38;             // d = 0.5
        blk[82] = 0x00;
        blk[83] = 0x34;             // dmin = 0.25
        var y = new float[256];

        BlockQ2_K.Dequantize(blk, y);

        var expected = new float[256];
        Fill(expected, 0, 16, -0.5f);       // 0.5·1·0 − 0.25·2
        expected[5] = 1f;                   // 0.5·1·3 − 0.5
        Fill(expected, 112, 16, -0.75f);    // 0.5·15·0 − 0.25·3
        expected[120] = 14.25f;             // 0.5·15·2 − 0.75
        Fill(expected, 192, 16, -3.75f);    // 0 − 0.25·15, element 200 included
        Assert.Equal(expected, y);
    }

    [Fact]
    public void Q3_K_SignedSixBitScalesAndHighMaskBit()
    {
        var blk = new byte[110];
        // Default: every high bit set and every low pair 0, so every element decodes to 0.
        blk.AsSpan(0, 32).Fill(0xFF);
        // Scales: 6-bit s, value s − 32. Default s = 32 (0b10_0000): low nibbles 0, top pairs 0b10.
        // Sub-block 0: s = 37 (0b10_0101) → 5.  Low nibble 5 in scales[0], top pair 0b10 (default).
        // Sub-block 9: s = 14 (0b00_1110) → −18. Low nibble in scales[1] high half; top pair 0 in
        //   bits 4–5 of scales[8 + 9 % 4] = scales[9].
        // Sub-block 14: s = 63 (0b11_1111) → 31. Low nibble in scales[6] high half; top pair 0b11 in
        //   bits 6–7 of scales[8 + 14 % 4] = scales[10].
        byte[] scales = [0x05, 0xE0, 0x00, 0x00, 0x00, 0x00, 0xF0, 0x00, 0xAA, 0x8A, 0xEA, 0xAA];
        scales.CopyTo(blk, 96);
        blk[108] = 0x00;
        blk[109] = 0x38;            // d = 0.5
        // Element e = 128h + 32k + l: low pair in bits 2k of qs[32h + l], high bit in bit 4h+k of hmask[l].
        blk[32 + 1] = 0x03;         // element 1: low 3, high bit set → q − 4 = 3
        blk[2] &= 0xFE;             // element 2: high bit clear, low 0 → −4
        blk[32 + 32 + 22] = 0x01;   // element 150 (h 1, k 0, l 22): low 1 ...
        blk[22] &= 0xEF;            // ... high bit (bit 4) clear → 1 − 4 = −3
        blk[32 + 32 + 9] = 0x80;    // element 233 (h 1, k 3, l 9): low 2, high bit set → 2
        blk[0] &= 0x7F;             // element 224 (h 1, k 3, l 0): high bit (bit 7) clear → −4
        var y = new float[256];

        BlockQ3_K.Dequantize(blk, y);

        var expected = new float[256];
        expected[1] = 7.5f;         // 0.5·5·3
        expected[2] = -10f;         // 0.5·5·(−4)
        expected[150] = 27f;        // 0.5·(−18)·(−3)
        expected[233] = 31f;        // 0.5·31·2
        expected[224] = -62f;       // 0.5·31·(−4)
        Assert.Equal(expected, y);
    }

    [Fact]
    public void Q4_K_SixBitScalesIncludingUpperSubBlocks()
    {
        var blk = new byte[144];
        blk[0] = 0x00;
        blk[1] = 0x38;              // d = 0.5
        blk[2] = 0x00;
        blk[3] = 0x34;              // dmin = 0.25
        // Sub-block 0: sc 3, m 2 → scales[0] = 3, scales[4] = 2.
        // Sub-block 5: sc 42 (0b10_1010), m 53 (0b11_0101): low nibbles in scales[9] = 0x5A,
        //   top bits of sc in scales[1] bits 6–7 (0x80), of m in scales[5] bits 6–7 (0xC0).
        // Sub-block 1 reads scales[1] & 63 = 0 and scales[5] & 63 = 0: the top bits must be masked off.
        byte[] scales = [0x03, 0x80, 0x00, 0x00, 0x02, 0xC0, 0x00, 0x00, 0x00, 0x5A, 0x00, 0x00];
        scales.CopyTo(blk, 4);
        // qs chunk c (32 bytes) holds sub-block 2c in low nibbles and 2c+1 in high nibbles.
        blk[16 + 0] = 0xF7;         // element 0 (sub-block 0): q 7; element 32 (sub-block 1): q 15
        blk[16 + 64 + 3] = 0x9C;    // element 131 (sub-block 4, scale 0): q 12; element 163 (sub-block 5): q 9
        var y = new float[256];

        BlockQ4_K.Dequantize(blk, y);

        var expected = new float[256];
        Fill(expected, 0, 32, -0.5f);       // 0.5·3·0 − 0.25·2
        expected[0] = 10f;                  // 0.5·3·7 − 0.5
        Fill(expected, 160, 32, -13.25f);   // 0.5·42·0 − 0.25·53
        expected[163] = 175.75f;            // 21·9 − 13.25
        Assert.Equal(expected, y);
    }

    [Fact]
    public void Q5_K_HighBitsFromQhAndUpperScales()
    {
        var blk = new byte[176];
        blk[0] = 0x00;
        blk[1] = 0x3C;              // d = 1
        blk[2] = 0x00;
        blk[3] = 0x38;              // dmin = 0.5
        // Sub-block 2: sc 1, m 4 → scales[2] = 1, scales[6] = 4.
        // Sub-block 7: sc 19 (0b01_0011), m 33 (0b10_0001): scales[11] = 0x13, top bits in
        //   scales[3] bits 6–7 (0x40) and scales[7] bits 6–7 (0x80).
        byte[] scales = [0x00, 0x00, 0x01, 0x40, 0x00, 0x00, 0x04, 0x80, 0x00, 0x00, 0x00, 0x13];
        scales.CopyTo(blk, 4);
        // Bit j of qh[l] is bit 4 of element l of sub-block j.
        blk[16 + 5] = 0x04;         // element 69 (sub-block 2, l 5) high bit
        blk[16 + 0] = 0x81;         // element 224 (sub-block 7, l 0) high bit; bit 0: element 0, scale 0
        blk[16 + 1] = 0x80;         // element 225 (sub-block 7, l 1) high bit
        blk[48 + 32 + 5] = 0x0B;    // element 69: low nibble 11 → q 27
        blk[48 + 96 + 0] = 0x20;    // element 224: high nibble 2 → q 18
        var y = new float[256];

        BlockQ5_K.Dequantize(blk, y);

        var expected = new float[256];
        Fill(expected, 64, 32, -2f);        // 1·1·0 − 0.5·4
        expected[69] = 25f;                 // 27 − 2
        Fill(expected, 224, 32, -16.5f);    // 1·19·0 − 0.5·33
        expected[224] = 325.5f;             // 19·18 − 16.5
        expected[225] = 287.5f;             // 19·16 − 16.5
        Assert.Equal(expected, y);
    }

    [Fact]
    public void Q6_K_LowNibblesHighPairsAndSignedScales()
    {
        var blk = new byte[210];
        // Default q = 32 (value 0): low nibbles 0, every 2-bit pair of qh = 0b10.
        blk.AsSpan(128, 64).Fill(0xAA);
        blk[192 + 0] = 2;                   // scale of sub-block 0
        blk[192 + 3] = unchecked((byte)-3); // sub-block 3
        blk[192 + 13] = 5;                  // sub-block 13
        blk[192 + 15] = 0x80;               // sub-block 15: −128
        blk[208] = 0x00;
        blk[209] = 0x34;                    // d = 0.25
        // Half h, l in 0..31: elements 128h + l, +32, +64, +96 take ql[64h + l] low, ql[64h + l + 32] low,
        // ql[64h + l] high, ql[64h + l + 32] high, and qh[32h + l] bits 0–1, 2–3, 4–5, 6–7.
        blk[0] = 0x05;                      // element 0: 5 | 0b10 << 4 = 37 → 5
        blk[128 + 20] = 0xA2;               // element 52 (h 0, l 20, +32): pair 2–3 = 0 → q 0 → −32
        blk[64 + 17] = 0xA0;                // element 209 (h 1, l 17, +64): high nibble 10 ...
        blk[128 + 32 + 17] = 0xBA;          // ... pair 4–5 = 3 → 10 | 48 = 58 → 26
        blk[64 + 32 + 31] = 0xF0;           // element 255 (h 1, l 31, +96): high nibble 15 ...
        blk[128 + 32 + 31] = 0xEA;          // ... pair 6–7 = 3 → 63 → 31
        var y = new float[256];

        BlockQ6_K.Dequantize(blk, y);

        var expected = new float[256];
        expected[0] = 2.5f;                 // 0.25·2·5
        expected[52] = 24f;                 // 0.25·(−3)·(−32), sub-block 52/16 = 3
        expected[209] = 32.5f;              // 0.25·5·26, sub-block 13
        expected[255] = -992f;              // 0.25·(−128)·31, sub-block 15
        Assert.Equal(expected, y);
    }

    [Fact]
    public void ScaleMinK4_PackThenGetRoundTripsEveryValue()
    {
        Span<byte> packed = stackalloc byte[12];
        Span<byte> scale6 = stackalloc byte[8];
        Span<byte> min6 = stackalloc byte[8];
        for (int v = 0; v < 64; v++)
        {
            for (int j = 0; j < 8; j++)
            {
                scale6[j] = (byte)((v + (7 * j)) % 64);
                min6[j] = (byte)((63 - v + (5 * j)) % 64);
            }
            packed.Clear();
            ScaleMinK4.Pack(packed, scale6, min6);
            for (int j = 0; j < 8; j++)
            {
                ScaleMinK4.Get(packed, j, out int scale, out int min);
                Assert.Equal(scale6[j], scale);
                Assert.Equal(min6[j], min);
            }
        }
    }

    private static void Fill(float[] a, int start, int count, float value)
    {
        a.AsSpan(start, count).Fill(value);
    }
}
