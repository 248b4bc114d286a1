using System.Diagnostics;
using System.Globalization;

using Cria.Core.Models;
using Cria.Numerics.Kernels;
using Cria.Numerics.Threading;

namespace Cria.Bench;

/// <summary>
/// attention [--heads 32] [--kv-heads 4] [--head-dim 64] [--length 2048] [--n 1] [--layers 22] [--kv f16] [--threads 2] [--reps 30]:
/// the attention kernel alone, as a decode step (n = 1) or a prompt chunk (n tokens ending at --length)
/// runs it — one call per layer, each layer with its own cache, so the cache streams from memory as it
/// does in a real step (the defaults are TinyLlama's shape). Reports the median sweep as µs per layer,
/// ms per token over all layers, and GB/s of cache read.
/// </summary>
internal static class AttentionMode
{
    public static int Run(Options o)
    {
        int heads = o.Int("heads", 32), kvHeads = o.Int("kv-heads", 4), headDim = o.Int("head-dim", 64);
        int length = o.Int("length", 2048), n = Math.Max(1, o.Int("n", 1)), layers = Math.Max(1, o.Int("layers", 22));
        int threads = o.Int("threads", 2), reps = Math.Max(3, o.Int("reps", 30));
        KvCacheType kv = KvOption.Parse(o, KvCacheType.F16);
        o.ThrowIfUnused();
        int kvDim = kvHeads * headDim, qDim = heads * headDim, start = length - n;
        var rng = new Random(1);
        float[] q = [.. Enumerable.Range(0, n * qDim).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
        var output = new float[n * qDim];
        var row = new float[kvDim];
        long rowBytes = kv switch { KvCacheType.F32 => 4L * kvDim, KvCacheType.F16 => 2L * kvDim, _ => Attention.Q8_0RowBytes(kvDim) };
        var caches = new (Array K, Array V)[layers];
        for (int l = 0; l < layers; l++)
        {
            caches[l] = (Cache(kv, length, kvDim, rng, row), Cache(kv, length, kvDim, rng, row));
        }
        using var pool = new ComputePool(threads);
        void Sweep()
        {
            foreach ((Array k, Array v) in caches)
            {
                switch (kv)
                {
                    case KvCacheType.F32:
                        Attention.Run(pool, q, (float[])k, (float[])v, output, n, start, heads, kvHeads, headDim);
                        break;
                    case KvCacheType.F16:
                        Attention.Run(pool, q, (Half[])k, (Half[])v, output, n, start, heads, kvHeads, headDim);
                        break;
                    default:
                        Attention.RunQ8_0(pool, q, (byte[])k, (byte[])v, output, n, start, heads, kvHeads, headDim);
                        break;
                }
            }
        }
        // Warm up for a second: the JIT promotes hot methods only after they have run for a while.
        for (long t0 = Stopwatch.GetTimestamp(); Stopwatch.GetElapsedTime(t0).TotalSeconds < 1;)
        {
            Sweep();
        }
        var times = new List<double>();
        for (int i = 0; i < reps; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            Sweep();
            times.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
        }
        times.Sort();
        double sweep = times[times.Count / 2];
        double bytes = 2.0 * length * rowBytes * layers;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"attention {KvOption.Name(kv)}: heads {heads}/{kvHeads}, head {headDim}, length {length}, n {n}, {layers} layers, {threads} threads: " +
            $"{sweep / layers * 1e6:F1} µs per layer, {sweep * 1e3:F2} ms per step (min {times[0] * 1e3:F2}), cache {bytes / sweep / 1e9:F1} GB/s"));
        return 0;
    }

    private static Array Cache(KvCacheType kv, int length, int kvDim, Random rng, float[] row)
    {
        float[] f = new float[(long)length * kvDim];
        for (int i = 0; i < f.Length; i++)
        {
            f[i] = (float)(rng.NextDouble() * 2 - 1);
        }
        switch (kv)
        {
            case KvCacheType.F32:
                return f;
            case KvCacheType.F16:
                return f.Select(x => (Half)x).ToArray();
            default:
                long rowBytes = Attention.Q8_0RowBytes(kvDim);
                var bytes = new byte[length * rowBytes];
                for (int p = 0; p < length; p++)
                {
                    f.AsSpan(p * kvDim, kvDim).CopyTo(row);
                    Attention.QuantizeRowQ8_0(row, bytes.AsSpan((int)(p * rowBytes), (int)rowBytes));
                }
                return bytes;
        }
    }
}
