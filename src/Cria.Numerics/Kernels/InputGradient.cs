using Cria.Numerics.Memory;
using Cria.Numerics.Quants;
using Cria.Numerics.Threading;

namespace Cria.Numerics.Kernels;

/// <summary>
/// The gradient of a frozen linear layer's input: dx [n, cols] = dy [n, rows] · W [rows, cols] (the
/// backward of <see cref="MatMul"/>'s y = x·Wᵀ). W stays in its stored type (QLoRA-style): each work
/// item owns a panel of at most 256 columns of dx (a whole number of W's blocks) for a block of tokens,
/// dequantizes 64 rows of that panel at a time into per-worker scratch and runs <see cref="PanelGemm"/>
/// over them, so no full-precision copy of W is ever made and every dx element is summed by one
/// thread in row order — the result does not depend on the thread count. Needs W in row layout.
/// </summary>
public static unsafe class InputGradient
{
    private const int PanelCols = 256;
    private const int ChunkRows = 64;

#pragma warning disable IDE1006 // [ThreadStatic] fields take dotnet/runtime's t_ prefix, which .editorconfig cannot express

    [ThreadStatic]
    private static GradientJob? t_job;

#pragma warning restore IDE1006

    /// <param name="accumulate">Add to dx instead of overwriting it.</param>
    public static void Run(ComputePool pool, WeightMatrix w, ReadOnlySpan<float> dy, Span<float> dx, int n, bool accumulate = false)
    {
        ArgumentNullException.ThrowIfNull(pool);
        Check(w, dy, dx, n);
        if (n == 0)
        {
            return;
        }
        GgmlTypes.TryGetLayout(w.Type, out int blockSize, out _);
        int panel = blockSize >= PanelCols ? blockSize : PanelCols / blockSize * blockSize;
        int panels = (w.Cols + panel - 1) / panel;
        // Enough items for every thread: split tokens into blocks (multiples of 4) when panels are few.
        int wanted = pool.ThreadCount * 2;
        int tokenBlocks = panels >= wanted ? 1 : Math.Min((wanted + panels - 1) / panels, (n + 3) / 4);
        int tokensPerBlock = (n + tokenBlocks - 1) / tokenBlocks;
        tokensPerBlock = (tokensPerBlock + 3) / 4 * 4;
        tokenBlocks = (n + tokensPerBlock - 1) / tokensPerBlock;
        GradientJob job = t_job ??= new GradientJob();
        job.EnsureScratch(pool.ThreadCount, ChunkRows * panel);
        fixed (float* pdy = dy)
        fixed (float* pdx = dx)
        {
            job.W = w;
            job.Dy = pdy;
            job.Dx = pdx;
            job.N = n;
            job.Panel = panel;
            job.Panels = panels;
            job.TokensPerBlock = tokensPerBlock;
            job.Accumulate = accumulate;
            pool.For(job, panels * tokenBlocks);
            job.W = default;
            job.Dy = job.Dx = null;
        }
    }

    /// <summary>The scalar reference: whole rows dequantized, float sums in row order.</summary>
    public static void Reference(WeightMatrix w, ReadOnlySpan<float> dy, Span<float> dx, int n, bool accumulate = false)
    {
        Check(w, dy, dx, n);
        if (!accumulate)
        {
            dx[..(n * w.Cols)].Clear();
        }
        var row = new float[w.Cols];
        for (int r = 0; r < w.Rows; r++)
        {
            Dequantize.Row(w.Type, w.Row(r), row);
            for (int t = 0; t < n; t++)
            {
                float g = dy[t * w.Rows + r];
                Span<float> d = dx.Slice(t * w.Cols, w.Cols);
                for (int c = 0; c < w.Cols; c++)
                {
                    d[c] = MathF.FusedMultiplyAdd(g, row[c], d[c]);
                }
            }
        }
    }

    private static void Check(WeightMatrix w, ReadOnlySpan<float> dy, Span<float> dx, int n)
    {
        if (w.Layout != WeightLayout.Rows)
        {
            throw new ArgumentException("InputGradient needs a weight matrix in row layout (load the model without repacking)");
        }
        if (n < 0 || dy.Length < (long)n * w.Rows || dx.Length < (long)n * w.Cols)
        {
            throw new ArgumentException($"InputGradient: dy needs [{n}, {w.Rows}] and dx [{n}, {w.Cols}]; got {dy.Length} and {dx.Length} floats");
        }
        if (!Dequantize.IsSupported(w.Type))
        {
            throw new NotSupportedException($"tensor type {GgmlTypes.Name(w.Type)} is not supported");
        }
    }

    private sealed class GradientJob : ParallelJob
    {
        public WeightMatrix W;
        public float* Dy;
        public float* Dx;
        public int N;
        public int Panel;
        public int Panels;
        public int TokensPerBlock;
        public bool Accumulate;
        private float[][] _scratch = [];

        public void EnsureScratch(int threads, int floats)
        {
            if (_scratch.Length < threads || _scratch[0].Length < floats)
            {
                _scratch = new float[threads][];
                for (int i = 0; i < threads; i++)
                {
                    _scratch[i] = GC.AllocateUninitializedArray<float>(floats, pinned: true);
                }
            }
        }

        public override void Execute(int start, int end, int worker)
        {
            for (int item = start; item < end; item++)
            {
                int panel = item % Panels;
                int block = item / Panels;
                int t0 = block * TokensPerBlock;
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
            int c0 = panel * Panel;
            int width = Math.Min(Panel, w.Cols - c0);
            int cols = w.Cols;
            int rows = w.Rows;
            float* dx = Dx + (long)t0 * cols + c0;
            if (!Accumulate)
            {
                for (int t = 0; t < tn; t++)
                {
                    new Span<float>(dx + (long)t * cols, width).Clear();
                }
            }
            GgmlTypes.TryGetLayout(w.Type, out int blockSize, out int typeSize);
            long byteOffset = (long)c0 / blockSize * typeSize;
            int byteCount = width / blockSize * typeSize;
            float[] scratch = _scratch[worker];
            fixed (float* s = scratch)
            {
                for (int r0 = 0; r0 < rows; r0 += ChunkRows)
                {
                    int rc = Math.Min(ChunkRows, rows - r0);
                    float* b;
                    int ldb;
                    if (w.Type == GgmlType.F32)
                    {
                        b = (float*)((byte*)w.Data + r0 * w.RowBytes) + c0;
                        ldb = (int)(w.RowBytes / sizeof(float));
                    }
                    else
                    {
                        for (int r = 0; r < rc; r++)
                        {
                            var src = new ReadOnlySpan<byte>((byte*)w.Data + (r0 + r) * w.RowBytes + byteOffset, byteCount);
                            var dst = new Span<float>(s + (long)r * width, width);
                            RowDequantizer.Run(w.Type, src, dst);
                        }
                        b = s;
                        ldb = width;
                    }
                    PanelGemm.Run(Dy + (long)t0 * rows + r0, rows, b, ldb, dx, cols, tn, rc, width);
                }
            }
        }
    }
}
