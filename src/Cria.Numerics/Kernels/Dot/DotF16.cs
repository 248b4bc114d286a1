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
    /// The summation order is exactly <see cref="RunF16"/>'s, so a token's result does not depend
    /// on how the prompt was batched.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunF16x4(ushort* w, float* x, long stride, int n, out float r0, out float r1, out float r2, out float r3)
    {
        if (!Avx2.IsSupported)
        {
            r0 = RunF16(w, x, n);
            r1 = RunF16(w, x + stride, n);
            r2 = RunF16(w, x + 2 * stride, n);
            r3 = RunF16(w, x + 3 * stride, n);
            return;
        }
        Rows4 rows = default;
        nint i = Body(ref rows, w, x, stride, n, half: true);
        float[] table = Fp16Table.Values;
        rows.Finish(Rebias, out r0, out r1, out r2, out r3);
        for (; i < n; i++)
        {
            float wf = table[w[i]];
            r0 += wf * x[i];
            r1 += wf * x[stride + i];
            r2 += wf * x[2 * stride + i];
            r3 += wf * x[3 * stride + i];
        }
    }

    /// <summary>One bf16 row against four activation rows, in <see cref="RunBF16"/>'s summation order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunBF16x4(ushort* w, float* x, long stride, int n, out float r0, out float r1, out float r2, out float r3)
    {
        if (!Avx2.IsSupported)
        {
            r0 = RunBF16(w, x, n);
            r1 = RunBF16(w, x + stride, n);
            r2 = RunBF16(w, x + 2 * stride, n);
            r3 = RunBF16(w, x + 3 * stride, n);
            return;
        }
        Rows4 rows = default;
        nint i = Body(ref rows, w, x, stride, n, half: false);
        rows.Finish(1f, out r0, out r1, out r2, out r3);
        for (; i < n; i++)
        {
            float wf = BitConverter.Int32BitsToSingle(w[i] << 16);
            r0 += wf * x[i];
            r1 += wf * x[stride + i];
            r2 += wf * x[2 * stride + i];
            r3 += wf * x[3 * stride + i];
        }
    }

    /// <summary>An f32 row against one activation row: two accumulators over 16 values, then the tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float RunF32(float* w, float* x, int n)
    {
        nint i = 0;
        float sum = 0f;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
            for (; i + 16 <= n; i += 16)
            {
                acc0 = Vector256.FusedMultiplyAdd(Vector256.Load(w + i), Vector256.Load(x + i), acc0);
                acc1 = Vector256.FusedMultiplyAdd(Vector256.Load(w + i + 8), Vector256.Load(x + i + 8), acc1);
            }
            sum = Vector256.Sum(acc0 + acc1);
        }
        for (; i < n; i++)
        {
            sum += w[i] * x[i];
        }
        return sum;
    }

    /// <summary>One f32 row against four activation rows, in <see cref="RunF32"/>'s summation order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunF32x4(float* w, float* x, long stride, int n, out float r0, out float r1, out float r2, out float r3)
    {
        if (!Vector256.IsHardwareAccelerated)
        {
            r0 = RunF32(w, x, n);
            r1 = RunF32(w, x + stride, n);
            r2 = RunF32(w, x + 2 * stride, n);
            r3 = RunF32(w, x + 3 * stride, n);
            return;
        }
        Rows4 rows = default;
        float* x1 = x + stride, x2 = x + 2 * stride, x3 = x + 3 * stride;
        nint i = 0;
        for (; i + 16 <= n; i += 16)
        {
            Vector256<float> wa = Vector256.Load(w + i), wb = Vector256.Load(w + i + 8);
            rows.Add(wa, wb, x + i, x1 + i, x2 + i, x3 + i);
        }
        rows.Finish(1f, out r0, out r1, out r2, out r3);
        for (; i < n; i++)
        {
            r0 += w[i] * x[i];
            r1 += w[i] * x1[i];
            r2 += w[i] * x2[i];
            r3 += w[i] * x3[i];
        }
    }

    /// <summary>The 16-value-step loop of the half-precision x4 kernels (fp16 or bf16 weights).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static nint Body(ref Rows4 rows, ushort* w, float* x, long stride, int n, bool half)
    {
        float* x1 = x + stride, x2 = x + 2 * stride, x3 = x + 3 * stride;
        nint i = 0;
        for (; i + 16 <= n; i += 16)
        {
            Vector256<float> wa = half ? Simd.WidenHalves(w + i) : Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(w + i), 16).AsSingle();
            Vector256<float> wb = half ? Simd.WidenHalves(w + i + 8) : Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(w + i + 8), 16).AsSingle();
            rows.Add(wa, wb, x + i, x1 + i, x2 + i, x3 + i);
        }
        return i;
    }

    /// <summary>Two accumulators per activation row, as the single-row kernels keep them.</summary>
    private struct Rows4
    {
        private Vector256<float> _a0, _b0, _a1, _b1, _a2, _b2, _a3, _b3;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add(Vector256<float> wa, Vector256<float> wb, float* x0, float* x1, float* x2, float* x3)
        {
            _a0 = Vector256.FusedMultiplyAdd(wa, Vector256.Load(x0), _a0);
            _b0 = Vector256.FusedMultiplyAdd(wb, Vector256.Load(x0 + 8), _b0);
            _a1 = Vector256.FusedMultiplyAdd(wa, Vector256.Load(x1), _a1);
            _b1 = Vector256.FusedMultiplyAdd(wb, Vector256.Load(x1 + 8), _b1);
            _a2 = Vector256.FusedMultiplyAdd(wa, Vector256.Load(x2), _a2);
            _b2 = Vector256.FusedMultiplyAdd(wb, Vector256.Load(x2 + 8), _b2);
            _a3 = Vector256.FusedMultiplyAdd(wa, Vector256.Load(x3), _a3);
            _b3 = Vector256.FusedMultiplyAdd(wb, Vector256.Load(x3 + 8), _b3);
        }

        public readonly void Finish(float scale, out float r0, out float r1, out float r2, out float r3)
        {
            r0 = Vector256.Sum(_a0 + _b0) * scale;
            r1 = Vector256.Sum(_a1 + _b1) * scale;
            r2 = Vector256.Sum(_a2 + _b2) * scale;
            r3 = Vector256.Sum(_a3 + _b3) * scale;
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
