using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;

using Cria.Core.Inference;
using Cria.Core.Models;
using Cria.Numerics;
using Cria.Numerics.Kernels;
using Cria.Numerics.Memory;
using Cria.Numerics.Threading;

namespace Cria.Bench;

/// <summary>
/// kernels --model F [--threads 2] [--reps 30]: each kind of matrix × vector product of a decode step
/// (the seven block matrices and the output), as the engine runs it (repacked tiles, one matrix at a
/// time rather than fused), swept over every layer's copy so the weights stream from memory as in
/// decode rather than sitting in cache; the median sweep of --reps is reported in GB/s of weights
/// streamed and as a fraction of the machine's read bandwidth, measured first with the same threads.
/// </summary>
internal static class KernelsMode
{
    public static int Run(Options o)
    {
        string path = o.Required("model");
        int threads = o.Int("threads", 2);
        int reps = Math.Max(5, o.Int("reps", 30));
        o.ThrowIfUnused();
        using var pool = new ComputePool(threads);
        double bandwidth = ReadBandwidth(pool, reps);
        using LocalModel local = LocalModel.Load(path, pool);
        LayerWeights[] layers = local.Model.Weights.Layers;
        (string Name, WeightMatrix[] W)[] matrices =
        [
            ("attn_q", [.. layers.Select(l => l.Wq)]), ("attn_k", [.. layers.Select(l => l.Wk)]), ("attn_v", [.. layers.Select(l => l.Wv)]),
            ("attn_output", [.. layers.Select(l => l.Wo)]), ("ffn_gate", [.. layers.Select(l => l.Gate)]), ("ffn_up", [.. layers.Select(l => l.Up)]),
            ("ffn_down", [.. layers.Select(l => l.Down)]), ("output", [local.Model.Weights.Output]),
        ];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"model {Path.GetFileName(path)}, {threads} threads; read bandwidth {bandwidth:F1} GB/s (sum over 1 GiB)"));
        Console.WriteLine("| matrix | type | layout | rows × cols | copies | MiB each | µs per matvec (median) | GB/s | of bandwidth |");
        Console.WriteLine("|---|---|---|---|---:|---:|---:|---:|---:|");
        double totalBytes = 0, totalSeconds = 0;
        foreach ((string name, WeightMatrix[] ws) in matrices)
        {
            WeightMatrix w = ws[0];
            float[] x = [.. Enumerable.Range(0, w.Cols).Select(i => MathF.Sin(i) * 0.1f)];
            var y = new float[w.Rows];
            foreach (WeightMatrix m in ws)
            {
                MatMul.Run(pool, m, x, y, 1);
            }
            var times = new List<double>(reps);
            for (int i = 0; i < reps; i++)
            {
                long start = Stopwatch.GetTimestamp();
                foreach (WeightMatrix m in ws)
                {
                    MatMul.Run(pool, m, x, y, 1);
                }
                times.Add(Stopwatch.GetElapsedTime(start).TotalSeconds / ws.Length);
            }
            times.Sort();
            double seconds = times[times.Count / 2];
            double bytes = (double)w.RowBytes * w.Rows;
            totalBytes += bytes;
            totalSeconds += seconds;
            double gbps = bytes / seconds / 1e9;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {GgmlTypes.Name(w.Type)} | {w.Layout} | {w.Rows} × {w.Cols} | {ws.Length} | {bytes / (1 << 20):F1} | {seconds * 1e6:F0} | {gbps:F1} | {gbps / bandwidth:P0} |"));
        }
        double all = totalBytes / totalSeconds / 1e9;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT kernels model={Path.GetFileName(path)} gbps={all:F1} fraction_of_bandwidth={all / bandwidth:F2}"));
        return 0;
    }

    /// <summary>GB/s of summing a 1 GiB float buffer split over the pool's threads (a read-only stream, like a matvec's weights).</summary>
    private static double ReadBandwidth(ComputePool pool, int reps)
    {
        const int floats = 1 << 28;
        float[] data = GC.AllocateUninitializedArray<float>(floats);
        data.AsSpan().Fill(1f);
        var job = new SumJob(data, pool.ThreadCount * 8);
        var times = new List<double>();
        for (int i = 0; i < Math.Min(reps, 10); i++)
        {
            long start = Stopwatch.GetTimestamp();
            pool.For(job, job.Parts);
            times.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        times.Sort();
        return (double)floats * sizeof(float) / times[times.Count / 2] / 1e9;
    }

    private sealed class SumJob(float[] data, int parts) : ParallelJob
    {
        public int Parts { get; } = parts;

        public float Sink;

        public override void Execute(int start, int end, int worker)
        {
            int per = data.Length / Parts;
            float s = 0;
            for (int p = start; p < end; p++)
            {
                s += TensorPrimitives.Sum(data.AsSpan(p * per, per));
            }
            Sink += s;
        }
    }
}
