using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

using Cria.Numerics.Kernels.Tiled;
using Cria.Numerics.Memory;
using Cria.Numerics.Quants;
using Cria.Numerics.Threading;

namespace Cria.Numerics.Kernels;

/// <summary>One kernel checked against its scalar reference.</summary>
public sealed record KernelCheck(string Kernel, string Path, double MaxRelativeError, bool Passed);

/// <summary>
/// Runs every matmul path this CPU selects (row and tiled layouts, each weight type), and attention
/// over each KV cache type, against a float64 reference on the dequantized values, on seeded random
/// data with ragged shapes. Used by
/// `cria selftest` and by the tests, which run it with wider instruction sets switched off
/// (DOTNET_EnableAVX512=0, DOTNET_EnableAVX2=0, …) so every path the JIT can pick is covered.
/// </summary>
public static class KernelSelfTest
{
    /// <summary>The instruction sets the runtime reports, as the kernels see them.</summary>
    public static string InstructionSets =>
        $"AVX2={Avx2.IsSupported} FMA={Fma.IsSupported} AVX-VNNI={AvxVnni.IsSupported} AVX-512BW={Avx512BW.IsSupported} Vector128={Vector128.IsHardwareAccelerated} Vector256={Vector256.IsHardwareAccelerated} Vector512={Vector512.IsHardwareAccelerated}";

    public static IReadOnlyList<KernelCheck> Run()
    {
        var results = new List<KernelCheck?>();
        using var pool = new ComputePool(2);
        GgmlType[] types = [GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.Q2_K, GgmlType.Q3_K];
        foreach (GgmlType type in types)
        {
            int block = GgmlTypes.BlockSize(type);
            int cols = block == 1 ? 77 : block * 3;
            foreach (int n in new[] { 1, 3, 6 })
            {
                results.Add(Check(pool, type, cols, rows: 24, n, tiled: false));
                results.Add(Check(pool, type, cols, rows: 24, n, tiled: true));
            }
            if (block == 1)
            {
                // Float tiles: three tiles, the last one padded, two work units, and a full
                // token panel plus a ragged one on every ISA (12 + 4 + 1, or 6 + 6 + 4 + 1).
                results.Add(Check(pool, type, cols, rows: 70, n: 17, tiled: true));
            }
        }
        // Attention over each cache type: grouped heads in pairs and alone, head sizes that take the
        // 512-bit, 256-bit and portable paths (Q8_0 only whole blocks of 32), a paged row table.
        foreach ((int heads, int kvHeads, int headDim) in new[] { (8, 2, 64), (3, 1, 32), (4, 2, 24), (2, 1, 36) })
        {
            foreach (AttentionCache cache in Enum.GetValues<AttentionCache>())
            {
                if (cache != AttentionCache.Q8_0 || headDim % 32 == 0)
                {
                    results.Add(CheckAttention(pool, cache, heads, kvHeads, headDim, n: 3, start: 37));
                }
            }
        }
        return results.OfType<KernelCheck>().ToList();
    }

    private enum AttentionCache
    {
        F32,
        F16,
        Q8_0,
    }

    /// <summary>Attention against a float64 reference over the values the cache holds (head-major, rows scattered).</summary>
    private static KernelCheck CheckAttention(ComputePool pool, AttentionCache cache, int heads, int kvHeads, int headDim, int n, int start)
    {
        var rng = new Random(heads * 100 + headDim);
        int qDim = heads * headDim, length = start + n, capacity = length + 11;
        int[] rows = [.. Enumerable.Range(0, capacity).OrderBy(_ => rng.Next()).Take(length)];
        float[] q = [.. Enumerable.Range(0, n * qDim).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
        float[] k = [.. Enumerable.Range(0, kvHeads * capacity * headDim).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
        float[] v = [.. Enumerable.Range(0, kvHeads * capacity * headDim).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
        var o = new float[n * qDim];
        switch (cache)
        {
            case AttentionCache.F32:
                Attention.Run(pool, q, k, v, o, n, start, heads, kvHeads, headDim, rows);
                break;
            case AttentionCache.F16:
                Half[] k16 = [.. k.Select(x => (Half)x)], v16 = [.. v.Select(x => (Half)x)];
                k = [.. k16.Select(x => (float)x)];
                v = [.. v16.Select(x => (float)x)];
                Attention.Run(pool, q, k16, v16, o, n, start, heads, kvHeads, headDim, rows);
                break;
            default:
                int rowBytes = (int)Attention.Q8_0RowBytes(headDim);
                var k8 = new byte[kvHeads * capacity * rowBytes];
                var v8 = new byte[k8.Length];
                for (int r = 0; r < kvHeads * capacity; r++)
                {
                    Attention.QuantizeRowQ8_0(k.AsSpan(r * headDim, headDim), k8.AsSpan(r * rowBytes, rowBytes));
                    Attention.QuantizeRowQ8_0(v.AsSpan(r * headDim, headDim), v8.AsSpan(r * rowBytes, rowBytes));
                }
                BlockQ8_0.Dequantize(k8, k);
                BlockQ8_0.Dequantize(v8, v);
                Attention.RunQ8_0(pool, q, k8, v8, o, n, start, heads, kvHeads, headDim, rows);
                break;
        }
        double worst = 0;
        var s = new double[length];
        for (int t = 0; t < n; t++)
        {
            for (int h = 0; h < heads; h++)
            {
                long head = (long)(h / (heads / kvHeads)) * capacity;
                int visible = start + t + 1;
                for (int p = 0; p < visible; p++)
                {
                    double dot = 0;
                    for (int d = 0; d < headDim; d++)
                    {
                        dot += (double)q[t * qDim + h * headDim + d] * k[(head + rows[p]) * headDim + d];
                    }
                    s[p] = dot / Math.Sqrt(headDim);
                }
                double max = s.AsSpan(0, visible).ToArray().Max(), sum = 0;
                for (int p = 0; p < visible; p++)
                {
                    sum += Math.Exp(s[p] - max);
                }
                for (int d = 0; d < headDim; d++)
                {
                    double e = 0;
                    for (int p = 0; p < visible; p++)
                    {
                        e += Math.Exp(s[p] - max) / sum * v[(head + rows[p]) * headDim + d];
                    }
                    worst = Math.Max(worst, Math.Abs(e - o[t * qDim + h * headDim + d]));
                }
            }
        }
        // Outputs are averages of values in [−1, 1]: float rounding is ~1e-7; 1e-5 catches any wrong term.
        return new KernelCheck($"attention {cache.ToString().ToLowerInvariant()}", $"heads {heads}/{kvHeads}, head {headDim}, n={n}", worst, worst <= 1e-5);
    }

    private static KernelCheck? Check(ComputePool pool, GgmlType type, int cols, int rows, int n, bool tiled)
    {
        var rng = new Random(cols * 7 + rows + n);
        long rowBytes = GgmlTypes.RowBytes(type, cols);
        using var buf = new NativeBuffer(rowBytes * rows);
        var wf = new float[cols];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                wf[c] = (float)(rng.NextDouble() * 2 - 1) * 0.1f;
            }
            Quantize.Row(type, wf, buf.Span(r * rowBytes, (int)rowBytes));
        }
        WeightMatrix w = buf.Matrix(type, 0, rows, cols);
        var deq = new float[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            Dequantize.Row(type, w.Row(r), deq.AsSpan(r * cols, cols));
        }
        var x = new float[n * cols];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)(rng.NextDouble() * 2 - 1);
        }
        WeightMatrix rowLayout = w;
        NativeBuffer? owner = null;
        string path = "rows";
        if (tiled)
        {
            if (!Repacker.CanRepack(w))
            {
                return null;
            }
            (w, owner) = Repacker.Repack(w);
            // Float tiles name the kernel that ran: `selftest` with AVX2 off must show Vector128.
            path = w.Layout == WeightLayout.Tiled32 ? $"tiled {TiledFloat.Preferred}" : "tiled";
        }
        using (owner)
        {
            var y = new float[n * rows];
            MatMul.Run(pool, w, x, y, n);
            double worst = 0;
            for (int t = 0; t < n; t++)
            {
                for (int r = 0; r < rows; r++)
                {
                    double e = 0, scale = 0;
                    for (int c = 0; c < cols; c++)
                    {
                        e += (double)deq[r * cols + c] * x[t * cols + c];
                        scale += Math.Abs((double)deq[r * cols + c] * x[t * cols + c]);
                    }
                    worst = Math.Max(worst, Math.Abs(e - y[t * rows + r]) / Math.Max(scale, 1e-9));
                }
            }
            // Quantized activations (8-bit) cost up to ~1% of Σ|w·x|; float paths are exact to rounding.
            double tolerance = type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 ? 1e-5 : 0.02;
            bool exact = w.Layout != WeightLayout.Tiled32 || SameBitsAsChainAndAlone(pool, w, rowLayout, x, y, n);
            return new KernelCheck(GgmlTypes.Name(type), $"{path}, n={n}{(w.Layout == WeightLayout.Tiled32 ? ", bitwise" : "")}", worst, worst <= tolerance && exact);
        }
    }

    /// <summary>
    /// The float tiles' invariant: <paramref name="y"/> equals the scalar fma chain bit for bit
    /// (so every ISA's path gives the same bits), and each token alone gives its row of y.
    /// </summary>
    private static bool SameBitsAsChainAndAlone(ComputePool pool, WeightMatrix tiled, WeightMatrix rowLayout, float[] x, float[] y, int n)
    {
        int rows = tiled.Rows, cols = tiled.Cols;
        var chain = new float[y.Length];
        TiledFloat.Reference(rowLayout, x, chain, n);
        var alone = new float[rows];
        bool same = Bits(y).SequenceEqual(Bits(chain));
        for (int t = 0; t < n; t++)
        {
            MatMul.Run(pool, tiled, x.AsSpan(t * cols, cols), alone, 1);
            same &= Bits(alone).SequenceEqual(Bits(y.AsSpan(t * rows, rows)));
        }
        return same;
    }

    private static ReadOnlySpan<int> Bits(ReadOnlySpan<float> v) => MemoryMarshal.Cast<float, int>(v);
}
