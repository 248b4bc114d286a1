using Cria.Numerics.Kernels;
using Cria.Numerics.Memory;
using Cria.Numerics.Quants;
using Cria.Numerics.Threading;

namespace Cria.Numerics.Tests.Kernels;

/// <summary>The training matmul kernels (y = x·Wᵀ and dx = dy·W over stored weights, and their register-blocked core) against their scalar references.</summary>
public sealed class InputGradientTests
{
    private static float[] RandomFloats(Random rng, int n)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = (float)(rng.NextDouble() * 2 - 1);
        }
        return v;
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 5, 7)]
    [InlineData(4, 9, 16)]
    [InlineData(5, 17, 64)]
    [InlineData(9, 33, 200)]
    [InlineData(8, 64, 256)]
    public void PanelGemm_matches_the_scalar_reference_for_ragged_shapes(int rows, int k, int width)
    {
        var rng = new Random(rows * 1000 + k * 10 + width);
        float[] a = RandomFloats(rng, rows * k);
        float[] b = RandomFloats(rng, k * width);
        float[] c = RandomFloats(rng, rows * width);
        float[] expected = (float[])c.Clone();
        PanelGemm.Reference(a, k, b, width, expected, width, rows, k, width);
        unsafe
        {
            fixed (float* pa = a)
            fixed (float* pb = b)
            fixed (float* pc = c)
            {
                PanelGemm.Run(pa, k, pb, width, pc, width, rows, k, width);
            }
        }
        // Every path sums each element with fused multiply-adds in k order, so results are identical.
        Assert.Equal(expected, c);
    }

    [Theory]
    [InlineData(GgmlType.F32, 172, 64, 5, 1)]
    [InlineData(GgmlType.F32, 300, 70, 9, 2)]
    [InlineData(GgmlType.F16, 96, 130, 4, 2)]
    [InlineData(GgmlType.BF16, 64, 12, 3, 2)]
    [InlineData(GgmlType.Q8_0, 544, 33, 6, 2)]
    [InlineData(GgmlType.Q4_0, 96, 65, 7, 3)]
    [InlineData(GgmlType.Q4_K, 512, 20, 2, 2)]
    [InlineData(GgmlType.Q6_K, 256, 9, 13, 2)]
    public void InputGradient_matches_the_scalar_reference(GgmlType type, int cols, int rows, int n, int threads)
    {
        var rng = new Random(cols * 7 + rows);
        float[] wf = RandomFloats(rng, rows * cols);
        long rowBytes = GgmlTypes.RowBytes(type, cols);
        using var buf = new NativeBuffer(rowBytes * rows);
        for (int r = 0; r < rows; r++)
        {
            if (type == GgmlType.F32)
            {
                System.Runtime.InteropServices.MemoryMarshal.AsBytes(wf.AsSpan(r * cols, cols)).CopyTo(buf.Span(r * rowBytes, (int)rowBytes));
            }
            else
            {
                Quantize.Row(type, wf.AsSpan(r * cols, cols), buf.Span(r * rowBytes, (int)rowBytes));
            }
        }
        WeightMatrix w = buf.Matrix(type, 0, rows, cols);
        float[] dy = RandomFloats(rng, n * rows);
        float[] start = RandomFloats(rng, n * cols);
        using var pool = new ComputePool(threads);
        foreach (bool accumulate in (bool[])[false, true])
        {
            float[] expected = (float[])start.Clone();
            InputGradient.Reference(w, dy, expected, n, accumulate);
            float[] got = (float[])start.Clone();
            InputGradient.Run(pool, w, dy, got, n, accumulate);
            for (int i = 0; i < expected.Length; i++)
            {
                // Same products, summed in 64-row chunks: equal up to float rounding.
                Assert.Equal(expected[i], got[i], 1e-4f * (1 + Math.Abs(expected[i])) * MathF.Sqrt(rows));
            }
        }
    }

    [Theory]
    [InlineData(GgmlType.F32, 172, 64, 5, 1)]
    [InlineData(GgmlType.F32, 300, 270, 9, 2)]
    [InlineData(GgmlType.F16, 96, 530, 4, 2)]
    [InlineData(GgmlType.BF16, 64, 12, 3, 2)]
    [InlineData(GgmlType.Q8_0, 544, 33, 6, 2)]
    [InlineData(GgmlType.Q4_0, 96, 65, 7, 3)]
    [InlineData(GgmlType.Q4_K, 512, 20, 2, 2)]
    [InlineData(GgmlType.Q6_K, 768, 9, 13, 2)]
    public void PanelMatMul_matches_the_scalar_reference(GgmlType type, int cols, int rows, int n, int threads)
    {
        var rng = new Random(cols * 3 + rows);
        using NativeBuffer buf = Matrix(rng, type, rows, cols, out WeightMatrix w);
        float[] x = RandomFloats(rng, n * cols);
        var expected = new float[n * rows];
        PanelMatMul.Reference(w, x, expected, n);
        float[] got = RandomFloats(rng, n * rows); // overwritten
        using var pool = new ComputePool(threads);
        PanelMatMul.Run(pool, w, x, got, n);
        for (int i = 0; i < expected.Length; i++)
        {
            // The same products summed in 256-column chunks: equal up to float rounding.
            Assert.Equal(expected[i], got[i], 1e-4f * (1 + Math.Abs(expected[i])) * MathF.Sqrt(cols));
        }
        var one = new float[n * rows];
        using var single = new ComputePool(1);
        PanelMatMul.Run(single, w, x, one, n);
        Assert.Equal(one, got);
    }

    [Theory]
    [InlineData(GgmlType.Q4_0, 256, 300, 9)]
    [InlineData(GgmlType.Q8_0, 96, 40, 5)]
    [InlineData(GgmlType.Q4_K, 512, 24, 6)]
    [InlineData(GgmlType.Q6_K, 256, 17, 4)]
    [InlineData(GgmlType.Q5_K, 256, 8, 3)]
    [InlineData(GgmlType.F16, 64, 20, 5)]
    public void PanelMatMul_like_MatMul_gives_MatMuls_products(GgmlType type, int cols, int rows, int n)
    {
        var rng = new Random(cols + rows * 5);
        using NativeBuffer buf = Matrix(rng, type, rows, cols, out WeightMatrix w);
        float[] x = RandomFloats(rng, n * cols);
        var expected = new float[n * rows];
        var got = new float[n * rows];
        using var pool = new ComputePool(2);
        MatMul.Run(pool, w, x, expected, n);
        PanelMatMul.Run(pool, w, x, got, n, likeMatMul: true);
        for (int i = 0; i < expected.Length; i++)
        {
            // The same 8-bit activations: only float rounding of the sums differs.
            Assert.Equal(expected[i], got[i], 2e-5f * (1 + Math.Abs(expected[i])) * MathF.Sqrt(cols));
        }
    }

    [Theory]
    [InlineData(GgmlType.F32)]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.BF16)]
    [InlineData(GgmlType.Q4_0)]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q6_K)]
    [InlineData(GgmlType.Q5_K)]
    public void RowDequantizer_is_bit_identical_to_the_scalar_dequantizer(GgmlType type)
    {
        var rng = new Random((int)type);
        const int cols = 512;
        using NativeBuffer buf = Matrix(rng, type, 3, cols, out WeightMatrix w);
        for (int r = 0; r < 3; r++)
        {
            var expected = new float[cols];
            var got = new float[cols];
            Dequantize.Row(type, w.Row(r), expected);
            RowDequantizer.Run(type, w.Row(r), got);
            Assert.Equal(expected, got);
        }
    }

    private static NativeBuffer Matrix(Random rng, GgmlType type, int rows, int cols, out WeightMatrix w)
    {
        float[] wf = RandomFloats(rng, rows * cols);
        long rowBytes = GgmlTypes.RowBytes(type, cols);
        var buf = new NativeBuffer(rowBytes * rows);
        for (int r = 0; r < rows; r++)
        {
            if (type == GgmlType.F32)
            {
                System.Runtime.InteropServices.MemoryMarshal.AsBytes(wf.AsSpan(r * cols, cols)).CopyTo(buf.Span(r * rowBytes, (int)rowBytes));
            }
            else
            {
                Quantize.Row(type, wf.AsSpan(r * cols, cols), buf.Span(r * rowBytes, (int)rowBytes));
            }
        }
        w = buf.Matrix(type, 0, rows, cols);
        return buf;
    }

    [Fact]
    public void InputGradient_does_not_depend_on_the_thread_count()
    {
        var rng = new Random(5);
        const int rows = 200, cols = 512, n = 11;
        long rowBytes = GgmlTypes.RowBytes(GgmlType.Q4_0, cols);
        using var buf = new NativeBuffer(rowBytes * rows);
        float[] wf = RandomFloats(rng, rows * cols);
        for (int r = 0; r < rows; r++)
        {
            Quantize.Row(GgmlType.Q4_0, wf.AsSpan(r * cols, cols), buf.Span(r * rowBytes, (int)rowBytes));
        }
        WeightMatrix w = buf.Matrix(GgmlType.Q4_0, 0, rows, cols);
        float[] dy = RandomFloats(rng, n * rows);
        var one = new float[n * cols];
        var three = new float[n * cols];
        using (var p1 = new ComputePool(1))
        {
            InputGradient.Run(p1, w, dy, one, n);
        }
        using (var p3 = new ComputePool(3))
        {
            InputGradient.Run(p3, w, dy, three, n);
        }
        Assert.Equal(one, three);
    }
}
