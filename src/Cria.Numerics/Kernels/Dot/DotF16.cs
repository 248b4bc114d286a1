using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Numerics.Kernels.Dot;

/// <summary>
/// Dot products of fp16 and bf16 weight rows with float activations. fp16 is widened without
/// F16C (which .NET does not expose): sign-extend to 32 bits, shift left 13 and keep the sign and
/// the 15 exponent+mantissa bits; that float is the weight × 2^−112 (subnormals included), so the
/// sum is rescaled once at the end. bf16 is the upper half of a float32.
/// </summary>
internal static unsafe class DotF16
{
    private const float Rebias = 5.192296858534828e33f; // 2^112

    public static float ScalarF16(ushort* w, float* x, int n)
    {
        float[] table = Fp16Table.Values;
        float acc = 0f;
        for (int i = 0; i < n; i++)
        {
            acc += table[w[i]] * x[i];
        }
        return acc;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float RunF16(ushort* w, float* x, int n)
    {
        if (!Avx2.IsSupported)
        {
            return ScalarF16(w, x, n);
        }
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
        nint i = 0;
        for (; i + 16 <= n; i += 16)
        {
            Vector256<float> w0 = Simd.WidenHalves(w + i);
            Vector256<float> w1 = Simd.WidenHalves(w + i + 8);
            acc0 = Fma.IsSupported ? Fma.MultiplyAdd(w0, Vector256.Load(x + i), acc0) : acc0 + w0 * Vector256.Load(x + i);
            acc1 = Fma.IsSupported ? Fma.MultiplyAdd(w1, Vector256.Load(x + i + 8), acc1) : acc1 + w1 * Vector256.Load(x + i + 8);
        }
        float sum = Vector256.Sum(acc0 + acc1) * Rebias;
        float[] table = Fp16Table.Values;
        for (; i < n; i++)
        {
            sum += table[w[i]] * x[i];
        }
        return sum;
    }

    /// <summary>o += a · v for an fp16 vector v (the value accumulation of attention over an fp16 cache).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AxpyF16(ushort* v, float a, float* o, int n)
    {
        nint i = 0;
        if (Avx2.IsSupported)
        {
            Vector256<float> va = Vector256.Create(a * Rebias);
            for (; i + 8 <= n; i += 8)
            {
                Vector256<float> w = Simd.WidenHalves(v + i);
                Vector256<float> acc = Vector256.Load(o + i);
                (Fma.IsSupported ? Fma.MultiplyAdd(w, va, acc) : acc + w * va).Store(o + i);
            }
        }
        float[] table = Fp16Table.Values;
        for (; i < n; i++)
        {
            o[i] += a * table[v[i]];
        }
    }

    public static float ScalarBF16(ushort* w, float* x, int n)
    {
        float acc = 0f;
        for (int i = 0; i < n; i++)
        {
            acc += BitConverter.Int32BitsToSingle(w[i] << 16) * x[i];
        }
        return acc;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float RunBF16(ushort* w, float* x, int n)
    {
        if (!Avx2.IsSupported)
        {
            return ScalarBF16(w, x, n);
        }
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
        nint i = 0;
        for (; i + 16 <= n; i += 16)
        {
            Vector256<float> w0 = Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(w + i), 16).AsSingle();
            Vector256<float> w1 = Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(w + i + 8), 16).AsSingle();
            acc0 = Fma.IsSupported ? Fma.MultiplyAdd(w0, Vector256.Load(x + i), acc0) : acc0 + w0 * Vector256.Load(x + i);
            acc1 = Fma.IsSupported ? Fma.MultiplyAdd(w1, Vector256.Load(x + i + 8), acc1) : acc1 + w1 * Vector256.Load(x + i + 8);
        }
        float sum = Vector256.Sum(acc0 + acc1);
        for (; i < n; i++)
        {
            sum += BitConverter.Int32BitsToSingle(w[i] << 16) * x[i];
        }
        return sum;
    }
}
