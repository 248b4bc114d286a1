using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Numerics.Kernels;

/// <summary>
/// The two inner loops of attention over an fp16 cache, for head sizes that are a multiple of 32:
/// q·k for every cached position (q stays in L1, one horizontal sum per key), and Σ_p a_p·v_p with
/// the output kept in registers across all positions (32 dims at a time), instead of a load and
/// store of the output per position. fp16 is widened as in <c>DotF16</c> (×2^-112, rescaled once).
/// </summary>
internal static unsafe class AttentionRows
{

    public static bool Supported(int headDim) => Avx2.IsSupported && Fma.IsSupported && headDim % 32 == 0;

    /// <summary>The cache row of position p: rows[p] (a paged cache), or p itself when rows is null.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nint Row(int* rows, nint p) => rows == null ? p : rows[p];

    /// <summary>scores[p] = scale · q·k_p for p in [0, length); key rows at stride kvDim, row of p from <paramref name="rows"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Scores(float* q, ushort* keys, long kvDim, int* rows, int length, int headDim, float scale, float* scores)
    {
        float s = scale * Simd.HalfRebias;
        for (nint p = 0; p < length; p++)
        {
            ushort* k = keys + Row(rows, p) * kvDim;
            Vector256<float> a0 = Vector256<float>.Zero, a1 = Vector256<float>.Zero;
            for (nint d = 0; d < headDim; d += 32)
            {
                a0 = Fma.MultiplyAdd(Simd.WidenHalves(k + d), Vector256.Load(q + d), a0);
                a1 = Fma.MultiplyAdd(Simd.WidenHalves(k + d + 8), Vector256.Load(q + d + 8), a1);
                a0 = Fma.MultiplyAdd(Simd.WidenHalves(k + d + 16), Vector256.Load(q + d + 16), a0);
                a1 = Fma.MultiplyAdd(Simd.WidenHalves(k + d + 24), Vector256.Load(q + d + 24), a1);
            }
            scores[p] = Vector256.Sum(a0 + a1) * s;
        }
    }

    /// <summary>out = Σ_p weights[p] · v_p; values at stride kvDim.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Mix(float* weights, ushort* values, long kvDim, int* rows, int length, int headDim, float* output)
    {
        for (nint d = 0; d < headDim; d += 32)
        {
            Vector256<float> o0 = Vector256<float>.Zero, o1 = Vector256<float>.Zero, o2 = Vector256<float>.Zero, o3 = Vector256<float>.Zero;
            ushort* v = values + d;
            for (nint p = 0; p < length; p++)
            {
                Vector256<float> a = Vector256.Create(weights[p]);
                ushort* vp = v + Row(rows, p) * kvDim;
                o0 = Fma.MultiplyAdd(Simd.WidenHalves(vp), a, o0);
                o1 = Fma.MultiplyAdd(Simd.WidenHalves(vp + 8), a, o1);
                o2 = Fma.MultiplyAdd(Simd.WidenHalves(vp + 16), a, o2);
                o3 = Fma.MultiplyAdd(Simd.WidenHalves(vp + 24), a, o3);
            }
            Vector256<float> r = Vector256.Create(Simd.HalfRebias);
            (o0 * r).Store(output + d);
            (o1 * r).Store(output + d + 8);
            (o2 * r).Store(output + d + 16);
            (o3 * r).Store(output + d + 24);
        }
    }

    /// <summary>
    /// Scores of four query heads against the same fp16 keys: each key chunk is widened once and
    /// feeds four dot products (grouped-query attention shares keys across a group of heads).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Scores4(float* q0, float* q1, float* q2, float* q3, ushort* keys, long kvDim, int* rows, int length, int headDim, float scale,
        float* s0, float* s1, float* s2, float* s3)
    {
        float sc = scale * Simd.HalfRebias;
        for (nint p = 0; p < length; p++)
        {
            ushort* k = keys + Row(rows, p) * kvDim;
            Vector256<float> a0 = Vector256<float>.Zero, a1 = Vector256<float>.Zero, a2 = Vector256<float>.Zero, a3 = Vector256<float>.Zero;
            for (nint d = 0; d < headDim; d += 16)
            {
                Vector256<float> k0 = Simd.WidenHalves(k + d);
                Vector256<float> k1 = Simd.WidenHalves(k + d + 8);
                a0 = Fma.MultiplyAdd(k0, Vector256.Load(q0 + d), Fma.MultiplyAdd(k1, Vector256.Load(q0 + d + 8), a0));
                a1 = Fma.MultiplyAdd(k0, Vector256.Load(q1 + d), Fma.MultiplyAdd(k1, Vector256.Load(q1 + d + 8), a1));
                a2 = Fma.MultiplyAdd(k0, Vector256.Load(q2 + d), Fma.MultiplyAdd(k1, Vector256.Load(q2 + d + 8), a2));
                a3 = Fma.MultiplyAdd(k0, Vector256.Load(q3 + d), Fma.MultiplyAdd(k1, Vector256.Load(q3 + d + 8), a3));
            }
            s0[p] = Vector256.Sum(a0) * sc;
            s1[p] = Vector256.Sum(a1) * sc;
            s2[p] = Vector256.Sum(a2) * sc;
            s3[p] = Vector256.Sum(a3) * sc;
        }
    }

    /// <summary>Two heads' weighted sums over the same fp16 values; each value chunk is widened once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Mix2(float* w0, float* w1, ushort* values, long kvDim, int* rows, int length, int headDim, float* out0, float* out1)
    {
        for (nint d = 0; d < headDim; d += 16)
        {
            Vector256<float> a0 = Vector256<float>.Zero, a1 = Vector256<float>.Zero, b0 = Vector256<float>.Zero, b1 = Vector256<float>.Zero;
            ushort* v = values + d;
            for (nint p = 0; p < length; p++)
            {
                ushort* vp = v + Row(rows, p) * kvDim;
                Vector256<float> v0 = Simd.WidenHalves(vp);
                Vector256<float> v1 = Simd.WidenHalves(vp + 8);
                Vector256<float> x = Vector256.Create(w0[p]);
                Vector256<float> y = Vector256.Create(w1[p]);
                a0 = Fma.MultiplyAdd(v0, x, a0);
                a1 = Fma.MultiplyAdd(v1, x, a1);
                b0 = Fma.MultiplyAdd(v0, y, b0);
                b1 = Fma.MultiplyAdd(v1, y, b1);
            }
            Vector256<float> r = Vector256.Create(Simd.HalfRebias);
            (a0 * r).Store(out0 + d);
            (a1 * r).Store(out0 + d + 8);
            (b0 * r).Store(out1 + d);
            (b1 * r).Store(out1 + d + 8);
        }
    }
}
