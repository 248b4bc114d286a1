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


    /// <summary>scores[p] = scale · q·k_p for p in [0, length); keys at stride kvDim.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Scores(float* q, ushort* keys, long kvDim, int length, int headDim, float scale, float* scores)
    {
        float s = scale * Simd.HalfRebias;
        for (nint p = 0; p < length; p++)
        {
            ushort* k = keys + p * kvDim;
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
    public static void Mix(float* weights, ushort* values, long kvDim, int length, int headDim, float* output)
    {
        for (nint d = 0; d < headDim; d += 32)
        {
            Vector256<float> o0 = Vector256<float>.Zero, o1 = Vector256<float>.Zero, o2 = Vector256<float>.Zero, o3 = Vector256<float>.Zero;
            ushort* v = values + d;
            for (nint p = 0; p < length; p++)
            {
                Vector256<float> a = Vector256.Create(weights[p]);
                ushort* vp = v + p * kvDim;
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

    /// <summary>Rows [0, length) of one kv head (stride kvDim halves) widened to floats, [length, headDim].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Widen(ushort* src, long kvDim, int length, int headDim, float* dst)
    {
        Vector256<float> r = Vector256.Create(Simd.HalfRebias);
        for (nint p = 0; p < length; p++)
        {
            ushort* s = src + p * kvDim;
            float* d = dst + p * headDim;
            for (nint i = 0; i < headDim; i += 8)
            {
                (Simd.WidenHalves(s + i) * r).Store(d + i);
            }
        }
    }

    /// <summary>scores[p] = scale · q·k_p over float keys [length, headDim].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScoresF32(float* q, float* keys, int length, int headDim, float scale, float* scores)
    {
        for (nint p = 0; p < length; p++)
        {
            float* k = keys + p * headDim;
            Vector256<float> a0 = Vector256<float>.Zero, a1 = Vector256<float>.Zero;
            for (nint d = 0; d < headDim; d += 32)
            {
                a0 = Fma.MultiplyAdd(Vector256.Load(k + d), Vector256.Load(q + d), a0);
                a1 = Fma.MultiplyAdd(Vector256.Load(k + d + 8), Vector256.Load(q + d + 8), a1);
                a0 = Fma.MultiplyAdd(Vector256.Load(k + d + 16), Vector256.Load(q + d + 16), a0);
                a1 = Fma.MultiplyAdd(Vector256.Load(k + d + 24), Vector256.Load(q + d + 24), a1);
            }
            scores[p] = Vector256.Sum(a0 + a1) * scale;
        }
    }

    /// <summary>out = Σ_p weights[p] · v_p over float values [length, headDim].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MixF32(float* weights, float* values, int length, int headDim, float* output)
    {
        for (nint d = 0; d < headDim; d += 32)
        {
            Vector256<float> o0 = Vector256<float>.Zero, o1 = Vector256<float>.Zero, o2 = Vector256<float>.Zero, o3 = Vector256<float>.Zero;
            float* v = values + d;
            for (nint p = 0; p < length; p++)
            {
                Vector256<float> a = Vector256.Create(weights[p]);
                float* vp = v + p * headDim;
                o0 = Fma.MultiplyAdd(Vector256.Load(vp), a, o0);
                o1 = Fma.MultiplyAdd(Vector256.Load(vp + 8), a, o1);
                o2 = Fma.MultiplyAdd(Vector256.Load(vp + 16), a, o2);
                o3 = Fma.MultiplyAdd(Vector256.Load(vp + 24), a, o3);
            }
            o0.Store(output + d);
            o1.Store(output + d + 8);
            o2.Store(output + d + 16);
            o3.Store(output + d + 24);
        }
    }
}
