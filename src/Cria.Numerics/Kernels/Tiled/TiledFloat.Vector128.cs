using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Cria.Numerics.Kernels.Tiled;

/// <summary>
/// The portable kernel of <see cref="TiledFloat"/>, for ARM64 (NEON) and x86 without AVX2:
/// Vector128 only, so one body serves every 128-bit ISA. Same sums as the other kernels — a lane
/// is a row, a register a token, columns in order, each step one Vector128.FusedMultiplyAdd (fmla
/// on ARM64; on x86 without FMA the runtime emulates it exactly and slowly, a test path only).
/// </summary>
internal static unsafe partial class TiledFloat
{
    /// <summary>
    /// y[j, 0..16) for tokens j &lt; TN ≤ 6: per column, four weight vectors (16 rows) and TN
    /// broadcasts feed 4·TN FMAs into 4·TN accumulators. The block is sized for NEON's 32 vector
    /// registers: 24 accumulators + 4 weights + a broadcast = 29, so nothing spills, and a column
    /// costs 4 weight loads + 6 broadcasts per 24 FMAs. The alternatives lose: 8 rows × 12 tokens
    /// also fits (24 + 2) but needs 2 + 12 loads per 24 FMAs; 32 rows × 3 tokens needs 8 weights +
    /// 24 accumulators = 32 registers before the broadcast. 24 independent chains also cover the FMA
    /// latency of current cores (4 cycles × 4 pipes on Neoverse V2 or Apple M = 16 in flight).
    /// A tile is two calls (rows 0..15, 16..31), a panel 6 tokens, as on AVX2.
    /// </summary>
    private readonly struct Vector128Kernel : ITileKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void Run<TW, TN>(byte* w, float* x, nint stride, int cols, float* y, int rows)
            where TW : struct, ITileWeights
            where TN : struct, ITokenCount
        {
            Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default;
            Vector128<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default;
            Vector128<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
            Vector128<float> d0 = default, d1 = default, d2 = default, d3 = default, d4 = default, d5 = default;
            nint step = TileRows * TW.ElementBytes;
            nint eighth = 8 * TW.ElementBytes;
            for (nint k = 0; k < cols; k++)
            {
                TW.Load4x2(w, out Vector128<float> wa, out Vector128<float> wb);
                TW.Load4x2(w + eighth, out Vector128<float> wc, out Vector128<float> wd);
                Fma4(ref a0, ref b0, ref c0, ref d0, wa, wb, wc, wd, x[0]);
                if (TN.Value > 1)
                {
                    Fma4(ref a1, ref b1, ref c1, ref d1, wa, wb, wc, wd, x[1]);
                }
                if (TN.Value > 2)
                {
                    Fma4(ref a2, ref b2, ref c2, ref d2, wa, wb, wc, wd, x[2]);
                    Fma4(ref a3, ref b3, ref c3, ref d3, wa, wb, wc, wd, x[3]);
                }
                if (TN.Value > 4)
                {
                    Fma4(ref a4, ref b4, ref c4, ref d4, wa, wb, wc, wd, x[4]);
                    Fma4(ref a5, ref b5, ref c5, ref d5, wa, wb, wc, wd, x[5]);
                }
                w += step;
                x += stride;
            }
            Store4<TW>(a0, b0, c0, d0, y);
            if (TN.Value > 1)
            {
                Store4<TW>(a1, b1, c1, d1, y + rows);
            }
            if (TN.Value > 2)
            {
                Store4<TW>(a2, b2, c2, d2, y + 2L * rows);
                Store4<TW>(a3, b3, c3, d3, y + 3L * rows);
            }
            if (TN.Value > 4)
            {
                Store4<TW>(a4, b4, c4, d4, y + 4L * rows);
                Store4<TW>(a5, b5, c5, d5, y + 5L * rows);
            }
        }
    }

    /// <summary>
    /// One token against a whole tile (decode): eight accumulators, rows 0..3 to 28..31, so eight
    /// fma chains run side by side and the tile is read once, in memory order, instead of in two
    /// 16-row passes that would each touch every line of it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Token128<TW>(byte* w, float* x, int cols, float* y)
        where TW : struct, ITileWeights
    {
        Vector128<float> a = default, b = default, c = default, d = default;
        Vector128<float> e = default, f = default, g = default, h = default;
        nint step = TileRows * TW.ElementBytes;
        nint eighth = 8 * TW.ElementBytes;
        for (nint k = 0; k < cols; k++)
        {
            Vector128<float> xv = Vector128.Create(x[k]);
            TW.Load4x2(w, out Vector128<float> wa, out Vector128<float> wb);
            TW.Load4x2(w + eighth, out Vector128<float> wc, out Vector128<float> wd);
            TW.Load4x2(w + 2 * eighth, out Vector128<float> we, out Vector128<float> wf);
            TW.Load4x2(w + 3 * eighth, out Vector128<float> wg, out Vector128<float> wh);
            a = Vector128.FusedMultiplyAdd(wa, xv, a);
            b = Vector128.FusedMultiplyAdd(wb, xv, b);
            c = Vector128.FusedMultiplyAdd(wc, xv, c);
            d = Vector128.FusedMultiplyAdd(wd, xv, d);
            e = Vector128.FusedMultiplyAdd(we, xv, e);
            f = Vector128.FusedMultiplyAdd(wf, xv, f);
            g = Vector128.FusedMultiplyAdd(wg, xv, g);
            h = Vector128.FusedMultiplyAdd(wh, xv, h);
            w += step;
        }
        Store4<TW>(a, b, c, d, y);
        Store4<TW>(e, f, g, h, y + 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Fma4(
        ref Vector128<float> a, ref Vector128<float> b, ref Vector128<float> c, ref Vector128<float> d,
        Vector128<float> wa, Vector128<float> wb, Vector128<float> wc, Vector128<float> wd, float x)
    {
        Vector128<float> xv = Vector128.Create(x);
        a = Vector128.FusedMultiplyAdd(wa, xv, a);
        b = Vector128.FusedMultiplyAdd(wb, xv, b);
        c = Vector128.FusedMultiplyAdd(wc, xv, c);
        d = Vector128.FusedMultiplyAdd(wd, xv, d);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store4<TW>(Vector128<float> a, Vector128<float> b, Vector128<float> c, Vector128<float> d, float* y)
        where TW : struct, ITileWeights
    {
        Store<TW>(a, y);
        Store<TW>(b, y + 4);
        Store<TW>(c, y + 8);
        Store<TW>(d, y + 12);
    }
}
