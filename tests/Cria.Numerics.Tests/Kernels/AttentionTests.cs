using Cria.Numerics.Kernels;
using Cria.Numerics.Quants;
using Cria.Numerics.Threading;

namespace Cria.Numerics.Tests.Kernels;

/// <summary>
/// Attention over f32, fp16 and Q8_0 caches against a float64 reference computed over the values
/// the cache holds (dequantized rows): contexts that end inside a 32-position block, several
/// blocks, grouped-query heads, head sizes that take each kernel path, and a paged row table.
/// </summary>
public sealed class AttentionTests
{
    private static float[] RandomFloats(Random rng, long n)
    {
        var v = new float[n];
        for (long i = 0; i < n; i++)
        {
            v[i] = (float)(rng.NextDouble() * 2 - 1);
        }
        return v;
    }

    /// <summary>Causal GQA attention in float64 over head-major caches [kvHeads, capacity, headDim]; position p reads cache row rows[p].</summary>
    private static double[] Reference(float[] q, float[] k, float[] v, int n, int start, int heads, int kvHeads, int headDim, int[] rows)
    {
        int qDim = heads * headDim;
        long capacity = k.Length / kvHeads / headDim;
        var o = new double[n * qDim];
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
                        s[p] += (double)q[t * qDim + h * headDim + d] * k[(kvh * capacity + rows[p]) * headDim + d];
                    }
                    s[p] /= Math.Sqrt(headDim);
                }
                double max = s.Max();
                double sum = s.Sum(z => Math.Exp(z - max));
                for (int p = 0; p < visible; p++)
                {
                    double w = Math.Exp(s[p] - max) / sum;
                    for (int d = 0; d < headDim; d++)
                    {
                        o[t * qDim + h * headDim + d] += w * v[(kvh * capacity + rows[p]) * headDim + d];
                    }
                }
            }
        }
        return o;
    }

    /// <summary>A row table that scatters positions over a cache with spare rows (as blocks from a shared pool would).</summary>
    private static int[] Scattered(Random rng, int length, int physical) => [.. Enumerable.Range(0, physical).OrderBy(_ => rng.Next()).Take(length)];

    /// <summary>A cache of rows of <paramref name="headDim"/> values (one kv head's row each) in Q8_0.</summary>
    private static byte[] QuantizeRows(float[] x, int headDim)
    {
        int rowBytes = (int)Attention.Q8_0RowBytes(headDim);
        var bytes = new byte[x.Length / headDim * rowBytes];
        for (int r = 0; r < x.Length / headDim; r++)
        {
            Attention.QuantizeRowQ8_0(x.AsSpan(r * headDim, headDim), bytes.AsSpan(r * rowBytes, rowBytes));
        }
        return bytes;
    }

    private static float[] DequantizeRows(byte[] bytes)
    {
        var x = new float[bytes.Length / 34 * 32];
        BlockQ8_0.Dequantize(bytes, x);
        return x;
    }

    public enum Cache
    {
        F32,
        F16,
        Q8_0,
    }

    /// <summary>(cache, n, start, heads, kvHeads, headDim): ragged ends, several blocks, GQA groups of 1–8, every kernel path.</summary>
    public static TheoryData<Cache, int, int, int, int, int> Cases()
    {
        var data = new TheoryData<Cache, int, int, int, int, int>();
        foreach (Cache c in Enum.GetValues<Cache>())
        {
            data.Add(c, 1, 0, 4, 4, 32);       // one position
            data.Add(c, 1, 100, 32, 4, 64);    // decode, TinyLlama's groups of 8, a block ends mid-way
            data.Add(c, 3, 29, 8, 2, 64);      // a prompt chunk that crosses a block boundary
            data.Add(c, 5, 63, 4, 4, 32);      // ends exactly on a block, no GQA
            data.Add(c, 2, 200, 6, 2, 128);    // groups of 3, a wide head
            data.Add(c, 7, 0, 4, 1, 96);       // one kv head for all; head size 96 (not a multiple of 64)
        }
        // fp16 and f32 take any head size: 8-wide vectors only (24, 40), the portable loop (36, 6).
        foreach (Cache c in (Cache[])[Cache.F32, Cache.F16])
        {
            data.Add(c, 2, 45, 4, 2, 24);
            data.Add(c, 1, 70, 6, 3, 40);
            data.Add(c, 3, 33, 4, 2, 36);
            data.Add(c, 2, 9, 2, 1, 6);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Attention_matches_a_float64_reference_over_the_cached_values(Cache cache, int n, int start, int heads, int kvHeads, int headDim)
    {
        var rng = new Random(n * 1000 + start * 10 + headDim);
        int qDim = heads * headDim, kvDim = kvHeads * headDim, length = start + n;
        int physical = length + 40;
        int[] rows = Scattered(rng, length, physical);
        float[] q = RandomFloats(rng, n * qDim);
        float[] k = RandomFloats(rng, (long)physical * kvDim);
        float[] v = RandomFloats(rng, (long)physical * kvDim);
        var got = new float[n * qDim];
        using var pool = new ComputePool(2);
        switch (cache)
        {
            case Cache.F32:
                Attention.Run(pool, q, k, v, got, n, start, heads, kvHeads, headDim, rows);
                break;
            case Cache.F16:
                Half[] k16 = [.. k.Select(x => (Half)x)], v16 = [.. v.Select(x => (Half)x)];
                Attention.Run(pool, q, k16, v16, got, n, start, heads, kvHeads, headDim, rows);
                k = [.. k16.Select(h => (float)h)];
                v = [.. v16.Select(h => (float)h)];
                break;
            default:
                byte[] k8 = QuantizeRows(k, headDim), v8 = QuantizeRows(v, headDim);
                Attention.RunQ8_0(pool, q, k8, v8, got, n, start, heads, kvHeads, headDim, rows);
                k = DequantizeRows(k8);
                v = DequantizeRows(v8);
                break;
        }
        double[] want = Reference(q, k, v, n, start, heads, kvHeads, headDim, rows);
        for (int i = 0; i < want.Length; i++)
        {
            Assert.Equal(want[i], got[i], 2e-6);
        }
    }

    [Theory]
    [InlineData(Cache.F32)]
    [InlineData(Cache.F16)]
    [InlineData(Cache.Q8_0)]
    public void A_token_gets_the_same_bits_in_a_batch_as_alone(Cache cache)
    {
        var rng = new Random(7);
        const int heads = 8, kvHeads = 2, headDim = 64, n = 9, start = 27;
        int qDim = heads * headDim, kvDim = kvHeads * headDim, length = start + n;
        int[] rows = Scattered(rng, length, length + 5);
        float[] q = RandomFloats(rng, n * qDim);
        float[] k = RandomFloats(rng, (long)(length + 5) * kvDim), v = RandomFloats(rng, (long)(length + 5) * kvDim);
        Half[] k16 = [.. k.Select(x => (Half)x)], v16 = [.. v.Select(x => (Half)x)];
        byte[] k8 = QuantizeRows(k, headDim), v8 = QuantizeRows(v, headDim);
        using var pool = new ComputePool(2);
        void Run(ReadOnlySpan<float> qs, Span<float> o, int count, int at)
        {
            switch (cache)
            {
                case Cache.F32:
                    Attention.Run(pool, qs, k, v, o, count, at, heads, kvHeads, headDim, rows);
                    break;
                case Cache.F16:
                    Attention.Run(pool, qs, k16, v16, o, count, at, heads, kvHeads, headDim, rows);
                    break;
                default:
                    Attention.RunQ8_0(pool, qs, k8, v8, o, count, at, heads, kvHeads, headDim, rows);
                    break;
            }
        }
        var batched = new float[n * qDim];
        Run(q, batched, n, start);
        var alone = new float[n * qDim];
        for (int t = 0; t < n; t++)
        {
            Run(q.AsSpan(t * qDim, qDim), alone.AsSpan(t * qDim, qDim), 1, start + t);
        }
        Assert.Equal(alone, batched);
    }

    [Fact]
    public void A_q8_0_cache_row_is_ggml_blocks_of_the_row()
    {
        var rng = new Random(3);
        float[] x = RandomFloats(rng, 96);
        x[40] = 0f;
        x.AsSpan(64, 32).Clear();   // an all-zero block: d = 0, q = 0
        var row = new byte[Attention.Q8_0RowBytes(96)];
        Attention.QuantizeRowQ8_0(x, row);
        Assert.Equal(3 * 34, row.Length);
        for (int b = 0; b < 3; b++)
        {
            float amax = x.AsSpan(b * 32, 32).ToArray().Max(MathF.Abs);
            float d = (float)BitConverter.ToHalf(row, b * 34);
            Assert.Equal((float)(Half)(amax / 127f), d);
            for (int j = 0; j < 32; j++)
            {
                int expected = amax == 0f ? 0 : (int)MathF.Round(x[b * 32 + j] * (127f / amax), MidpointRounding.ToEven);
                Assert.Equal(expected, (sbyte)row[b * 34 + 2 + j]);
            }
        }
    }

    [Fact]
    public void Bad_shapes_are_refused()
    {
        using var pool = new ComputePool(1);
        var q = new float[4 * 48];
        var o = new float[4 * 48];
        byte[] cache = new byte[10 * Attention.Q8_0RowBytes(64)];   // one kv head, 10 rows
        // Head size 48 is not whole Q8_0 blocks.
        Assert.Throws<ArgumentException>(() => Attention.RunQ8_0(pool, q, cache, cache, o, 1, 0, 4, 1, 48));
        var q64 = new float[2 * 4 * 64];
        var o64 = new float[2 * 4 * 64];
        // 11 positions need 11 rows; the cache has 10.
        Assert.Throws<ArgumentException>(() => Attention.RunQ8_0(pool, q64, cache, cache, o64, 2, 9, 4, 1, 64));
        Assert.Throws<ArgumentException>(() => Attention.RunQ8_0(pool, q64, cache, cache[..^1], o64, 1, 9, 4, 1, 64));
        Assert.Throws<ArgumentException>(() => Attention.RunQ8_0(pool, q64, cache[..^1], cache[..^1], o64, 1, 0, 4, 1, 64));
        // A row table pointing past the cache.
        Assert.Throws<ArgumentException>(() => Attention.RunQ8_0(pool, q64, cache, cache, o64, 1, 1, 4, 1, 64, [0, 10]));
        Assert.Throws<ArgumentException>(() => Attention.RunQ8_0(pool, q64, cache, cache, o64, 1, 0, 4, 0, 64));
        Assert.Throws<ArgumentException>(() => Attention.QuantizeRowQ8_0(new float[48], new byte[51]));
        Assert.Throws<ArgumentException>(() => Attention.QuantizeRowQ8_0(new float[64], new byte[67]));
    }
}
