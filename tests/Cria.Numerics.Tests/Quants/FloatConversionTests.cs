using Cria.Numerics.Quants;

namespace Cria.Numerics.Tests.Quants;

/// <summary>Rounding and special values of float → F16 and float → BF16.</summary>
public class FloatConversionTests
{
    [Theory]
    [InlineData(0x3F80_0000u, (ushort)0x3F80)] // 1
    [InlineData(0x3F80_8000u, (ushort)0x3F80)] // tie, kept bit even: down
    [InlineData(0x3F81_8000u, (ushort)0x3F82)] // tie, kept bit odd: up
    [InlineData(0x3F80_8001u, (ushort)0x3F81)] // just above the tie: up
    [InlineData(0x3F80_7FFFu, (ushort)0x3F80)] // just below the tie: down
    [InlineData(0xBF81_8000u, (ushort)0xBF82)] // negative tie, odd: away from zero
    [InlineData(0x7F7F_FFFFu, (ushort)0x7F80)] // float.MaxValue rounds to +∞
    [InlineData(0xFF80_0000u, (ushort)0xFF80)] // −∞
    [InlineData(0x7FC0_0000u, (ushort)0x7FC0)] // quiet NaN
    [InlineData(0x7F80_0001u, (ushort)0x7FC0)] // signalling NaN with only low payload: quieted, not ∞
    [InlineData(0xFFFF_FFFFu, (ushort)0xFFFF)] // NaN with all payload bits: no carry into the sign
    [InlineData(0x0000_0001u, (ushort)0x0000)] // smallest subnormal: flushes to +0 by rounding
    public void BF16_RoundsToNearestEvenAndQuietsNaN(uint floatBits, ushort expected)
    {
        Assert.Equal(expected, BlockBF16.FromFloat(BitConverter.UInt32BitsToSingle(floatBits)));
    }

    [Theory]
    [InlineData(1f, (ushort)0x3C00)]
    [InlineData(1.00048828125f, (ushort)0x3C00)]  // 1 + 2^−11: tie, even: down
    [InlineData(1.00146484375f, (ushort)0x3C02)]  // 1 + 3·2^−11: tie, odd: up
    [InlineData(65504f, (ushort)0x7BFF)]          // largest half
    [InlineData(65519f, (ushort)0x7BFF)]          // below the overflow midpoint
    [InlineData(65520f, (ushort)0x7C00)]          // the midpoint rounds to even: +∞
    [InlineData(-1e9f, (ushort)0xFC00)]           // overflows to −∞
    [InlineData(5.9604645e-8f, (ushort)0x0001)]   // 2^−24, smallest subnormal
    [InlineData(2.9802322e-8f, (ushort)0x0000)]   // 2^−25: tie with 0, even: 0
    public void F16_RoundsToNearestEven(float value, ushort expected)
    {
        Assert.Equal(expected, BlockF16.FromFloat(value));
    }

    [Fact]
    public void F16_NaNStaysNaN()
    {
        Assert.True(float.IsNaN(BlockF16.ToFloat(BlockF16.FromFloat(float.NaN))));
    }

    [Fact]
    public void EveryHalfRoundTripsThroughFloat()
    {
        for (int bits = 0; bits <= ushort.MaxValue; bits++)
        {
            float f = BlockF16.ToFloat((ushort)bits);
            if (!float.IsNaN(f))
            {
                Assert.Equal((ushort)bits, BlockF16.FromFloat(f));
            }
            float g = BlockBF16.ToFloat((ushort)bits);
            if (!float.IsNaN(g))
            {
                Assert.Equal((ushort)bits, BlockBF16.FromFloat(g));
            }
        }
    }
}
