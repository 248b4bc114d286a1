using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Cria.Numerics.Kernels.Tiled;

/// <summary>
/// The AVX2 kernel of <see cref="TiledFloat"/>: half a tile (16 rows, two vectors) × up to 6 tokens,
/// 12 accumulators, so AVX2's 16 registers do not spill. Same sums as the AVX-512 kernel.
/// </summary>
internal static unsafe partial class TiledFloat
{
    /// <summary>y[j, 0..16) for tokens j &lt; TN: per column, two widened weight vectors and TN broadcasts feed 2·TN FMAs.</summary>
    private readonly struct Avx2Kernel : ITileKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void Run<TW, TN>(byte* w, float* x, nint stride, int cols, float* y, int rows)
            where TW : struct, ITileWeights
            where TN : struct, ITokenCount
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default;
            Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default;
            nint step = TileRows * TW.ElementBytes;
            nint half = 8 * TW.ElementBytes;
            for (nint c = 0; c < cols; c++)
            {
                Vector256<float> wa = TW.Load8(w), wb = TW.Load8(w + half);
                Fma2(ref a0, ref b0, wa, wb, x[0]);
                if (TN.Value > 1)
                {
                    Fma2(ref a1, ref b1, wa, wb, x[1]);
                }
                if (TN.Value > 2)
                {
                    Fma2(ref a2, ref b2, wa, wb, x[2]);
                    Fma2(ref a3, ref b3, wa, wb, x[3]);
                }
                if (TN.Value > 4)
                {
                    Fma2(ref a4, ref b4, wa, wb, x[4]);
                    Fma2(ref a5, ref b5, wa, wb, x[5]);
                }
                w += step;
                x += stride;
            }
            Store2<TW>(a0, b0, y);
            if (TN.Value > 1)
            {
                Store2<TW>(a1, b1, y + rows);
            }
            if (TN.Value > 2)
            {
                Store2<TW>(a2, b2, y + 2L * rows);
                Store2<TW>(a3, b3, y + 3L * rows);
            }
            if (TN.Value > 4)
            {
                Store2<TW>(a4, b4, y + 4L * rows);
                Store2<TW>(a5, b5, y + 5L * rows);
            }
        }
    }

    /// <summary>
    /// One token against a whole tile (decode): four accumulators, rows 0..7 to 24..31, so four
    /// fma chains run side by side and the loop streams weights instead of waiting on latency.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Token256<TW>(byte* w, float* x, int cols, float* y)
        where TW : struct, ITileWeights
    {
        Vector256<float> a = default, b = default, c = default, d = default;
        nint step = TileRows * TW.ElementBytes;
        nint eighth = 8 * TW.ElementBytes;
        for (nint k = 0; k < cols; k++)
        {
            Vector256<float> xv = Vector256.Create(x[k]);
            a = Vector256.FusedMultiplyAdd(TW.Load8(w), xv, a);
            b = Vector256.FusedMultiplyAdd(TW.Load8(w + eighth), xv, b);
            c = Vector256.FusedMultiplyAdd(TW.Load8(w + 2 * eighth), xv, c);
            d = Vector256.FusedMultiplyAdd(TW.Load8(w + 3 * eighth), xv, d);
            w += step;
        }
        Store2<TW>(a, b, y);
        Store2<TW>(c, d, y + 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Fma2(ref Vector256<float> a, ref Vector256<float> b, Vector256<float> wa, Vector256<float> wb, float x)
    {
        Vector256<float> xv = Vector256.Create(x);
        a = Vector256.FusedMultiplyAdd(wa, xv, a);
        b = Vector256.FusedMultiplyAdd(wb, xv, b);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store2<TW>(Vector256<float> a, Vector256<float> b, float* y)
        where TW : struct, ITileWeights
    {
        Store<TW>(a, y);
        Store<TW>(b, y + 8);
    }
}
