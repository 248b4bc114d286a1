using Cria.Numerics.Memory;
using Cria.Numerics.Quants;
using Cria.Numerics.Threading;

namespace Cria.Numerics.Kernels;

/// <summary>
/// y [n, rows] = x [n, cols] · Wᵀ in float, for the large batches of training: each work item owns a
/// panel of 256 output rows for a block of tokens, dequantizes a chunk of 256 columns of those rows,
/// transposes it into per-worker scratch (Wᵀ chunk [256, 256]) and runs <see cref="PanelGemm"/> over it,
/// so the weights stay in their stored type and every y element is summed by one thread in column
/// order (independent of the thread count). For float weights it equals <see cref="MatMul"/> up to
/// summation order; for quantized weights it can round the activations as MatMul does, so it gives
/// MatMul's products at about twice its speed on batches of hundreds of tokens. Needs W in row layout.
/// </summary>
public static unsafe class PanelMatMul
{
    private const int PanelRows = 256;
    private const int ChunkCols = 256;

#pragma warning disable IDE1006 // [ThreadStatic] fields take dotnet/runtime's t_ prefix, which .editorconfig cannot express

    [ThreadStatic]
    private static ForwardJob? t_job;

#pragma warning restore IDE1006

    /// <param name="likeMatMul">
    /// Round the activations as <see cref="MatMul"/> does for this weight type before the float GEMM (Q8
    /// blocks of 32 for Q4_0 and Q8_0, Q8_K super-blocks for Q4_K and Q6_K): the products are then
    /// those of MatMul's integer kernels, up to float rounding (~1e-6 relative), at panel speed.
    /// </param>
    public static void Run(ComputePool pool, WeightMatrix w, ReadOnlySpan<float> x, Span<float> y, int n, bool likeMatMul = false)
    {
        ArgumentNullException.ThrowIfNull(pool);
        if (w.Layout != WeightLayout.Rows)
        {
            throw new ArgumentException("PanelMatMul needs a weight matrix in row layout");
        }
        if (n < 0 || x.Length < (long)n * w.Cols || y.Length < (long)n * w.Rows)
        {
            throw new ArgumentException($"PanelMatMul: x needs [{n}, {w.Cols}] and y [{n}, {w.Rows}]; got {x.Length} and {y.Length} floats");
        }
        if (!Dequantize.IsSupported(w.Type))
        {
            throw new NotSupportedException($"tensor type {GgmlTypes.Name(w.Type)} is not supported");
        }
        if (n == 0)
        {
            return;
        }
        GgmlTypes.TryGetLayout(w.Type, out int blockSize, out _);
        int chunk = blockSize >= ChunkCols ? blockSize : ChunkCols / blockSize * blockSize;
        int panels = (w.Rows + PanelRows - 1) / PanelRows;
        int wanted = pool.ThreadCount * 2;
        int tokenBlocks = panels >= wanted ? 1 : Math.Min((wanted + panels - 1) / panels, (n + 3) / 4);
        int tokensPerBlock = ((n + tokenBlocks - 1) / tokenBlocks + 3) / 4 * 4;
        tokenBlocks = (n + tokensPerBlock - 1) / tokensPerBlock;
        ForwardJob job = t_job ??= new ForwardJob();
        job.EnsureScratch(pool.ThreadCount, PanelRows * chunk);
        if (likeMatMul)
        {
            ReadOnlySpan<float> rounded = job.RoundActivations(w.Type, x, n, w.Cols);
            if (!rounded.IsEmpty)
            {
                x = rounded;
            }
        }
        fixed (float* px = x)
        fixed (float* py = y)
        {
            job.W = w;
            job.X = px;
            job.Y = py;
            job.N = n;
            job.Chunk = chunk;
            job.Panels = panels;
            job.TokensPerBlock = tokensPerBlock;
            pool.For(job, panels * tokenBlocks);
            job.W = default;
            job.X = job.Y = null;
        }
    }

    private sealed class ForwardJob : ParallelJob
    {
        public WeightMatrix W;
        public float* X;
        public float* Y;
        public int N;
        public int Chunk;
        public int Panels;
        public int TokensPerBlock;
        private float[][] _rows = [];   // per worker: [PanelRows, chunk] dequantized
        private float[][] _cols = [];   // per worker: [chunk, PanelRows] transposed
        private readonly Dot.Q8Activations _q8 = new();
        private readonly Dot.Q8KActivations _q8k = new();
        private float[] _rounded = [];  // [n, cols] activations as d·q

        /// <summary>x as MatMul's activation quantizer leaves it for weights of <paramref name="type"/> (empty: MatMul uses x as is).</summary>
        public ReadOnlySpan<float> RoundActivations(GgmlType type, ReadOnlySpan<float> x, int n, int cols)
        {
            bool q8 = type is GgmlType.Q4_0 or GgmlType.Q8_0;
            bool q8k = type is GgmlType.Q4_K or GgmlType.Q6_K;
            if (!q8 && !q8k)
            {
                return default;
            }
            int count = n * cols;
            if (_rounded.Length < count)
            {
                _rounded = GC.AllocateUninitializedArray<float>(count, pinned: true);
            }
            int block = q8 ? Dot.Q8Activations.Block : Dot.Q8KActivations.Block;
            if (q8)
            {
                _q8.Quantize(x, n, cols);
            }
            else
            {
                _q8k.Quantize(x, n, cols);
            }
            sbyte[] qs = q8 ? _q8.Qs : _q8k.Qs;
            float[] d = q8 ? _q8.D : _q8k.D;
            for (int b = 0; b < count / block; b++)
            {
                float scale = d[b];
                for (int i = b * block; i < (b + 1) * block; i++)
                {
                    _rounded[i] = scale * qs[i];
                }
            }
            return _rounded.AsSpan(0, count);
        }

        public void EnsureScratch(int threads, int floats)
        {
            if (_rows.Length < threads || _rows[0].Length < floats)
            {
                _rows = new float[threads][];
                _cols = new float[threads][];
                for (int i = 0; i < threads; i++)
                {
                    _rows[i] = GC.AllocateUninitializedArray<float>(floats, pinned: true);
                    _cols[i] = GC.AllocateUninitializedArray<float>(floats, pinned: true);
                }
            }
        }

        public override void Execute(int start, int end, int worker)
        {
            for (int item = start; item < end; item++)
            {
                int panel = item % Panels;
                int t0 = item / Panels * TokensPerBlock;
                int tn = Math.Min(TokensPerBlock, N - t0);
                if (tn > 0)
                {
                    RunPanel(panel, t0, tn, worker);
                }
            }
        }

        private void RunPanel(int panel, int t0, int tn, int worker)
        {
            WeightMatrix w = W;
            int r0 = panel * PanelRows;
            int width = Math.Min(PanelRows, w.Rows - r0);
            int cols = w.Cols;
            int rows = w.Rows;
            float* y = Y + (long)t0 * rows + r0;
            for (int t = 0; t < tn; t++)
            {
                new Span<float>(y + (long)t * rows, width).Clear();
            }
            GgmlTypes.TryGetLayout(w.Type, out int blockSize, out int typeSize);
            fixed (float* deq = _rows[worker])
            fixed (float* bt = _cols[worker])
            {
                for (int c0 = 0; c0 < cols; c0 += Chunk)
                {
                    int kc = Math.Min(Chunk, cols - c0);
                    long byteOffset = (long)c0 / blockSize * typeSize;
                    int byteCount = kc / blockSize * typeSize;
                    for (int r = 0; r < width; r++)
                    {
                        byte* row = (byte*)w.Data + (r0 + r) * w.RowBytes + byteOffset;
                        RowDequantizer.Run(w.Type, new ReadOnlySpan<byte>(row, byteCount), new Span<float>(deq + (long)r * kc, kc));
                    }
                    Transpose(deq, width, kc, bt);
                    PanelGemm.Run(X + (long)t0 * cols + c0, cols, bt, width, y, rows, tn, kc, width);
                }
            }
        }

        /// <summary>dst [cols, rows] = src [rows, cols]ᵀ, in 8×8 blocks so both sides stay in cache lines.</summary>
        private static void Transpose(float* src, int rows, int cols, float* dst)
        {
            for (int r0 = 0; r0 < rows; r0 += 8)
            {
                int rn = Math.Min(8, rows - r0);
                for (int c0 = 0; c0 < cols; c0 += 8)
                {
                    int cn = Math.Min(8, cols - c0);
                    for (int r = 0; r < rn; r++)
                    {
                        float* s = src + (long)(r0 + r) * cols + c0;
                        for (int c = 0; c < cn; c++)
                        {
                            dst[(long)(c0 + c) * rows + r0 + r] = s[c];
                        }
                    }
                }
            }
        }
    }

    /// <summary>The scalar reference: whole rows dequantized, float sums in column order.</summary>
    public static void Reference(WeightMatrix w, ReadOnlySpan<float> x, Span<float> y, int n)
    {
        var row = new float[w.Cols];
        for (int r = 0; r < w.Rows; r++)
        {
            Dequantize.Row(w.Type, w.Row(r), row);
            for (int t = 0; t < n; t++)
            {
                float s = 0;
                for (int c = 0; c < w.Cols; c++)
                {
                    s = MathF.FusedMultiplyAdd(x[t * w.Cols + c], row[c], s);
                }
                y[t * w.Rows + r] = s;
            }
        }
    }
}
