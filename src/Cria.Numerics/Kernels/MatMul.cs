using System.Numerics.Tensors;
using Cria.Numerics.Memory;
using Cria.Numerics.Quants;
using Cria.Numerics.Threading;

namespace Cria.Numerics.Kernels;

/// <summary>
/// y = x · Wᵀ for a batch: x is [n, cols] row-major, W is [rows, cols] (GGUF layout: one row per
/// output), y is [n, rows]. Each weight row is read once for the whole batch. Rows are split over
/// the compute pool. This is the generic path: quantized rows are dequantized into a per-worker
/// scratch row and dotted in float32 (fast per-format kernels come with the speed work).
/// </summary>
public static unsafe class MatMul
{
    public static void Run(ComputePool pool, WeightMatrix w, ReadOnlySpan<float> x, Span<float> y, int n)
    {
        ArgumentNullException.ThrowIfNull(pool);
        if (n < 0 || x.Length < (long)n * w.Cols || y.Length < (long)n * w.Rows)
        {
            throw new ArgumentException($"MatMul: x needs [{n}, {w.Cols}] and y [{n}, {w.Rows}]; got {x.Length} and {y.Length} floats");
        }
        if (!Dequantize.IsSupported(w.Type))
        {
            throw new NotSupportedException($"tensor type {GgmlTypes.Name(w.Type)} is not supported");
        }
        fixed (float* px = x)
        fixed (float* py = y)
        {
            MatMulJob job = MatMulJob.Rent(pool.ThreadCount, w.Cols);
            job.W = w;
            job.X = px;
            job.Y = py;
            job.N = n;
            pool.For(job, w.Rows, minChunk: 16);
            job.X = job.Y = null;
        }
    }

    private sealed class MatMulJob : ParallelJob
    {
        [ThreadStatic]
        private static MatMulJob? t_cached;

        public WeightMatrix W;
        public float* X;
        public float* Y;
        public int N;
        private float[][] _scratch = [];

        public static MatMulJob Rent(int threads, int cols)
        {
            MatMulJob job = t_cached ??= new MatMulJob();
            if (job._scratch.Length < threads || job._scratch[0].Length < cols)
            {
                job._scratch = new float[threads][];
                for (int i = 0; i < threads; i++)
                {
                    job._scratch[i] = new float[cols];
                }
            }
            return job;
        }

        public override void Execute(int start, int end, int worker)
        {
            int cols = W.Cols;
            int rows = W.Rows;
            Span<float> row = _scratch[worker].AsSpan(0, cols);
            for (int r = start; r < end; r++)
            {
                ReadOnlySpan<byte> src = W.Row(r);
                ReadOnlySpan<float> wr;
                if (W.Type == GgmlType.F32)
                {
                    wr = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(src);
                }
                else
                {
                    Dequantize.Row(W.Type, src, row);
                    wr = row;
                }
                for (int t = 0; t < N; t++)
                {
                    Y[(long)t * rows + r] = TensorPrimitives.Dot(wr, new ReadOnlySpan<float>(X + (long)t * cols, cols));
                }
            }
        }
    }
}
