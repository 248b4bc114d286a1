using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Cria.Numerics.Kernels.Dot;
using Cria.Numerics.Memory;
using Cria.Numerics.Quants;
using Cria.Numerics.Threading;

namespace Cria.Numerics.Kernels;

/// <summary>
/// y = x · Wᵀ for a batch: x is [n, cols] row-major, W is [rows, cols] (GGUF layout: one row per
/// output), y is [n, rows]. Rows are split over the compute pool; each weight row is read once
/// for the whole batch. Q8_0 and Q4_0 weights meet activations quantized to Q8 blocks of 32,
/// Q4_K and Q6_K meet Q8_K super-blocks (integer dot products, as ggml's vec_dot_type); F32, F16
/// and BF16 rows are dotted in float; other formats are dequantized row by row into scratch.
/// </summary>
public static unsafe class MatMul
{
    [ThreadStatic]
    private static MatMulJob? t_job;

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
        MatMulJob job = t_job ??= new MatMulJob();
        job.Kind = KindOf(w.Type);
        if (job.Kind == Kind.Q8)
        {
            job.Q8.Quantize(x, n, w.Cols);
        }
        else if (job.Kind == Kind.Q8K)
        {
            job.Q8K.Quantize(x, n, w.Cols);
        }
        job.EnsureScratch(pool.ThreadCount, w.Cols);
        fixed (float* px = x)
        fixed (float* py = y)
        fixed (sbyte* pq = job.Kind == Kind.Q8 ? job.Q8.Qs : job.Q8K.Qs)
        fixed (float* pd = job.Kind == Kind.Q8 ? job.Q8.D : job.Q8K.D)
        fixed (int* ps = job.Q8.Sums)
        fixed (short* pb = job.Q8K.BSums)
        {
            job.W = w;
            job.X = px;
            job.Y = py;
            job.N = n;
            job.Xq = pq;
            job.Xd = pd;
            job.XSum = ps;
            job.XBSum = pb;
            if (w.Layout == WeightLayout.Tiled8)
            {
                pool.For(job, w.Rows / 8);
            }
            else
            {
                pool.For(job, w.Rows, minChunk: 8);
            }
            job.X = job.Y = null;
        }
    }

    private enum Kind
    {
        Float,
        Q8,
        Q8K,
        Generic,
    }

    private static Kind KindOf(GgmlType t) => t switch
    {
        GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 => Kind.Float,
        GgmlType.Q8_0 or GgmlType.Q4_0 => Kind.Q8,
        GgmlType.Q4_K or GgmlType.Q6_K => Kind.Q8K,
        _ => Kind.Generic,
    };

    private sealed class MatMulJob : ParallelJob
    {
        public readonly Q8Activations Q8 = new();
        public readonly Q8KActivations Q8K = new();
        public Kind Kind;
        public WeightMatrix W;
        public float* X;
        public float* Y;
        public int N;
        public sbyte* Xq;
        public float* Xd;
        public int* XSum;
        public short* XBSum;
        private float[][] _scratch = [];

        public void EnsureScratch(int threads, int cols)
        {
            if (Kind == Kind.Generic && (_scratch.Length < threads || _scratch[0].Length < cols))
            {
                _scratch = new float[threads][];
                for (int i = 0; i < threads; i++)
                {
                    _scratch[i] = new float[cols];
                }
            }
        }

        /// <summary>Tiles [start, end) of 8 rows each.</summary>
        private void ExecuteTiles(int start, int end)
        {
            int blocks = W.Cols / 32;
            for (int tile = start; tile < end; tile++)
            {
                float* y = Y + tile * 8;
                if (W.Type == GgmlType.Q4_0)
                {
                    byte* p = (byte*)W.Data + (long)tile * blocks * Tiled.TiledQ4_0.BlockBytes;
                    Tiled.TiledQ4_0.Run(p, blocks, Xq, Xd, XSum, N, y, W.Rows);
                }
                else if (W.Type == GgmlType.Q6_K)
                {
                    int sb = W.Cols / 256;
                    byte* p = (byte*)W.Data + (long)tile * sb * Tiled.TiledQ6_K.BlockBytes;
                    Tiled.TiledQ6_K.Run(p, sb, Xq, Xd, XBSum, N, y, W.Rows);
                }
                else if (W.Type == GgmlType.Q4_K)
                {
                    int sb = W.Cols / 256;
                    byte* p = (byte*)W.Data + (long)tile * sb * Tiled.TiledQ4_K.BlockBytes;
                    Tiled.TiledQ4_K.Run(p, sb, Xq, Xd, XBSum, N, y, W.Rows);
                }
                else
                {
                    byte* p = (byte*)W.Data + (long)tile * blocks * Tiled.TiledQ8_0.BlockBytes;
                    Tiled.TiledQ8_0.Run(p, blocks, Xq, Xd, XSum, N, y, W.Rows);
                }
            }
        }

        public override void Execute(int start, int end, int worker)
        {
            if (W.Layout == WeightLayout.Tiled8)
            {
                ExecuteTiles(start, end);
                return;
            }
            int cols = W.Cols;
            int rows = W.Rows;
            GgmlType type = W.Type;
            for (int r = start; r < end; r++)
            {
                byte* row = (byte*)W.Data + (long)r * W.RowBytes;
                switch (type)
                {
                    case GgmlType.F32:
                        var wr = new ReadOnlySpan<float>(row, cols);
                        for (int t = 0; t < N; t++)
                        {
                            Y[(long)t * rows + r] = TensorPrimitives.Dot(wr, new ReadOnlySpan<float>(X + (long)t * cols, cols));
                        }
                        break;
                    case GgmlType.F16:
                        for (int t = 0; t < N; t++)
                        {
                            Y[(long)t * rows + r] = DotF16.RunF16((ushort*)row, X + (long)t * cols, cols);
                        }
                        break;
                    case GgmlType.BF16:
                        for (int t = 0; t < N; t++)
                        {
                            Y[(long)t * rows + r] = DotF16.RunBF16((ushort*)row, X + (long)t * cols, cols);
                        }
                        break;
                    case GgmlType.Q4_0:
                        for (int t = 0; t < N; t++)
                        {
                            int blocks = cols / 32;
                            Y[(long)t * rows + r] = DotQ4_0.Run(row, Xq + (long)t * cols, Xd + (long)t * blocks, XSum + (long)t * blocks, blocks);
                        }
                        break;
                    case GgmlType.Q8_0:
                        for (int t = 0; t < N; t++)
                        {
                            int blocks = cols / 32;
                            Y[(long)t * rows + r] = DotQ8_0.Run(row, Xq + (long)t * cols, Xd + (long)t * blocks, blocks);
                        }
                        break;
                    case GgmlType.Q4_K:
                        for (int t = 0; t < N; t++)
                        {
                            int sb = cols / 256;
                            Y[(long)t * rows + r] = DotQ4_K.Run(row, Xq + (long)t * cols, Xd + (long)t * sb, XBSum + (long)t * sb * 16, sb);
                        }
                        break;
                    case GgmlType.Q6_K:
                        for (int t = 0; t < N; t++)
                        {
                            int sb = cols / 256;
                            Y[(long)t * rows + r] = DotQ6_K.Run(row, Xq + (long)t * cols, Xd + (long)t * sb, XBSum + (long)t * sb * 16, sb);
                        }
                        break;
                    default:
                        Span<float> deq = _scratch[worker].AsSpan(0, cols);
                        Dequantize.Row(type, new ReadOnlySpan<byte>(row, (int)W.RowBytes), deq);
                        for (int t = 0; t < N; t++)
                        {
                            Y[(long)t * rows + r] = TensorPrimitives.Dot(deq, new ReadOnlySpan<float>(X + (long)t * cols, cols));
                        }
                        break;
                }
            }
        }
    }
}
