using Cria.Numerics.Kernels;
using Cria.Numerics.Memory;
using Cria.Numerics.Quants;
using Cria.Numerics.Threading;

namespace Cria.Numerics.Tests.Kernels;

/// <summary>Each kernel against a plain scalar reference written out in the test.</summary>
public sealed class KernelTests
{
    private static float[] RandomFloats(Random rng, int n, float scale = 1f)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        }
        return v;
    }

    public static TheoryData<GgmlType, int, int, int, int> MatMulCases() => new()
    {
        { GgmlType.F32, 1, 1, 1, 1 },
        { GgmlType.F32, 37, 13, 5, 1 },
        { GgmlType.F32, 64, 130, 3, 2 },
        { GgmlType.F16, 32, 70, 4, 2 },
        { GgmlType.F16, 77, 9, 7, 2 },
        { GgmlType.F32, 45, 11, 9, 2 },
        { GgmlType.BF16, 64, 12, 6, 2 },
        { GgmlType.Q8_0, 64, 33, 2, 2 },
        { GgmlType.Q4_0, 96, 17, 3, 3 },
        { GgmlType.Q4_K, 256, 40, 2, 2 },
        { GgmlType.Q6_K, 512, 9, 1, 2 },
    };

    [Theory]
    [MemberData(nameof(MatMulCases))]
    public void MatMul_matches_the_scalar_reference(GgmlType type, int cols, int rows, int n, int threads)
    {
        var rng = new Random(cols * 31 + rows);
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
        // The reference uses the dequantized weights, so only the matmul itself is under test.
        var deq = new float[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            Dequantize.Row(type, w.Row(r), deq.AsSpan(r * cols, cols));
        }
        float[] x = RandomFloats(rng, n * cols);
        var y = new float[n * rows];
        using var pool = new ComputePool(threads);
        MatMul.Run(pool, w, x, y, n);
        for (int t = 0; t < n; t++)
        {
            for (int r = 0; r < rows; r++)
            {
                double expect = 0;
                for (int c = 0; c < cols; c++)
                {
                    expect += (double)deq[r * cols + c] * x[t * cols + c];
                }
                // Quantized formats meet 8-bit quantized activations (as in ggml), which adds
                // about 0.5% error per element; float formats are exact up to rounding.
                double tol = type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 ? 1e-3 * (1 + Math.Abs(expect)) : 0.01 * Math.Sqrt(cols);
                Assert.Equal(expect, y[t * rows + r], tol);
            }
        }
    }

    [Theory]
    [InlineData(GgmlType.Q4_0, 32, 8, 1)]
    [InlineData(GgmlType.Q4_0, 96, 24, 2)]
    [InlineData(GgmlType.Q4_0, 256, 64, 3)]
    [InlineData(GgmlType.Q4_0, 64, 16, 5)]
    [InlineData(GgmlType.Q8_0, 32, 8, 1)]
    [InlineData(GgmlType.Q8_0, 160, 40, 4)]
    [InlineData(GgmlType.Q4_K, 256, 8, 1)]
    [InlineData(GgmlType.Q4_K, 768, 24, 3)]
    [InlineData(GgmlType.Q6_K, 256, 8, 1)]
    [InlineData(GgmlType.Q6_K, 512, 16, 2)]
    [InlineData(GgmlType.Q6_K, 768, 8, 5)]
    public void Tiled_layout_gives_the_same_products_as_the_row_layout(GgmlType type, int cols, int rows, int n)
    {
        var rng = new Random(cols + rows + n);
        long rowBytes = GgmlTypes.RowBytes(type, cols);
        using var buf = new NativeBuffer(rowBytes * rows);
        for (int r = 0; r < rows; r++)
        {
            Quantize.Row(type, RandomFloats(rng, cols, 0.05f), buf.Span(r * rowBytes, (int)rowBytes));
        }
        WeightMatrix w = buf.Matrix(type, 0, rows, cols);
        (WeightMatrix tiled, NativeBuffer? owner) = Cria.Numerics.Kernels.Tiled.Repacker.Repack(w);
        using (owner)
        {
            Assert.Equal(Cria.Numerics.Kernels.Tiled.Repacker.CanRepack(w), tiled.Layout == WeightLayout.Tiled8);
            float[] x = RandomFloats(rng, n * cols);
            var yRows = new float[n * rows];
            var yTiles = new float[n * rows];
            using var pool = new ComputePool(2);
            MatMul.Run(pool, w, x, yRows, n);
            MatMul.Run(pool, tiled, x, yTiles, n);
            for (int i = 0; i < yRows.Length; i++)
            {
                Assert.Equal(yRows[i], yTiles[i], 1e-4 * (1 + Math.Abs(yRows[i])));
            }
        }
    }

    [Theory]
    [InlineData(GgmlType.Q4_0, GgmlType.Q4_0, GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.Q4_K)]
    [InlineData(GgmlType.F32, GgmlType.Q4_0, GgmlType.F16)]
    public void Fused_matmul_over_one_input_equals_separate_matmuls(GgmlType t0, GgmlType t1, GgmlType t2)
    {
        const int cols = 256, n = 3;
        var rng = new Random(11);
        int[] rows = [32, 16, 24];
        GgmlType[] types = [t0, t1, t2];
        var buffers = new List<NativeBuffer>();
        var ws = new WeightMatrix[3];
        for (int m = 0; m < 3; m++)
        {
            long rb = GgmlTypes.RowBytes(types[m], cols);
            var buf = new NativeBuffer(rb * rows[m]);
            buffers.Add(buf);
            for (int r = 0; r < rows[m]; r++)
            {
                Quantize.Row(types[m], RandomFloats(rng, cols, 0.1f), buf.Span(r * rb, (int)rb));
            }
            ws[m] = buf.Matrix(types[m], 0, rows[m], cols);
            (WeightMatrix tiled, NativeBuffer? owner) = Cria.Numerics.Kernels.Tiled.Repacker.Repack(ws[m]);
            if (owner is not null)
            {
                buffers.Add(owner);
                ws[m] = tiled;
            }
        }
        float[] x = RandomFloats(rng, n * cols);
        using var pool = new ComputePool(2);
        var fused = rows.Select(r => new float[n * r]).ToArray();
        var single = rows.Select(r => new float[n * r]).ToArray();
        MatMul.Run(pool, x, n, ws[0], fused[0], ws[1], fused[1], ws[2], fused[2]);
        for (int m = 0; m < 3; m++)
        {
            MatMul.Run(pool, ws[m], x, single[m], n);
            Assert.Equal(single[m], fused[m]);
        }
        buffers.ForEach(b => b.Dispose());
    }

    [Theory]
    [InlineData(GgmlType.Q4_0, 128)]
    [InlineData(GgmlType.Q8_0, 96)]
    [InlineData(GgmlType.Q4_K, 512)]
    [InlineData(GgmlType.Q6_K, 256)]
    [InlineData(GgmlType.F16, 80)]
    [InlineData(GgmlType.BF16, 48)]
    [InlineData(GgmlType.F32, 70)]
    public void A_tokens_result_does_not_depend_on_the_batch_it_is_in(GgmlType type, int cols)
    {
        const int rows = 16, n = 7;
        var rng = new Random(cols);
        long rb = GgmlTypes.RowBytes(type, cols);
        using var buf = new NativeBuffer(rb * rows);
        for (int r = 0; r < rows; r++)
        {
            Quantize.Row(type, RandomFloats(rng, cols, 0.1f), buf.Span(r * rb, (int)rb));
        }
        (WeightMatrix w, NativeBuffer? owner) = Cria.Numerics.Kernels.Tiled.Repacker.Repack(buf.Matrix(type, 0, rows, cols));
        using (owner)
        {
            float[] x = RandomFloats(rng, n * cols);
            var batched = new float[n * rows];
            using var pool = new ComputePool(2);
            MatMul.Run(pool, w, x, batched, n);
            for (int t = 0; t < n; t++)
            {
                var single = new float[rows];
                MatMul.Run(pool, w, x.AsSpan(t * cols, cols), single, 1);
                Assert.Equal(single, batched.AsSpan(t * rows, rows).ToArray());
            }
        }
    }

    [Fact]
    public void RmsNorm_matches_formula()
    {
        var rng = new Random(3);
        float[] x = RandomFloats(rng, 67, 3f);
        float[] w = RandomFloats(rng, 67);
        var y = new float[67];
        RmsNorm.Run(x, w, 1e-5f, y);
        double ms = x.Sum(v => (double)v * v) / x.Length;
        for (int i = 0; i < x.Length; i++)
        {
            Assert.Equal(w[i] * x[i] / Math.Sqrt(ms + 1e-5), y[i], 1e-5);
        }
    }

    [Fact]
    public void Softmax_sums_to_one_and_survives_large_logits()
    {
        float[] x = [1000f, 999f, -1000f, 0f];
        Softmax.Run(x);
        Assert.Equal(1.0, x.Sum(), 1e-6);
        Assert.Equal(1 / (1 + Math.Exp(-1)), x[0], 1e-6);
        Assert.Equal(0f, x[2]);
    }

    [Theory]
    [InlineData(RopeStyle.Normal)]
    [InlineData(RopeStyle.NeoX)]
    public void Rope_rotates_the_right_pairs_and_keeps_norms(RopeStyle style)
    {
        const int heads = 3, headDim = 8, pos = 5;
        var rng = new Random(9);
        float[] x = RandomFloats(rng, heads * headDim);
        float[] orig = (float[])x.Clone();
        float[] invFreq = [1f, 0.1f, 0.01f, 0.001f];
        Rope.Run(x, heads, headDim, pos, invFreq, style);
        for (int h = 0; h < heads; h++)
        {
            for (int i = 0; i < 4; i++)
            {
                int a = style == RopeStyle.Normal ? 2 * i : i;
                int b = style == RopeStyle.Normal ? 2 * i + 1 : i + 4;
                double th = pos * invFreq[i];
                double v0 = orig[h * headDim + a], v1 = orig[h * headDim + b];
                Assert.Equal(v0 * Math.Cos(th) - v1 * Math.Sin(th), x[h * headDim + a], 1e-5);
                Assert.Equal(v0 * Math.Sin(th) + v1 * Math.Cos(th), x[h * headDim + b], 1e-5);
            }
        }
    }

    [Fact]
    public void SwiGlu_matches_formula()
    {
        float[] g = [-2f, 0f, 1f, 3f];
        float[] u = [1f, 2f, 3f, -1f];
        float[] expect = g.Select((v, i) => (float)(v / (1 + Math.Exp(-v)) * u[i])).ToArray();
        SwiGlu.Run(g, u);
        for (int i = 0; i < g.Length; i++)
        {
            Assert.Equal(expect[i], g[i], 1e-6);
        }
    }

    [Theory]
    [InlineData(1, 0, 4, 4, 8, 1)]
    [InlineData(3, 2, 4, 2, 8, 2)]
    [InlineData(5, 7, 6, 1, 16, 2)]
    public void Attention_matches_a_naive_causal_gqa_reference(int n, int start, int heads, int kvHeads, int headDim, int threads)
    {
        var rng = new Random(n * 100 + start);
        int qDim = heads * headDim, kvDim = kvHeads * headDim, len = start + n;
        float[] q = RandomFloats(rng, n * qDim);
        float[] k = RandomFloats(rng, len * kvDim);
        float[] v = RandomFloats(rng, len * kvDim);
        var o = new float[n * qDim];
        using var pool = new ComputePool(threads);
        Attention.Run(pool, q, k, v, o, n, start, heads, kvHeads, headDim);
        for (int t = 0; t < n; t++)
        {
            for (int h = 0; h < heads; h++)
            {
                int kvh = h / (heads / kvHeads);
                int visible = start + t + 1;
                var s = new double[visible];
                for (int p = 0; p < visible; p++)
                {
                    for (int d = 0; d < headDim; d++)
                    {
                        s[p] += (double)q[t * qDim + h * headDim + d] * k[(kvh * len + p) * headDim + d];
                    }
                    s[p] /= Math.Sqrt(headDim);
                }
                double max = s.Max();
                double sum = s.Sum(z => Math.Exp(z - max));
                for (int d = 0; d < headDim; d++)
                {
                    double e = 0;
                    for (int p = 0; p < visible; p++)
                    {
                        e += Math.Exp(s[p] - max) / sum * v[(kvh * len + p) * headDim + d];
                    }
                    Assert.Equal(e, o[t * qDim + h * headDim + d], 1e-5);
                }
            }
        }
    }

    [Theory]
    [InlineData(1, 0, 4, 4, 8)]
    [InlineData(3, 5, 8, 2, 64)]
    [InlineData(2, 40, 4, 1, 36)]
    [InlineData(3, 70, 8, 2, 96)]
    [InlineData(1, 300, 4, 4, 128)]
    [InlineData(2, 200, 16, 2, 64)]
    [InlineData(1, 50, 6, 2, 64)]
    public void Attention_over_an_fp16_cache_equals_attention_over_the_same_values_in_f32(int n, int start, int heads, int kvHeads, int headDim)
    {
        var rng = new Random(n + start + headDim);
        int qDim = heads * headDim, kvDim = kvHeads * headDim, len = start + n;
        float[] q = RandomFloats(rng, n * qDim);
        Half[] k16 = RandomFloats(rng, len * kvDim).Select(v => (Half)v).ToArray();
        Half[] v16 = RandomFloats(rng, len * kvDim).Select(v => (Half)v).ToArray();
        float[] k32 = k16.Select(h => (float)h).ToArray();
        float[] v32 = v16.Select(h => (float)h).ToArray();
        var o16 = new float[n * qDim];
        var o32 = new float[n * qDim];
        using var pool = new ComputePool(2);
        Attention.Run(pool, q, k16, v16, o16, n, start, heads, kvHeads, headDim);
        Attention.Run(pool, q, k32, v32, o32, n, start, heads, kvHeads, headDim);
        // The fp16 rows are widened to exactly these floats, then folded by the same code: the same bits.
        for (int i = 0; i < o32.Length; i++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(o32[i]) == BitConverter.SingleToInt32Bits(o16[i]), $"output {i}: {o32[i]:R} over f32, {o16[i]:R} over fp16");
        }
    }

    [Theory]
    [InlineData(1, 40, 8, 2, 64)]
    [InlineData(3, 70, 4, 4, 64)]
    [InlineData(2, 33, 6, 2, 36)]
    [InlineData(1, 5, 4, 1, 8)]
    public void A_paged_cache_gives_exactly_the_attention_of_the_same_rows_in_order(int n, int start, int heads, int kvHeads, int headDim)
    {
        var rng = new Random(n * 31 + start);
        int qDim = heads * headDim, kvDim = kvHeads * headDim, len = start + n;
        int physical = len + 17;
        // Position p lives at a shuffled physical row (as blocks from a shared pool would).
        int[] rows = [.. Enumerable.Range(0, physical).OrderBy(_ => rng.Next()).Take(len)];
        float[] q = RandomFloats(rng, n * qDim);
        Half[] paged16 = RandomFloats(rng, physical * kvDim).Select(v => (Half)v).ToArray();
        Half[] pagedV16 = RandomFloats(rng, physical * kvDim).Select(v => (Half)v).ToArray();
        var inOrder16 = new Half[len * kvDim];
        var inOrderV16 = new Half[len * kvDim];
        // Head-major caches: [kvHeads, rows, headDim].
        for (int h = 0; h < kvHeads; h++)
        {
            for (int p = 0; p < len; p++)
            {
                paged16.AsSpan((h * physical + rows[p]) * headDim, headDim).CopyTo(inOrder16.AsSpan((h * len + p) * headDim));
                pagedV16.AsSpan((h * physical + rows[p]) * headDim, headDim).CopyTo(inOrderV16.AsSpan((h * len + p) * headDim));
            }
        }
        using var pool = new ComputePool(2);
        var expected = new float[n * qDim];
        var got = new float[n * qDim];
        Attention.Run(pool, q, inOrder16, inOrderV16, expected, n, start, heads, kvHeads, headDim);
        Attention.Run(pool, q, paged16, pagedV16, got, n, start, heads, kvHeads, headDim, rows);
        Assert.Equal(expected, got);

        float[] paged32 = [.. paged16.Select(h => (float)h)];
        float[] pagedV32 = [.. pagedV16.Select(h => (float)h)];
        float[] inOrder32 = [.. inOrder16.Select(h => (float)h)];
        float[] inOrderV32 = [.. inOrderV16.Select(h => (float)h)];
        Attention.Run(pool, q, inOrder32, inOrderV32, expected, n, start, heads, kvHeads, headDim);
        Attention.Run(pool, q, paged32, pagedV32, got, n, start, heads, kvHeads, headDim, rows);
        Assert.Equal(expected, got);

        int[] bad = [.. rows];
        bad[0] = physical + 5;
        Assert.Throws<ArgumentException>(() => Attention.Run(pool, q, paged16, pagedV16, got, n, start, heads, kvHeads, headDim, bad));
        Assert.Throws<ArgumentException>(() => Attention.Run(pool, q, paged16, pagedV16, got, n, start, heads, kvHeads, headDim, rows[..(len - 1)]));
    }

    private sealed class SumJob : ParallelJob
    {
        public long[] Hits = [];

        public override void Execute(int start, int end, int worker)
        {
            for (int i = start; i < end; i++)
            {
                Interlocked.Increment(ref Hits[i]);
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void ComputePool_runs_every_item_exactly_once(int threads)
    {
        using var pool = new ComputePool(threads);
        var job = new SumJob();
        for (int round = 0; round < 200; round++)
        {
            int count = 1 + round * 7 % 997;
            job.Hits = new long[count];
            pool.For(job, count);
            Assert.All(job.Hits, h => Assert.Equal(1, h));
        }
    }

    private sealed class FailingJob : ParallelJob
    {
        public override void Execute(int start, int end, int worker) => throw new InvalidOperationException("boom");
    }

    [Fact]
    public void ComputePool_reports_a_failing_job_and_stays_usable()
    {
        using var pool = new ComputePool(2);
        Assert.ThrowsAny<Exception>(() => pool.For(new FailingJob(), 1000));
        var job = new SumJob { Hits = new long[100] };
        pool.For(job, 100);
        Assert.All(job.Hits, h => Assert.Equal(1, h));
    }
}
