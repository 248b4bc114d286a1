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

    /// <summary>
    /// One fp16 row against four activation rows (x, x + stride, …): each widened weight vector
    /// feeds four FMAs, so prefill widens every weight once per four tokens instead of per token.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunF16x4(ushort* w, float* x, long stride, int n, out float r0, out float r1, out float r2, out float r3)
    {
        if (!Avx2.IsSupported || !Fma.IsSupported)
        {
            r0 = ScalarF16(w, x, n);
            r1 = ScalarF16(w, x + stride, n);
            r2 = ScalarF16(w, x + 2 * stride, n);
            r3 = ScalarF16(w, x + 3 * stride, n);
            return;
        }
        float* x1 = x + stride, x2 = x + 2 * stride, x3 = x + 3 * stride;
        Vector256<float> a0 = Vector256<float>.Zero, a1 = Vector256<float>.Zero, a2 = Vector256<float>.Zero, a3 = Vector256<float>.Zero;
        nint i = 0;
        for (; i + 8 <= n; i += 8)
        {
            Vector256<float> wv = Simd.WidenHalves(w + i);
            a0 = Fma.MultiplyAdd(wv, Vector256.Load(x + i), a0);
            a1 = Fma.MultiplyAdd(wv, Vector256.Load(x1 + i), a1);
            a2 = Fma.MultiplyAdd(wv, Vector256.Load(x2 + i), a2);
            a3 = Fma.MultiplyAdd(wv, Vector256.Load(x3 + i), a3);
        }
        r0 = Vector256.Sum(a0) * Rebias;
        r1 = Vector256.Sum(a1) * Rebias;
        r2 = Vector256.Sum(a2) * Rebias;
        r3 = Vector256.Sum(a3) * Rebias;
        float[] table = Fp16Table.Values;
        for (; i < n; i++)
        {
            float wf = table[w[i]];
            r0 += wf * x[i];
            r1 += wf * x1[i];
            r2 += wf * x2[i];
            r3 += wf * x3[i];
        }
    }

    /// <summary>One bf16 row against four activation rows (see <see cref="RunF16x4"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunBF16x4(ushort* w, float* x, long stride, int n, out float r0, out float r1, out float r2, out float r3)
    {
        float* x1 = x + stride, x2 = x + 2 * stride, x3 = x + 3 * stride;
        r0 = r1 = r2 = r3 = 0f;
        nint i = 0;
        if (Avx2.IsSupported && Fma.IsSupported)
        {
            Vector256<float> a0 = Vector256<float>.Zero, a1 = Vector256<float>.Zero, a2 = Vector256<float>.Zero, a3 = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8)
            {
                Vector256<float> wv = Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(w + i), 16).AsSingle();
                a0 = Fma.MultiplyAdd(wv, Vector256.Load(x + i), a0);
                a1 = Fma.MultiplyAdd(wv, Vector256.Load(x1 + i), a1);
                a2 = Fma.MultiplyAdd(wv, Vector256.Load(x2 + i), a2);
                a3 = Fma.MultiplyAdd(wv, Vector256.Load(x3 + i), a3);
            }
            r0 = Vector256.Sum(a0);
            r1 = Vector256.Sum(a1);
            r2 = Vector256.Sum(a2);
            r3 = Vector256.Sum(a3);
        }
        for (; i < n; i++)
        {
            float wf = BitConverter.Int32BitsToSingle(w[i] << 16);
            r0 += wf * x[i];
            r1 += wf * x1[i];
            r2 += wf * x2[i];
            r3 += wf * x3[i];
        }
    }

    /// <summary>One f32 row against four activation rows: each weight load feeds four FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunF32x4(float* w, float* x, long stride, int n, out float r0, out float r1, out float r2, out float r3)
    {
        float* x1 = x + stride, x2 = x + 2 * stride, x3 = x + 3 * stride;
        r0 = r1 = r2 = r3 = 0f;
        nint i = 0;
        if (Fma.IsSupported)
        {
            Vector256<float> a0 = Vector256<float>.Zero, a1 = Vector256<float>.Zero, a2 = Vector256<float>.Zero, a3 = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8)
            {
                Vector256<float> wv = Vector256.Load(w + i);
                a0 = Fma.MultiplyAdd(wv, Vector256.Load(x + i), a0);
                a1 = Fma.MultiplyAdd(wv, Vector256.Load(x1 + i), a1);
                a2 = Fma.MultiplyAdd(wv, Vector256.Load(x2 + i), a2);
                a3 = Fma.MultiplyAdd(wv, Vector256.Load(x3 + i), a3);
            }
            r0 = Vector256.Sum(a0);
            r1 = Vector256.Sum(a1);
            r2 = Vector256.Sum(a2);
            r3 = Vector256.Sum(a3);
        }
        for (; i < n; i++)
        {
            r0 += w[i] * x[i];
            r1 += w[i] * x1[i];
            r2 += w[i] * x2[i];
            r3 += w[i] * x3[i];
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
