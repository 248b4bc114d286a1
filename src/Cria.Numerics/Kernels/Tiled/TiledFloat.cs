using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

using Cria.Numerics.Memory;

namespace Cria.Numerics.Kernels.Tiled;

/// <summary>
/// F32, F16 and BF16 weights repacked in tiles of 32 rows stored column by column: value (r, c)
/// of a tile sits at c·32 + r, so one column of a tile is one 64-byte line of fp16 (two of f32)
/// and a 512-bit vector holds 16 rows of it. Tiles follow each other; the last one is padded
/// with zero rows. Same bytes as the row layout, up to the padding.
///
/// The kernel is a register-blocked matrix × matrix product: a tile's column widened once feeds
/// the multiply-adds of up to 12 tokens (24 accumulators: 32 rows × 12 tokens), so prefill is
/// compute-bound on FMAs rather than on widening and loads, and no horizontal sums are needed.
///
/// Invariant — a token's result does not depend on its batch: every output (r, t) is one float
/// accumulator that runs y = fma(w(r, c), x(t, c), y) for c = 0, 1, …, cols − 1, then × Scale.
/// A lane holds one row and a token one register, whatever the token count, the ISA or the
/// block the token lands in, so decode (n = 1), prefill and batches of sequences, and the
/// Vector512, Vector256, Vector128 and scalar paths all give the same bits.
/// </summary>
internal static unsafe partial class TiledFloat
{
    public const int TileRows = 32;

    /// <summary>The widest token panel: the AVX-512 kernel's 12 tokens × 2 vectors of accumulators.</summary>
    private const int MaxPanelWidth = 12;

    /// <summary>The kernel this CPU runs: the widest its JIT accelerates (a constant once jitted).</summary>
    public static TiledFloatKernel Preferred =>
        Vector512.IsHardwareAccelerated ? TiledFloatKernel.Avx512
        : Avx2.IsSupported && Fma.IsSupported ? TiledFloatKernel.Avx2
        : Vector128.IsHardwareAccelerated ? TiledFloatKernel.Vector128
        : TiledFloatKernel.Scalar;

    /// <summary>Whether this CPU can run <paramref name="kernel"/> at all (the tests run each one it can).</summary>
    public static bool CanRun(TiledFloatKernel kernel) => kernel switch
    {
        TiledFloatKernel.Avx512 => Vector512.IsHardwareAccelerated,
        TiledFloatKernel.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        TiledFloatKernel.Vector128 => Vector128.IsHardwareAccelerated,
        _ => true,
    };

    /// <summary>Tokens per packed panel: what the kernel holds in registers (AVX2 and Vector128: 6 tokens × half a tile).</summary>
    private static int PanelWidthOf(TiledFloatKernel kernel) => kernel is TiledFloatKernel.Avx2 or TiledFloatKernel.Vector128 ? 6 : MaxPanelWidth;

    /// <summary>Tokens per packed panel of this CPU's kernel.</summary>
    public static int PanelWidth => PanelWidthOf(Preferred);

    public static bool CanRepack(WeightMatrix w) => w.Type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 && w.Layout == WeightLayout.Rows;

    public static int Tiles(int rows) => (rows + TileRows - 1) / TileRows;

    public static long RepackedBytes(WeightMatrix w) => (long)Tiles(w.Rows) * TileRows * w.Cols * ElementBytes(w.Type);

    private static int ElementBytes(GgmlType type) => type == GgmlType.F32 ? 4 : 2;

    /// <summary>Rewrites <paramref name="src"/> (row layout) into <paramref name="dst"/> (zeroed, <see cref="RepackedBytes"/> long).</summary>
    public static void Repack(WeightMatrix src, byte* dst)
    {
        int eb = ElementBytes(src.Type);
        long cols = src.Cols;
        for (int r = 0; r < src.Rows; r++)
        {
            byte* row = (byte*)src.Data + r * src.RowBytes;
            byte* o = dst + (r / TileRows) * TileRows * cols * eb + (r % TileRows) * eb;
            if (eb == 4)
            {
                for (long c = 0; c < cols; c++)
                {
                    *(uint*)(o + c * TileRows * 4) = ((uint*)row)[c];
                }
            }
            else
            {
                for (long c = 0; c < cols; c++)
                {
                    *(ushort*)(o + c * TileRows * 2) = ((ushort*)row)[c];
                }
            }
        }
    }

    /// <summary>Token panels of a batch of <paramref name="n"/>.</summary>
    public static int Panels(int n) => (n + PanelWidth - 1) / PanelWidth;

    /// <summary>
    /// Panels [first, last) of x [n, cols]: <see cref="PanelWidth"/> tokens each (the last one
    /// narrower), stored column-major — token j of a panel of width w at c·w + j — so a kernel reads
    /// one column of all its tokens from one place. A single token needs no copy: its panel is x.
    /// </summary>
    public static void Pack(float* x, int n, int cols, float* panels, int first, int last) =>
        Pack(PanelWidth, x, n, cols, panels, first, last);

    private static void Pack(int width, float* x, int n, int cols, float* panels, int first, int last)
    {
        for (int p = first; p < last; p++)
        {
            int p0 = p * width;
            int w = Math.Min(width, n - p0);
            float* dst = panels + (long)p0 * cols;
            for (int j = 0; j < w; j++)
            {
                float* src = x + (long)(p0 + j) * cols;
                for (nint c = 0; c < cols; c++)
                {
                    dst[c * w + j] = src[c];
                }
            }
        }
    }

    /// <summary>
    /// y [n, rows] for the rows of tiles [tileStart, tileEnd) and all <paramref name="n"/> tokens,
    /// x given as <c>Pack</c>ed panels. The range is a work unit of a few tiles: every panel
    /// passes over them in turn, so their weights are read from memory once and then from L2.
    /// </summary>
    public static void Run(WeightMatrix w, int tileStart, int tileEnd, float* panels, int n, float* y) =>
        Run(Preferred, w, tileStart, tileEnd, panels, n, y);

    /// <summary>
    /// y [n, rows] = <paramref name="w"/> (tiled) × x [n, cols] on this thread through the named
    /// kernel, whatever this CPU prefers (<see cref="CanRun"/> must hold): for the tests, which run
    /// every kernel the CPU can, and for timing one kernel alone.
    /// </summary>
    public static void RunWith(TiledFloatKernel kernel, WeightMatrix w, ReadOnlySpan<float> x, Span<float> y, int n)
    {
        if (!CanRun(kernel) || w.Layout != WeightLayout.Tiled32 || x.Length < n * w.Cols || y.Length < n * w.Rows)
        {
            throw new ArgumentException($"cannot run the {kernel} kernel on {w.Rows}×{w.Cols} {w.Layout} for {n} tokens");
        }
        int width = PanelWidthOf(kernel);
        float[] panels = n > 1 ? new float[n * w.Cols] : [];
        fixed (float* px = x)
        fixed (float* pp = panels)
        fixed (float* py = y)
        {
            if (n > 1)
            {
                Pack(width, px, n, w.Cols, pp, 0, (n + width - 1) / width);
            }
            Run(kernel, w, 0, Tiles(w.Rows), n > 1 ? pp : px, n, py);
        }
    }

    private static void Run(TiledFloatKernel kernel, WeightMatrix w, int tileStart, int tileEnd, float* panels, int n, float* y)
    {
        switch (w.Type)
        {
            case GgmlType.F16:
                Run<F16Weights>(kernel, w, tileStart, tileEnd, panels, n, y);
                break;
            case GgmlType.BF16:
                Run<BF16Weights>(kernel, w, tileStart, tileEnd, panels, n, y);
                break;
            default:
                Run<F32Weights>(kernel, w, tileStart, tileEnd, panels, n, y);
                break;
        }
    }

    private static void Run<TW>(TiledFloatKernel kernel, WeightMatrix w, int tileStart, int tileEnd, float* panels, int n, float* y)
        where TW : struct, ITileWeights
    {
        int cols = w.Cols;
        int rows = w.Rows;
        long tileBytes = (long)TileRows * cols * TW.ElementBytes;
        int width = PanelWidthOf(kernel);
        // A padded tile's results go through here first, so the kernels only ever store whole tiles.
        float* part = stackalloc float[MaxPanelWidth * TileRows];
        for (int p0 = 0; p0 < n; p0 += width)
        {
            int tokens = Math.Min(width, n - p0);
            float* panel = panels + (long)p0 * cols;
            for (int tile = tileStart; tile < tileEnd; tile++)
            {
                byte* wt = (byte*)w.Data + tile * tileBytes;
                float* yt = y + (long)p0 * rows + tile * TileRows;
                int valid = rows - tile * TileRows;
                float* dst = valid >= TileRows ? yt : part;
                int stride = valid >= TileRows ? rows : TileRows;
                switch (kernel)
                {
                    case TiledFloatKernel.Avx512:
                        Panel<Avx512Kernel, TW, Tokens12>(wt, panel, tokens, cols, dst, stride);
                        break;
                    case TiledFloatKernel.Avx2 when tokens == 1:
                        Token256<TW>(wt, panel, cols, dst);
                        break;
                    case TiledFloatKernel.Avx2:
                        Panel<Avx2Kernel, TW, Tokens6>(wt, panel, tokens, cols, dst, stride);
                        Panel<Avx2Kernel, TW, Tokens6>(wt + 16 * TW.ElementBytes, panel, tokens, cols, dst + 16, stride);
                        break;
                    case TiledFloatKernel.Vector128 when tokens == 1:
                        Token128<TW>(wt, panel, cols, dst);
                        break;
                    case TiledFloatKernel.Vector128:
                        Panel<Vector128Kernel, TW, Tokens6>(wt, panel, tokens, cols, dst, stride);
                        Panel<Vector128Kernel, TW, Tokens6>(wt + 16 * TW.ElementBytes, panel, tokens, cols, dst + 16, stride);
                        break;
                    default:
                        PanelScalar<TW>(wt, panel, tokens, cols, dst, stride);
                        break;
                }
                if (dst == part)
                {
                    for (int j = 0; j < tokens; j++)
                    {
                        new ReadOnlySpan<float>(part + j * TileRows, valid).CopyTo(new Span<float>(yt + (long)j * rows, valid));
                    }
                }
            }
        }
    }

    /// <summary>A register-blocked kernel of one ISA: TN tokens of a panel (stride tokens per column) against its rows of a tile.</summary>
    private interface ITileKernel
    {
        static abstract void Run<TW, TN>(byte* w, float* x, nint stride, int cols, float* y, int rows)
            where TW : struct, ITileWeights
            where TN : struct, ITokenCount;
    }

    /// <summary>
    /// One kernel over one panel: a full panel (<typeparamref name="TFull"/> tokens, all the kernel's
    /// registers hold) in one pass, a narrower one as 8 + 4 + 2 + 1 tokens (4 + 2 + 1 on AVX2 and Vector128).
    /// </summary>
    private static void Panel<TK, TW, TFull>(byte* tile, float* panel, int tokens, int cols, float* y, int rows)
        where TK : struct, ITileKernel
        where TW : struct, ITileWeights
        where TFull : struct, ITokenCount
    {
        if (tokens == TFull.Value)
        {
            TK.Run<TW, TFull>(tile, panel, tokens, cols, y, rows);
            return;
        }
        int j = 0;
        if (TFull.Value > 8 && tokens - j >= 8)
        {
            TK.Run<TW, Tokens8>(tile, panel + j, tokens, cols, y + (long)j * rows, rows);
            j += 8;
        }
        if (tokens - j >= 4)
        {
            TK.Run<TW, Tokens4>(tile, panel + j, tokens, cols, y + (long)j * rows, rows);
            j += 4;
        }
        if (tokens - j >= 2)
        {
            TK.Run<TW, Tokens2>(tile, panel + j, tokens, cols, y + (long)j * rows, rows);
            j += 2;
        }
        if (tokens - j >= 1)
        {
            TK.Run<TW, Tokens1>(tile, panel + j, tokens, cols, y + (long)j * rows, rows);
        }
    }

    /// <summary>
    /// The invariant written out on the row layout (<paramref name="w"/> not repacked): y[t, r] =
    /// the fma chain over columns in order, × Scale. Every path of <c>Run</c> must equal it
    /// bit for bit; the tests and <see cref="KernelSelfTest"/> check that.
    /// </summary>
    public static void Reference(WeightMatrix w, ReadOnlySpan<float> x, Span<float> y, int n)
    {
        switch (w.Type)
        {
            case GgmlType.F16:
                Reference<F16Weights>(w, x, y, n);
                break;
            case GgmlType.BF16:
                Reference<BF16Weights>(w, x, y, n);
                break;
            default:
                Reference<F32Weights>(w, x, y, n);
                break;
        }
    }

    private static void Reference<TW>(WeightMatrix w, ReadOnlySpan<float> x, Span<float> y, int n)
        where TW : struct, ITileWeights
    {
        for (int r = 0; r < w.Rows; r++)
        {
            fixed (byte* row = w.Row(r))
            {
                for (int t = 0; t < n; t++)
                {
                    float acc = 0f;
                    for (int c = 0; c < w.Cols; c++)
                    {
                        acc = MathF.FusedMultiplyAdd(TW.Load1(row + c * TW.ElementBytes), x[t * w.Cols + c], acc);
                    }
                    y[t * w.Rows + r] = acc * TW.Scale;
                }
            }
        }
    }

    /// <summary>
    /// The floor (no SIMD at all): the same per-output fma chains, one value at a time, summed in y
    /// (a float store and load change no bits) while the tile is read in its memory order.
    /// </summary>
    private static void PanelScalar<TW>(byte* tile, float* panel, int tokens, int cols, float* y, int stride)
        where TW : struct, ITileWeights
    {
        for (int j = 0; j < tokens; j++)
        {
            new Span<float>(y + (long)j * stride, TileRows).Clear();
        }
        for (nint c = 0; c < cols; c++)
        {
            byte* column = tile + c * TileRows * TW.ElementBytes;
            for (int j = 0; j < tokens; j++)
            {
                float xv = panel[c * tokens + j];
                float* yj = y + (long)j * stride;
                for (int r = 0; r < TileRows; r++)
                {
                    yj[r] = MathF.FusedMultiplyAdd(TW.Load1(column + r * TW.ElementBytes), xv, yj[r]);
                }
            }
        }
        for (int j = 0; j < tokens; j++)
        {
            for (int r = 0; r < TileRows; r++)
            {
                y[(long)j * stride + r] *= TW.Scale;
            }
        }
    }

    /// <summary>Stores finished sums, rescaled (fp16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TW>(Vector512<float> acc, float* y)
        where TW : struct, ITileWeights
    {
        (TW.Scale != 1f ? acc * TW.Scale : acc).Store(y);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TW>(Vector256<float> acc, float* y)
        where TW : struct, ITileWeights
    {
        (TW.Scale != 1f ? acc * TW.Scale : acc).Store(y);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TW>(Vector128<float> acc, float* y)
        where TW : struct, ITileWeights
    {
        (TW.Scale != 1f ? acc * TW.Scale : acc).Store(y);
    }
}
