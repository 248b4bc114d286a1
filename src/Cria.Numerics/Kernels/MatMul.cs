using System.Numerics.Tensors;

using Cria.Numerics.Kernels.Dot;
using Cria.Numerics.Kernels.Tiled;
using Cria.Numerics.Memory;
using Cria.Numerics.Quants;
using Cria.Numerics.Threading;

namespace Cria.Numerics.Kernels;

/// <summary>
/// y = x · Wᵀ for a batch: x is [n, cols] row-major, W is [rows, cols] (one row per output), y is
/// [n, rows]. Up to three matrices that read the same input (q, k, v; gate, up) run as one fused
/// job: the input is quantized once and one pass of the pool covers all their rows.
/// Q8_0 and Q4_0 weights meet activations quantized to Q8 blocks of 32, Q4_K and Q6_K meet Q8_K
/// super-blocks (integer dot products, as ggml's vec_dot_type); F32, F16 and BF16 rows are dotted
/// in float; other formats are dequantized row by row into scratch. Quantized matrices in the tiled
/// layout are processed 8 rows at a time; float matrices in the tiled layout go through
/// <see cref="TiledFloat"/>'s register-blocked GEMM, 64 rows per work unit, the input packed once
/// into token panels for all the matrices of the call.
/// </summary>
public static unsafe class MatMul
{
#pragma warning disable IDE1006 // [ThreadStatic] fields take dotnet/runtime's t_ prefix, which .editorconfig cannot express
    [ThreadStatic]
    private static MatMulJob? t_job;
#pragma warning restore IDE1006

    public static void Run(ComputePool pool, WeightMatrix w, ReadOnlySpan<float> x, Span<float> y, int n)
    {
        Check(w, x, y, n);
        fixed (float* px = x)
        fixed (float* py = y)
        {
            Core(pool, px, n, w, py, default, null, default, null);
        }
    }

    /// <summary>Two matrices over the same input (e.g. the gate and up projections).</summary>
    public static void Run(ComputePool pool, ReadOnlySpan<float> x, int n, WeightMatrix w0, Span<float> y0, WeightMatrix w1, Span<float> y1)
    {
        Check(w0, x, y0, n);
        Check(w1, x, y1, n);
        fixed (float* px = x)
        fixed (float* p0 = y0)
        fixed (float* p1 = y1)
        {
            Core(pool, px, n, w0, p0, w1, p1, default, null);
        }
    }

    /// <summary>Three matrices over the same input (e.g. the q, k and v projections).</summary>
    public static void Run(ComputePool pool, ReadOnlySpan<float> x, int n, WeightMatrix w0, Span<float> y0, WeightMatrix w1, Span<float> y1, WeightMatrix w2, Span<float> y2)
    {
        Check(w0, x, y0, n);
        Check(w1, x, y1, n);
        Check(w2, x, y2, n);
        fixed (float* px = x)
        fixed (float* p0 = y0)
        fixed (float* p1 = y1)
        fixed (float* p2 = y2)
        {
            Core(pool, px, n, w0, p0, w1, p1, w2, p2);
        }
    }

    private static void Check(WeightMatrix w, ReadOnlySpan<float> x, Span<float> y, int n)
    {
        if (n < 0 || x.Length < (long)n * w.Cols || y.Length < (long)n * w.Rows)
        {
            throw new ArgumentException($"MatMul: x needs [{n}, {w.Cols}] and y [{n}, {w.Rows}]; got {x.Length} and {y.Length} floats");
        }
        if (!Dequantize.IsSupported(w.Type))
        {
            throw new NotSupportedException($"tensor type {GgmlTypes.Name(w.Type)} is not supported");
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

    private static void Core(ComputePool pool, float* x, int n, WeightMatrix w0, float* y0, WeightMatrix w1, float* y1, WeightMatrix w2, float* y2)
    {
        ArgumentNullException.ThrowIfNull(pool);
        int parts = y2 != null ? 3 : y1 != null ? 2 : 1;
        Kind kind = KindOf(w0.Type);
        if ((parts > 1 && KindOf(w1.Type) != kind) || (parts > 2 && KindOf(w2.Type) != kind))
        {
            // Different activation formats: run them one by one.
            Core(pool, x, n, w0, y0, default, null, default, null);
            Core(pool, x, n, w1, y1, default, null, default, null);
            if (parts > 2)
            {
                Core(pool, x, n, w2, y2, default, null, default, null);
            }
            return;
        }
        MatMulJob job = t_job ??= new MatMulJob();
        int cols = w0.Cols;
        var xs = new ReadOnlySpan<float>(x, n * cols);
        if (kind == Kind.Q8)
        {
            job.Q8.Quantize(xs, n, cols);
        }
        else if (kind == Kind.Q8K)
        {
            job.Q8K.Quantize(xs, n, cols);
        }
        job.EnsureScratch(pool.ThreadCount, cols, kind == Kind.Generic);
        bool panels = n > 1 && (w0.Layout == WeightLayout.Tiled32 || (parts > 1 && w1.Layout == WeightLayout.Tiled32) || (parts > 2 && w2.Layout == WeightLayout.Tiled32));
        if (panels)
        {
            job.EnsurePanels(n * cols);
        }
        fixed (float* pp = job.Panels)
        fixed (sbyte* pq = kind == Kind.Q8 ? job.Q8.Qs : job.Q8K.Qs)
        fixed (float* pd = kind == Kind.Q8 ? job.Q8.D : job.Q8K.D)
        fixed (int* ps = job.Q8.Sums)
        fixed (short* pb = job.Q8K.BSums)
        {
            job.X = x;
            if (panels)
            {
                job.Pack.Set(x, n, cols, pp);
                pool.For(job.Pack, TiledFloat.Panels(n));
            }
            job.XPanels = panels ? pp : x;
            job.N = n;
            job.Xq = pq;
            job.Xd = pd;
            job.XSum = ps;
            job.XBSum = pb;
            job.Parts = parts;
            job.W[0] = w0;
            job.W[1] = w1;
            job.W[2] = w2;
            job.Y[0] = (nint)y0;
            job.Y[1] = (nint)y1;
            job.Y[2] = (nint)y2;
            int total = 0;
            for (int p = 0; p < parts; p++)
            {
                job.Start[p] = total;
                total += Units(job.W[p]);
            }
            job.Start[parts] = total;
            pool.For(job, total, minChunk: w0.Layout == WeightLayout.Rows ? 8 : 1);
            job.X = job.XPanels = null;
            job.W[0] = job.W[1] = job.W[2] = default;
        }
    }

    /// <summary>Float tiles per work unit: 64 rows, whose weights stay in L2 while every token panel passes.</summary>
    private const int FloatTilesPerUnit = 2;

    /// <summary>Work units of a matrix: quantized tiles of 8 rows, pairs of 32-row float tiles, or single rows.</summary>
    private static int Units(WeightMatrix w) => w.Layout switch
    {
        WeightLayout.Tiled8 => w.Rows / 8,
        WeightLayout.Tiled32 => (TiledFloat.Tiles(w.Rows) + FloatTilesPerUnit - 1) / FloatTilesPerUnit,
        _ => w.Rows,
    };

    /// <summary>Packs the input of the float tiles into token panels, a panel per item.</summary>
    private sealed class PackJob : ParallelJob
    {
        private float* _x;
        private float* _panels;
        private int _n;
        private int _cols;

        public void Set(float* x, int n, int cols, float* panels)
        {
            _x = x;
            _n = n;
            _cols = cols;
            _panels = panels;
        }

        public override void Execute(int start, int end, int worker) => TiledFloat.Pack(_x, _n, _cols, _panels, start, end);
    }

    private sealed class MatMulJob : ParallelJob
    {
        public readonly PackJob Pack = new();
        public readonly Q8Activations Q8 = new();
        public readonly Q8KActivations Q8K = new();
        public readonly WeightMatrix[] W = new WeightMatrix[3];
        public readonly nint[] Y = new nint[3];
        public readonly int[] Start = new int[4];
        public int Parts;
        public float* X;
        public float* XPanels;          // x as TiledFloat panels (x itself for one token)
        public int N;
        public sbyte* Xq;
        public float* Xd;
        public int* XSum;
        public short* XBSum;
        private float[][] _scratch = [];

        public float[] Panels { get; private set; } = [];

        public void EnsurePanels(int floats)
        {
            if (Panels.Length < floats)
            {
                Panels = GC.AllocateUninitializedArray<float>(floats, pinned: true);
            }
        }

        public void EnsureScratch(int threads, int cols, bool generic)
        {
            if (generic && (_scratch.Length < threads || _scratch[0].Length < cols))
            {
                _scratch = new float[threads][];
                for (int i = 0; i < threads; i++)
                {
                    _scratch[i] = new float[cols];
                }
            }
        }

        public override void Execute(int start, int end, int worker)
        {
            for (int p = 0; p < Parts; p++)
            {
                int s = Math.Max(start, Start[p]);
                int e = Math.Min(end, Start[p + 1]);
                if (s >= e)
                {
                    continue;
                }
                WeightMatrix w = W[p];
                float* y = (float*)Y[p];
                if (w.Layout == WeightLayout.Tiled8)
                {
                    ExecuteTiles(w, y, s - Start[p], e - Start[p]);
                }
                else if (w.Layout == WeightLayout.Tiled32)
                {
                    int tiles = TiledFloat.Tiles(w.Rows);
                    TiledFloat.Run(w, (s - Start[p]) * FloatTilesPerUnit, Math.Min(tiles, (e - Start[p]) * FloatTilesPerUnit), XPanels, N, y);
                }
                else
                {
                    ExecuteRows(w, y, s - Start[p], e - Start[p], worker);
                }
            }
        }

        /// <summary>Tiles [start, end) of 8 rows each.</summary>
        private void ExecuteTiles(WeightMatrix w, float* y, int start, int end)
        {
            int blocks = w.Cols / 32;
            int sb = w.Cols / 256;
            for (int tile = start; tile < end; tile++)
            {
                float* yt = y + tile * 8;
                switch (w.Type)
                {
                    case GgmlType.Q4_0:
                        TiledQ4_0.Run((byte*)w.Data + (long)tile * blocks * TiledQ4_0.BlockBytes, blocks, Xq, Xd, XSum, N, yt, w.Rows);
                        break;
                    case GgmlType.Q8_0:
                        TiledQ8_0.Run((byte*)w.Data + (long)tile * blocks * TiledQ8_0.BlockBytes, blocks, Xq, Xd, XSum, N, yt, w.Rows);
                        break;
                    case GgmlType.Q4_K:
                        TiledQ4_K.Run((byte*)w.Data + (long)tile * sb * TiledQ4_K.BlockBytes, sb, Xq, Xd, XBSum, N, yt, w.Rows);
                        break;
                    case GgmlType.Q6_K:
                        TiledQ6_K.Run((byte*)w.Data + (long)tile * sb * TiledQ6_K.BlockBytes, sb, Xq, Xd, XBSum, N, yt, w.Rows);
                        break;
                    default:
                        throw new InvalidOperationException($"no tiled kernel for {w.Type}");
                }
            }
        }

        private void ExecuteRows(WeightMatrix w, float* y, int start, int end, int worker)
        {
            int cols = w.Cols;
            int rows = w.Rows;
            int blocks = cols / 32;
            int sb = cols / 256;
            for (int r = start; r < end; r++)
            {
                byte* row = (byte*)w.Data + (long)r * w.RowBytes;
                switch (w.Type)
                {
                    case GgmlType.F32:
                        int t32 = 0;
                        for (; t32 + 4 <= N; t32 += 4)
                        {
                            DotF16.RunF32x4((float*)row, X + (long)t32 * cols, cols, cols, out float e0, out float e1, out float e2, out float e3);
                            y[(long)t32 * rows + r] = e0;
                            y[(long)(t32 + 1) * rows + r] = e1;
                            y[(long)(t32 + 2) * rows + r] = e2;
                            y[(long)(t32 + 3) * rows + r] = e3;
                        }
                        for (; t32 < N; t32++)
                        {
                            y[(long)t32 * rows + r] = DotF16.RunF32((float*)row, X + (long)t32 * cols, cols);
                        }
                        break;
                    case GgmlType.F16:
                        int t16 = 0;
                        for (; t16 + 4 <= N; t16 += 4)
                        {
                            DotF16.RunF16x4((ushort*)row, X + (long)t16 * cols, cols, cols, out float d0, out float d1, out float d2, out float d3);
                            y[(long)t16 * rows + r] = d0;
                            y[(long)(t16 + 1) * rows + r] = d1;
                            y[(long)(t16 + 2) * rows + r] = d2;
                            y[(long)(t16 + 3) * rows + r] = d3;
                        }
                        for (; t16 < N; t16++)
                        {
                            y[(long)t16 * rows + r] = DotF16.RunF16((ushort*)row, X + (long)t16 * cols, cols);
                        }
                        break;
                    case GgmlType.BF16:
                        int tb = 0;
                        for (; tb + 4 <= N; tb += 4)
                        {
                            DotF16.RunBF16x4((ushort*)row, X + (long)tb * cols, cols, cols, out float b0, out float b1, out float b2, out float b3);
                            y[(long)tb * rows + r] = b0;
                            y[(long)(tb + 1) * rows + r] = b1;
                            y[(long)(tb + 2) * rows + r] = b2;
                            y[(long)(tb + 3) * rows + r] = b3;
                        }
                        for (; tb < N; tb++)
                        {
                            y[(long)tb * rows + r] = DotF16.RunBF16((ushort*)row, X + (long)tb * cols, cols);
                        }
                        break;
                    case GgmlType.Q4_0:
                        for (int t = 0; t < N; t++)
                        {
                            y[(long)t * rows + r] = DotQ4_0.Run(row, Xq + (long)t * cols, Xd + (long)t * blocks, XSum + (long)t * blocks, blocks);
                        }
                        break;
                    case GgmlType.Q8_0:
                        for (int t = 0; t < N; t++)
                        {
                            y[(long)t * rows + r] = DotQ8_0.Run(row, Xq + (long)t * cols, Xd + (long)t * blocks, blocks);
                        }
                        break;
                    case GgmlType.Q4_K:
                        for (int t = 0; t < N; t++)
                        {
                            y[(long)t * rows + r] = DotQ4_K.Run(row, Xq + (long)t * cols, Xd + (long)t * sb, XBSum + (long)t * sb * 16, sb);
                        }
                        break;
                    case GgmlType.Q6_K:
                        for (int t = 0; t < N; t++)
                        {
                            y[(long)t * rows + r] = DotQ6_K.Run(row, Xq + (long)t * cols, Xd + (long)t * sb, XBSum + (long)t * sb * 16, sb);
                        }
                        break;
                    default:
                        Span<float> deq = _scratch[worker].AsSpan(0, cols);
                        Dequantize.Row(w.Type, new ReadOnlySpan<byte>(row, (int)w.RowBytes), deq);
                        for (int t = 0; t < N; t++)
                        {
                            y[(long)t * rows + r] = TensorPrimitives.Dot(deq, new ReadOnlySpan<float>(X + (long)t * cols, cols));
                        }
                        break;
                }
            }
        }
    }
}
