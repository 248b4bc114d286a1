using Cria.Numerics.Kernels.Dot;
using Cria.Numerics.Quants;

namespace Cria.Numerics.Tests.Kernels;

/// <summary>
/// Each fast dot-product path against its scalar reference on the same quantized inputs, for
/// every block count 1..20 (and F16/BF16 for every length 0..200, ragged tails included), and
/// against a float64 reference on the dequantized weights.
/// </summary>
public sealed unsafe class DotKernelTests
{
    private static float[] Gaussian(Random rng, int n, double std)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            v[i] = (float)(std * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return v;
    }

    private static byte[] QuantizeRow(GgmlType type, float[] w)
    {
        var bytes = new byte[GgmlTypes.RowBytes(type, w.Length)];
        Quantize.Row(type, w, bytes);
        return bytes;
    }

    private static double Reference(GgmlType type, byte[] wq, float[] x)
    {
        var deq = new float[x.Length];
        Dequantize.Row(type, wq, deq);
        double s = 0;
        for (int i = 0; i < x.Length; i++)
        {
            s += (double)deq[i] * x[i];
        }
        return s;
    }

    private static void AssertClose(double expected, double actual, double scale, double rel)
    {
        Assert.True(Math.Abs(expected - actual) <= rel * scale + 1e-6, $"expected {expected}, got {actual} (scale {scale})");
    }

    public static TheoryData<int> BlockCounts()
    {
        var d = new TheoryData<int>();
        for (int i = 1; i <= 20; i++)
        {
            d.Add(i);
        }
        return d;
    }

    [Theory]
    [MemberData(nameof(BlockCounts))]
    public void Q4_0_and_Q8_0_fast_paths_match_scalar(int blocks)
    {
        var rng = new Random(blocks);
        int n = blocks * 32;
        float[] x = Gaussian(rng, n, 1.0);
        var act = new Q8Activations();
        act.Quantize(x, 1, n);
        foreach (GgmlType type in new[] { GgmlType.Q4_0, GgmlType.Q8_0 })
        {
            byte[] wq = QuantizeRow(type, Gaussian(rng, n, 0.02));
            fixed (byte* pw = wq)
            fixed (sbyte* pq = act.Qs)
            fixed (float* pd = act.D)
            fixed (int* ps = act.Sums)
            {
                float fast = type == GgmlType.Q4_0 ? DotQ4_0.Run(pw, pq, pd, ps, blocks) : DotQ8_0.Run(pw, pq, pd, blocks);
                float slow = type == GgmlType.Q4_0 ? DotQ4_0.Scalar(pw, pq, pd, ps, blocks) : DotQ8_0.Scalar(pw, pq, pd, blocks);
                double scale = Math.Sqrt(n) * 0.02 * 1.0;
                AssertClose(slow, fast, scale, 1e-5);
                AssertClose(Reference(type, wq, x), fast, scale, 0.02);
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(11)]
    public void Q4_K_and_Q6_K_fast_paths_match_scalar(int superBlocks)
    {
        var rng = new Random(100 + superBlocks);
        int n = superBlocks * 256;
        float[] x = Gaussian(rng, n, 1.0);
        var act = new Q8KActivations();
        act.Quantize(x, 1, n);
        foreach (GgmlType type in new[] { GgmlType.Q4_K, GgmlType.Q6_K })
        {
            byte[] wq = QuantizeRow(type, Gaussian(rng, n, 0.02));
            fixed (byte* pw = wq)
            fixed (sbyte* pq = act.Qs)
            fixed (float* pd = act.D)
            fixed (short* pb = act.BSums)
            {
                float fast = type == GgmlType.Q4_K ? DotQ4_K.Run(pw, pq, pd, pb, superBlocks) : DotQ6_K.Run(pw, pq, pd, pb, superBlocks);
                float slow = type == GgmlType.Q4_K ? DotQ4_K.Scalar(pw, pq, pd, pb, superBlocks) : DotQ6_K.Scalar(pw, pq, pd, pb, superBlocks);
                double scale = Math.Sqrt(n) * 0.02;
                AssertClose(slow, fast, scale, 1e-5);
                AssertClose(Reference(type, wq, x), fast, scale, 0.02);
                // The Vector128 path (ARM64, x86 without AVX2) sums the same integers in the same float order.
                float portable = type == GgmlType.Q4_K ? DotQ4_K.Portable(pw, pq, pd, pb, superBlocks) : DotQ6_K.Portable(pw, pq, pd, pb, superBlocks);
                Assert.Equal(slow, portable);
            }
        }
    }

    [Fact]
    public void F16_and_BF16_fast_paths_match_scalar_for_every_length()
    {
        var rng = new Random(77);
        for (int n = 0; n <= 200; n++)
        {
            float[] x = Gaussian(rng, n, 1.0);
            float[] w = Gaussian(rng, n, 0.5);
            w[0..Math.Min(n, 3)].AsSpan().Fill(1e-6f); // subnormal halves
            var h = new ushort[n];
            var b = new ushort[n];
            for (int i = 0; i < n; i++)
            {
                h[i] = BitConverter.HalfToUInt16Bits((Half)w[i]);
                b[i] = (ushort)(BitConverter.SingleToInt32Bits(w[i]) >> 16);
            }
            fixed (ushort* ph = h)
            fixed (ushort* pb = b)
            fixed (float* px = x)
            {
                double scale = Math.Sqrt(n + 1) * 0.5;
                AssertClose(DotF16.ScalarF16(ph, px, n), DotF16.RunF16(ph, px, n), scale, 1e-5);
                AssertClose(DotF16.ScalarBF16(pb, px, n), DotF16.RunBF16(pb, px, n), scale, 1e-5);
            }
        }
    }

    [Fact]
    public void Q8_activations_round_trip_within_half_a_step()
    {
        var rng = new Random(5);
        float[] x = Gaussian(rng, 256, 3.0);
        x[40] = 0f;
        var act = new Q8Activations();
        act.Quantize(x, 2, 128);
        for (int i = 0; i < x.Length; i++)
        {
            float d = act.D[i / 32];
            // d is stored rounded to fp16 (as ggml does), which adds up to 2^-11 relative error.
            Assert.True(Math.Abs(x[i] - d * act.Qs[i]) <= d / 2 + Math.Abs(x[i]) / 1024 + 1e-6, $"element {i}");
        }
        for (int b = 0; b < 8; b++)
        {
            int s = 0;
            for (int i = 0; i < 32; i++)
            {
                s += act.Qs[b * 32 + i];
            }
            Assert.Equal(s, act.Sums[b]);
        }
    }
}
