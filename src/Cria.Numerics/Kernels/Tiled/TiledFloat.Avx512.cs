using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Cria.Numerics.Kernels.Tiled;

/// <summary>The AVX-512 kernel of <see cref="TiledFloat"/>: a whole 32-row tile (two vectors) × up to 12 tokens.</summary>
internal static unsafe partial class TiledFloat
{
    /// <summary>
    /// y[j, 0..32) for tokens j &lt; TN of a panel with `stride` tokens per column: per column, two
    /// widened weight vectors and TN broadcast activations feed 2·TN FMAs into 2·TN accumulators
    /// (a = rows 0..15, b = rows 16..31), all held in registers.
    /// </summary>
    private readonly struct Avx512Kernel : ITileKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void Run<TW, TN>(byte* w, float* x, nint stride, int cols, float* y, int rows)
            where TW : struct, ITileWeights
            where TN : struct, ITokenCount
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default;
            Vector512<float> a6 = default, a7 = default, a8 = default, a9 = default, a10 = default, a11 = default;
            Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default;
            Vector512<float> b6 = default, b7 = default, b8 = default, b9 = default, b10 = default, b11 = default;
            nint step = TileRows * TW.ElementBytes;
            nint half = 16 * TW.ElementBytes;
            for (nint c = 0; c < cols; c++)
            {
                Vector512<float> wa = TW.Load16(w), wb = TW.Load16(w + half);
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
                    Fma2(ref a6, ref b6, wa, wb, x[6]);
                    Fma2(ref a7, ref b7, wa, wb, x[7]);
                }
                if (TN.Value > 8)
                {
                    Fma2(ref a8, ref b8, wa, wb, x[8]);
                    Fma2(ref a9, ref b9, wa, wb, x[9]);
                    Fma2(ref a10, ref b10, wa, wb, x[10]);
                    Fma2(ref a11, ref b11, wa, wb, x[11]);
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
                Store2<TW>(a6, b6, y + 6L * rows);
                Store2<TW>(a7, b7, y + 7L * rows);
            }
            if (TN.Value > 8)
            {
                Store2<TW>(a8, b8, y + 8L * rows);
                Store2<TW>(a9, b9, y + 9L * rows);
                Store2<TW>(a10, b10, y + 10L * rows);
                Store2<TW>(a11, b11, y + 11L * rows);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Fma2(ref Vector512<float> a, ref Vector512<float> b, Vector512<float> wa, Vector512<float> wb, float x)
    {
        Vector512<float> xv = Vector512.Create(x);
        a = Vector512.FusedMultiplyAdd(wa, xv, a);
        b = Vector512.FusedMultiplyAdd(wb, xv, b);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store2<TW>(Vector512<float> a, Vector512<float> b, float* y)
        where TW : struct, ITileWeights
    {
        Store<TW>(a, y);
        Store<TW>(b, y + 16);
    }
}
