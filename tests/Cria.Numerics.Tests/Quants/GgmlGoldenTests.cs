using System.Buffers.Binary;

using Cria.Numerics.Quants;

namespace Cria.Numerics.Tests.Quants;

/// <summary>
/// Golden hashes from ggml's own reference code: quantize_row_*_ref, dequantize_row_* and
/// GGML_FP32_TO_FP16 / GGML_FP32_TO_BF16 of ggml-org/ggml at d99724f2 (src/ggml-quants.c,
/// src/ggml-impl.h), compiled with gcc -O2 -ffp-contract=off (strict IEEE single precision, as .NET
/// computes; a build that fuses multiply-adds gives different Q2_K and Q6_K quantizer bytes), run on
/// the inputs built below. Each hash is FNV-1a 64 over the output bytes (floats as their IEEE bits,
/// any NaN as 0x7FC00000). The inputs use only integer arithmetic and IEEE add/multiply so both
/// sides build them bit for bit.
/// </summary>
public class GgmlGoldenTests
{
    private const ulong InputHash = 0x65a82bf38efde0c6UL;

    [Fact]
    public void InputGeneratorMatchesTheOneTheHashesCameFrom()
    {
        float[] x = GoldenInput();
        Assert.Equal(InputHash, Hash(x));
    }

    [Theory]
    [InlineData(GgmlType.Q4_0, 0x83b22d05af58abebUL)]
    [InlineData(GgmlType.Q4_1, 0x768a447a0fc03821UL)]
    [InlineData(GgmlType.Q5_0, 0x490a242a50535a0cUL)]
    [InlineData(GgmlType.Q5_1, 0x11dd8435b960298cUL)]
    [InlineData(GgmlType.Q8_0, 0xfd74e158f8d0c0bbUL)]
    [InlineData(GgmlType.Q2_K, 0x4e81c48a9fc5f7e7UL)]
    [InlineData(GgmlType.Q3_K, 0x9eb2a0c1af4392f0UL)]
    [InlineData(GgmlType.Q4_K, 0x4beb458d42098ab5UL)]
    [InlineData(GgmlType.Q5_K, 0x7194280afb6eefdcUL)]
    [InlineData(GgmlType.Q6_K, 0x9a84cfcba5fa1cd2UL)]
    [InlineData(GgmlType.F16, 0x4719a6ba8709e345UL)]
    [InlineData(GgmlType.BF16, 0x1c9d011f847d04fbUL)]
    public void Quantize_GivesGgmlsReferenceBytes(GgmlType type, ulong expected)
    {
        float[] x = GoldenInput();
        var q = new byte[GgmlTypes.RowBytes(type, x.Length)];

        Quantize.Row(type, x, q);

        Assert.Equal(expected, Hash(q));
    }

    [Theory]
    [InlineData(GgmlType.Q4_0, 0x5627132ea5e4fd3eUL)]
    [InlineData(GgmlType.Q4_1, 0xf060881fcd840ab8UL)]
    [InlineData(GgmlType.Q5_0, 0xaa6f47194870ca18UL)]
    [InlineData(GgmlType.Q5_1, 0x188a3b88e166ee80UL)]
    [InlineData(GgmlType.Q8_0, 0x91abdef8dc0db07fUL)]
    [InlineData(GgmlType.Q2_K, 0x387c403bd267fecdUL)]
    [InlineData(GgmlType.Q3_K, 0x1f479dd4ec82bba0UL)]
    [InlineData(GgmlType.Q4_K, 0x282f461052c0123fUL)]
    [InlineData(GgmlType.Q5_K, 0xddfccd0a7f7e04bfUL)]
    [InlineData(GgmlType.Q6_K, 0x7aa0bc7713b62a79UL)]
    public void QuantizeThenDequantize_GivesGgmlsReferenceFloats(GgmlType type, ulong expected)
    {
        float[] x = GoldenInput();
        var q = new byte[GgmlTypes.RowBytes(type, x.Length)];
        var y = new float[x.Length];

        Quantize.Row(type, x, q);
        Dequantize.Row(type, q, y);

        Assert.Equal(expected, Hash(y));
    }

    /// <summary>
    /// Blocks of random bytes (every bit pattern of scales, mins, masks and quants, including
    /// infinite and NaN fp16 scales) dequantize exactly as ggml dequantizes them.
    /// </summary>
    [Theory]
    [InlineData(GgmlType.Q4_0, 777u, 0xeca0a71d95a03722UL)]
    [InlineData(GgmlType.Q4_1, 778u, 0xec292e6c00215158UL)]
    [InlineData(GgmlType.Q5_0, 779u, 0x76931a961c123abcUL)]
    [InlineData(GgmlType.Q5_1, 780u, 0xc12a8f63770b6b27UL)]
    [InlineData(GgmlType.Q8_0, 781u, 0xfd2eb2cdb6018d04UL)]
    [InlineData(GgmlType.Q2_K, 782u, 0x6a3ccd2ff9a42554UL)]
    [InlineData(GgmlType.Q3_K, 783u, 0xdea94ffaf19ddaedUL)]
    [InlineData(GgmlType.Q4_K, 784u, 0x6792e1fe9bb0a676UL)]
    [InlineData(GgmlType.Q5_K, 785u, 0xf8fc713b3c76a2a8UL)]
    [InlineData(GgmlType.Q6_K, 786u, 0x85af28346d11a0a1UL)]
    public void DequantizeRandomBlocks_GivesGgmlsReferenceFloats(GgmlType type, uint seed, ulong expected)
    {
        var q = new byte[GgmlTypes.RowBytes(type, Elements)];
        var rng = new Lcg(seed);
        for (int i = 0; i < q.Length; i++)
        {
            q[i] = (byte)(rng.Next() >> 24);
        }
        var y = new float[Elements];

        Dequantize.Row(type, q, y);

        Assert.Equal(expected, Hash(y));
    }

    private const int Elements = 8 * 256;

    /// <summary>
    /// [8 × 256]: span 0 ~N(0,1), 1 scaled by 0.01, 2 zeros, 3 negative only, 4 with every 16th
    /// element ×20, 5 scaled by 1000, 6 the constant 0.5, 7 shifted by +3 (all positive).
    /// </summary>
    private static float[] GoldenInput()
    {
        var x = new float[Elements];
        var rng = new Lcg(20240601u);
        for (int b = 0; b < 8; b++)
        {
            for (int i = 0; i < 256; i++)
            {
                float g = rng.Gaussian();
                x[(b * 256) + i] = b switch
                {
                    0 => g,
                    1 => g * 0.01f,
                    2 => 0f,
                    3 => -MathF.Abs(g),
                    4 => i % 16 == 5 ? g * 20f : g,
                    5 => g * 1000f,
                    6 => 0.5f,
                    _ => g + 3f,
                };
            }
        }
        return x;
    }

    private static ulong Hash(ReadOnlySpan<float> y)
    {
        ulong h = FnvOffset;
        Span<byte> bytes = stackalloc byte[4];
        for (int i = 0; i < y.Length; i++)
        {
            uint bits = float.IsNaN(y[i]) ? 0x7FC0_0000u : BitConverter.SingleToUInt32Bits(y[i]);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes, bits);
            h = Fnv(bytes, h);
        }
        return h;
    }

    private static ulong Hash(ReadOnlySpan<byte> bytes)
    {
        return Fnv(bytes, FnvOffset);
    }

    private const ulong FnvOffset = 14695981039346656037UL;

    private static ulong Fnv(ReadOnlySpan<byte> bytes, ulong h)
    {
        foreach (byte b in bytes)
        {
            h ^= b;
            h *= 1099511628211UL;
        }
        return h;
    }

    /// <summary>Numerical Recipes' 32-bit LCG; Gaussian() is a scaled sum of four uniforms.</summary>
    private struct Lcg(uint seed)
    {
        private uint _state = seed;

        public uint Next()
        {
            _state = (_state * 1664525u) + 1013904223u;
            return _state;
        }

        public float Uniform()
        {
            return (Next() >> 8) * (1f / 16777216f);
        }

        public float Gaussian()
        {
            float a = Uniform();
            a += Uniform();
            a += Uniform();
            a += Uniform();
            return (a - 2f) * 1.7320508f;
        }
    }
}
