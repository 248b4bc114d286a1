using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Numerics.Kernels;

/// <summary>
/// The arithmetic of attention for one query head over one block of cache positions (float rows,
/// see <see cref="AttentionRows"/>), in the blocked form of FlashAttention (Dao et al. 2022) with
/// the online softmax of Milakov and Gimelshein (2018): scores of the block, their exponentials
/// against the running maximum, and the weighted sum of the block's values added to a running
/// output that is rescaled whenever the maximum grows. Scores, weights and the output stay in L1
/// however long the context is.
/// <para>
/// Scores take eight positions at a time: eight dot products accumulate in eight vector registers
/// along the head dimension and are reduced together by a transposing tree of horizontal adds (one
/// reduction per eight keys, not one per key). The weighted sum keeps a slice of the output in
/// registers across the block's positions. Each result depends only on its own query, key and
/// value rows and on fixed block boundaries, so it does not depend on how tokens were batched.
/// </para>
/// </summary>
internal static unsafe class AttentionBlock
{
    /// <summary>Positions per block (the KV pool's default block size, so a block is one run of a paged cache).</summary>
    public const int Size = 32;

    /// <summary>
    /// s[j] = scale · q·k_j for j in [0, count) (and up to the next multiple of eight, where the
    /// caller points k at a row of zeros). k holds row pointers, each headDim floats.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Scores(float* q, float** k, int count, int headDim, float scale, float* s)
    {
        if (Vector512.IsHardwareAccelerated && headDim % 16 == 0)
        {
            for (nint j = 0; j < count; j += 8)
            {
                float* k0 = k[j], k1 = k[j + 1], k2 = k[j + 2], k3 = k[j + 3], k4 = k[j + 4], k5 = k[j + 5], k6 = k[j + 6], k7 = k[j + 7];
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                for (nint d = 0; d < headDim; d += 16)
                {
                    Vector512<float> x = Vector512.Load(q + d);
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Load(k0 + d), x, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Load(k1 + d), x, a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.Load(k2 + d), x, a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.Load(k3 + d), x, a3);
                    a4 = Vector512.FusedMultiplyAdd(Vector512.Load(k4 + d), x, a4);
                    a5 = Vector512.FusedMultiplyAdd(Vector512.Load(k5 + d), x, a5);
                    a6 = Vector512.FusedMultiplyAdd(Vector512.Load(k6 + d), x, a6);
                    a7 = Vector512.FusedMultiplyAdd(Vector512.Load(k7 + d), x, a7);
                }
                (Sum8(Fold(a0), Fold(a1), Fold(a2), Fold(a3), Fold(a4), Fold(a5), Fold(a6), Fold(a7)) * scale).Store(s + j);
            }
        }
        else if (Vector256.IsHardwareAccelerated && headDim % 8 == 0)
        {
            for (nint j = 0; j < count; j += 8)
            {
                float* k0 = k[j], k1 = k[j + 1], k2 = k[j + 2], k3 = k[j + 3], k4 = k[j + 4], k5 = k[j + 5], k6 = k[j + 6], k7 = k[j + 7];
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                for (nint d = 0; d < headDim; d += 8)
                {
                    Vector256<float> x = Vector256.Load(q + d);
                    a0 = Vector256.FusedMultiplyAdd(Vector256.Load(k0 + d), x, a0);
                    a1 = Vector256.FusedMultiplyAdd(Vector256.Load(k1 + d), x, a1);
                    a2 = Vector256.FusedMultiplyAdd(Vector256.Load(k2 + d), x, a2);
                    a3 = Vector256.FusedMultiplyAdd(Vector256.Load(k3 + d), x, a3);
                    a4 = Vector256.FusedMultiplyAdd(Vector256.Load(k4 + d), x, a4);
                    a5 = Vector256.FusedMultiplyAdd(Vector256.Load(k5 + d), x, a5);
                    a6 = Vector256.FusedMultiplyAdd(Vector256.Load(k6 + d), x, a6);
                    a7 = Vector256.FusedMultiplyAdd(Vector256.Load(k7 + d), x, a7);
                }
                (Sum8(a0, a1, a2, a3, a4, a5, a6, a7) * scale).Store(s + j);
            }
        }
        else
        {
            var qh = new ReadOnlySpan<float>(q, headDim);
            for (int j = 0; j < count; j++)
            {
                s[j] = TensorPrimitives.Dot(qh, new ReadOnlySpan<float>(k[j], headDim)) * scale;
            }
        }
    }

    /// <summary>
    /// Folds a block's scores s[0, count) into one head's running softmax: s becomes
    /// exp(s − m′) with m′ = max(<paramref name="max"/>, the block's maximum), <paramref name="sum"/>
    /// becomes sum·c + Σ s, and c = exp(m − m′) is returned (0 on the first block): the factor the
    /// running output must be scaled by before this block's values are added.
    /// </summary>
    public static float Update(float* s, int count, ref float max, ref float sum)
    {
        var x = new Span<float>(s, count);
        float m = MathF.Max(max, TensorPrimitives.Max(x));
        TensorPrimitives.Subtract(x, m, x);
        TensorPrimitives.Exp(x, x);
        float c = max == float.NegativeInfinity ? 0f : MathF.Exp(max - m);
        sum = sum * c + TensorPrimitives.Sum(x);
        max = m;
        return c;
    }

    /// <summary>acc = c·acc + Σ_{j &lt; count} w[j]·v_j over headDim floats; v holds row pointers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Mix(float* w, float** v, int count, int headDim, float c, float* acc)
    {
        nint d = 0;
        if (Vector512.IsHardwareAccelerated && headDim % 16 == 0)
        {
            for (; d + 64 <= headDim; d += 64)
            {
                Vector512<float> o0 = Vector512.Load(acc + d) * c, o1 = Vector512.Load(acc + d + 16) * c;
                Vector512<float> o2 = Vector512.Load(acc + d + 32) * c, o3 = Vector512.Load(acc + d + 48) * c;
                for (nint j = 0; j < count; j++)
                {
                    float* vj = v[j] + d;
                    Vector512<float> a = Vector512.Create(w[j]);
                    o0 = Vector512.FusedMultiplyAdd(Vector512.Load(vj), a, o0);
                    o1 = Vector512.FusedMultiplyAdd(Vector512.Load(vj + 16), a, o1);
                    o2 = Vector512.FusedMultiplyAdd(Vector512.Load(vj + 32), a, o2);
                    o3 = Vector512.FusedMultiplyAdd(Vector512.Load(vj + 48), a, o3);
                }
                o0.Store(acc + d);
                o1.Store(acc + d + 16);
                o2.Store(acc + d + 32);
                o3.Store(acc + d + 48);
            }
            for (; d < headDim; d += 16)
            {
                Vector512<float> o = Vector512.Load(acc + d) * c;
                for (nint j = 0; j < count; j++)
                {
                    o = Vector512.FusedMultiplyAdd(Vector512.Load(v[j] + d), Vector512.Create(w[j]), o);
                }
                o.Store(acc + d);
            }
        }
        else if (Vector256.IsHardwareAccelerated && headDim % 8 == 0)
        {
            for (; d + 32 <= headDim; d += 32)
            {
                Vector256<float> o0 = Vector256.Load(acc + d) * c, o1 = Vector256.Load(acc + d + 8) * c;
                Vector256<float> o2 = Vector256.Load(acc + d + 16) * c, o3 = Vector256.Load(acc + d + 24) * c;
                for (nint j = 0; j < count; j++)
                {
                    float* vj = v[j] + d;
                    Vector256<float> a = Vector256.Create(w[j]);
                    o0 = Vector256.FusedMultiplyAdd(Vector256.Load(vj), a, o0);
                    o1 = Vector256.FusedMultiplyAdd(Vector256.Load(vj + 8), a, o1);
                    o2 = Vector256.FusedMultiplyAdd(Vector256.Load(vj + 16), a, o2);
                    o3 = Vector256.FusedMultiplyAdd(Vector256.Load(vj + 24), a, o3);
                }
                o0.Store(acc + d);
                o1.Store(acc + d + 8);
                o2.Store(acc + d + 16);
                o3.Store(acc + d + 24);
            }
            for (; d < headDim; d += 8)
            {
                Vector256<float> o = Vector256.Load(acc + d) * c;
                for (nint j = 0; j < count; j++)
                {
                    o = Vector256.FusedMultiplyAdd(Vector256.Load(v[j] + d), Vector256.Create(w[j]), o);
                }
                o.Store(acc + d);
            }
        }
        else
        {
            var o = new Span<float>(acc, headDim);
            TensorPrimitives.Multiply(o, c, o);
            for (int j = 0; j < count; j++)
            {
                TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(v[j], headDim), w[j], o, o);
            }
        }
    }

    /// <summary>The two 256-bit halves of a 512-bit accumulator added.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fold(Vector512<float> a) => a.GetLower() + a.GetUpper();

    /// <summary>[Σa0, Σa1, …, Σa7]: the lane sums of eight vectors by a tree of horizontal adds (a transpose and reduce in one).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Sum8(Vector256<float> a0, Vector256<float> a1, Vector256<float> a2, Vector256<float> a3,
        Vector256<float> a4, Vector256<float> a5, Vector256<float> a6, Vector256<float> a7)
    {
        // Per 128-bit lane: h0123 = [Σa0, Σa1, Σa2, Σa3] of that lane's four values, likewise h4567.
        Vector256<float> h0123 = Avx.HorizontalAdd(Avx.HorizontalAdd(a0, a1), Avx.HorizontalAdd(a2, a3));
        Vector256<float> h4567 = Avx.HorizontalAdd(Avx.HorizontalAdd(a4, a5), Avx.HorizontalAdd(a6, a7));
        // Lower lanes of both plus upper lanes of both.
        return Avx.Permute2x128(h0123, h4567, 0x20) + Avx.Permute2x128(h0123, h4567, 0x31);
    }
}
