using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Numerics.Kernels;

/// <summary>
/// The arithmetic of attention for query heads over one block of cache positions (keys and values
/// as float rows [count, headDim], see <see cref="AttentionRows"/>), in the blocked form of
/// FlashAttention (Dao et al. 2022) with the online softmax of Milakov and Gimelshein (2018):
/// scores of the block, their exponentials against the running maximum, and the weighted sum of
/// the block's values added to a running output that is rescaled whenever the maximum grows.
/// Scores, weights and outputs stay in L1 however long the context is.
/// <para>
/// Scores take eight positions at a time: eight dot products accumulate in eight vector registers
/// along the head dimension and are reduced together by a transposing tree of horizontal adds (one
/// reduction per eight keys, not one per key); with 512-bit vectors two heads of a group share the
/// registers (eight dimensions of each), which halves the reduction again. The weighted sum keeps
/// a slice of the output in registers across the block's positions, with eight independent FMA
/// chains. Each result depends only on its own query, key and value rows and on fixed block
/// boundaries, so it does not depend on how tokens were batched.
/// </para>
/// </summary>
internal static unsafe class AttentionBlock
{
    /// <summary>Positions per block (the KV pool's default block size, so a block is one run of a paged cache).</summary>
    public const int Size = 32;

    /// <summary>Whether <see cref="Scores2"/> runs on this machine for this head size (else score heads one at a time).</summary>
    public static bool Paired(int headDim) => Vector512.IsHardwareAccelerated && Avx512DQ.IsSupported && headDim % 8 == 0;

    /// <summary>
    /// s[j] = scale · q·k_j for j in [0, count). k holds [count rounded up to 8, headDim] floats:
    /// scores go eight at a time, and those past count are garbage the caller ignores.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Scores(float* q, float* k, int count, int headDim, float scale, float* s)
    {
        if (Vector512.IsHardwareAccelerated && headDim % 16 == 0)
        {
            for (nint j = 0; j < count; j += 8)
            {
                float* k0 = k + j * headDim, k1 = k0 + headDim, k2 = k1 + headDim, k3 = k2 + headDim;
                float* k4 = k3 + headDim, k5 = k4 + headDim, k6 = k5 + headDim, k7 = k6 + headDim;
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
                float* k0 = k + j * headDim, k1 = k0 + headDim, k2 = k1 + headDim, k3 = k2 + headDim;
                float* k4 = k3 + headDim, k5 = k4 + headDim, k6 = k5 + headDim, k7 = k6 + headDim;
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
                s[j] = TensorPrimitives.Dot(qh, new ReadOnlySpan<float>(k + (long)j * headDim, headDim)) * scale;
            }
        }
    }

    /// <summary>q2 = two heads' queries interleaved eight dimensions at a time, [q0[0..8), q1[0..8), q0[8..16), …], for <see cref="Scores2"/>.</summary>
    public static void Interleave(float* q0, float* q1, int headDim, float* q2)
    {
        for (int d = 0; d < headDim; d += 8)
        {
            Buffer.MemoryCopy(q0 + d, q2 + 2 * d, 32, 32);
            Buffer.MemoryCopy(q1 + d, q2 + 2 * d + 8, 32, 32);
        }
    }

    /// <summary>
    /// <see cref="Scores"/> of two heads (queries interleaved by <see cref="Interleave"/>) at once:
    /// a register holds eight dimensions of a key, broadcast to both halves, times eight of each
    /// head, so one reduction tree sums eight positions of both heads. Only where <see cref="Paired"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Scores2(float* q2, float* k, int count, int headDim, float scale, float* s0, float* s1)
    {
        for (nint j = 0; j < count; j += 8)
        {
            float* k0 = k + j * headDim, k1 = k0 + headDim, k2 = k1 + headDim, k3 = k2 + headDim;
            float* k4 = k3 + headDim, k5 = k4 + headDim, k6 = k5 + headDim, k7 = k6 + headDim;
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (nint d = 0; d < headDim; d += 8)
            {
                Vector512<float> x = Vector512.Load(q2 + 2 * d);
                a0 = Vector512.FusedMultiplyAdd(Avx512DQ.BroadcastVector256ToVector512(k0 + d), x, a0);
                a1 = Vector512.FusedMultiplyAdd(Avx512DQ.BroadcastVector256ToVector512(k1 + d), x, a1);
                a2 = Vector512.FusedMultiplyAdd(Avx512DQ.BroadcastVector256ToVector512(k2 + d), x, a2);
                a3 = Vector512.FusedMultiplyAdd(Avx512DQ.BroadcastVector256ToVector512(k3 + d), x, a3);
                a4 = Vector512.FusedMultiplyAdd(Avx512DQ.BroadcastVector256ToVector512(k4 + d), x, a4);
                a5 = Vector512.FusedMultiplyAdd(Avx512DQ.BroadcastVector256ToVector512(k5 + d), x, a5);
                a6 = Vector512.FusedMultiplyAdd(Avx512DQ.BroadcastVector256ToVector512(k6 + d), x, a6);
                a7 = Vector512.FusedMultiplyAdd(Avx512DQ.BroadcastVector256ToVector512(k7 + d), x, a7);
            }
            // a_i = [head 0: eight partial sums | head 1: eight] of position j + i. Per 128-bit lane,
            // h0123 = [Σa0, Σa1, Σa2, Σa3] of that lane's four partials, likewise h4567.
            Vector512<float> h0123 = HorizontalAdd(HorizontalAdd(a0, a1), HorizontalAdd(a2, a3));
            Vector512<float> h4567 = HorizontalAdd(HorizontalAdd(a4, a5), HorizontalAdd(a6, a7));
            // Lanes 0+1 are head 0, 2+3 head 1: z = [head 0 of 0-3, head 1 of 0-3, head 0 of 4-7, head 1 of 4-7].
            Vector512<float> z = Avx512F.Shuffle4x128(h0123, h4567, 0b10_00_10_00) + Avx512F.Shuffle4x128(h0123, h4567, 0b11_01_11_01);
            z = Avx512F.Shuffle4x128(z, z, 0b11_01_10_00) * scale;
            z.GetLower().Store(s0 + j);
            z.GetUpper().Store(s1 + j);
        }
    }

    /// <summary>
    /// Folds a block's scores s[0, count) into one head's running softmax: s becomes
    /// exp(s − m′) with m′ = max(<paramref name="max"/>, the block's maximum), <paramref name="sum"/>
    /// becomes sum·c + Σ s, and c = exp(m − m′) is returned (0 on the first block): the factor the
    /// running output must be scaled by before this block's values are added. s has room for a
    /// whole block; the vector paths fill it past count with −∞ (weight 0) and work on all of it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Update(float* s, int count, ref float max, ref float sum)
    {
        float m, total;
        if (Vector256.IsHardwareAccelerated)
        {
            for (int j = count; j < Size; j++)
            {
                s[j] = float.NegativeInfinity;
            }
            Vector256<float> s0 = Vector256.Load(s), s1 = Vector256.Load(s + 8), s2 = Vector256.Load(s + 16), s3 = Vector256.Load(s + 24);
            float top = Max(Vector256.MaxNative(Vector256.MaxNative(s0, s1), Vector256.MaxNative(s2, s3)));
            m = top > max ? top : max;
            Vector256<float> e;
            if (Vector512.IsHardwareAccelerated)
            {
                Vector512<float> vm = Vector512.Create(m);
                // From the registers, not memory: the scores were just stored 256 bits at a time, and a
                // 512-bit load across two such stores would wait for them instead of being forwarded.
                Vector512<float> e0 = Exp(Vector512.Create(s0, s1) - vm), e1 = Exp(Vector512.Create(s2, s3) - vm);
                e0.Store(s);
                e1.Store(s + 16);
                e0 += e1;
                e = e0.GetLower() + e0.GetUpper();
            }
            else
            {
                Vector256<float> vm = Vector256.Create(m);
                Vector256<float> e0 = Exp(s0 - vm), e1 = Exp(s1 - vm), e2 = Exp(s2 - vm), e3 = Exp(s3 - vm);
                e0.Store(s);
                e1.Store(s + 8);
                e2.Store(s + 16);
                e3.Store(s + 24);
                e = (e0 + e1) + (e2 + e3);
            }
            Vector128<float> h = e.GetLower() + e.GetUpper();
            h += Vector128.Shuffle(h, Vector128.Create(2, 3, 0, 1));
            total = h.ToScalar() + h.GetElement(1);
        }
        else
        {
            var x = new Span<float>(s, count);
            m = MathF.Max(max, TensorPrimitives.Max(x));
            TensorPrimitives.Subtract(x, m, x);
            TensorPrimitives.Exp(x, x);
            total = TensorPrimitives.Sum(x);
        }
        float c = m == max ? 1f : max == float.NegativeInfinity ? 0f : MathF.Exp(max - m);
        sum = sum * c + total;
        max = m;
        return c;
    }

    /// <summary>
    /// <see cref="Update"/> of the two heads <see cref="Scores2"/> scored, with both heads in each
    /// 512-bit register ([head 0: 8 | head 1: 8]): one maximum, exponential and sum pass for both,
    /// the rescale factors included. max and sum point at the two heads' running values. Only where
    /// <see cref="Paired"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Update2(float* s0, float* s1, int count, float* max, float* sum, out float c0, out float c1)
    {
        for (int j = count; j < Size; j++)
        {
            s0[j] = s1[j] = float.NegativeInfinity;
        }
        Vector512<float> z0 = Vector512.Create(Vector256.Load(s0), Vector256.Load(s1));
        Vector512<float> z1 = Vector512.Create(Vector256.Load(s0 + 8), Vector256.Load(s1 + 8));
        Vector512<float> z2 = Vector512.Create(Vector256.Load(s0 + 16), Vector256.Load(s1 + 16));
        Vector512<float> z3 = Vector512.Create(Vector256.Load(s0 + 24), Vector256.Load(s1 + 24));
        Vector512<float> old = Vector512.Create(Vector256.Create(max[0]), Vector256.Create(max[1]));
        Vector512<float> m = Vector512.MaxNative(old, HalfMax(Vector512.MaxNative(Vector512.MaxNative(z0, z1), Vector512.MaxNative(z2, z3))));
        Vector512<float> e0 = Exp(z0 - m), e1 = Exp(z1 - m), e2 = Exp(z2 - m), e3 = Exp(z3 - m);
        e0.GetLower().Store(s0);
        e0.GetUpper().Store(s1);
        e1.GetLower().Store(s0 + 8);
        e1.GetUpper().Store(s1 + 8);
        e2.GetLower().Store(s0 + 16);
        e2.GetUpper().Store(s1 + 16);
        e3.GetLower().Store(s0 + 24);
        e3.GetUpper().Store(s1 + 24);
        Vector512<float> c = Exp(old - m);   // 0 on the first block (old = −∞), exactly 1 when the maximum stays
        Vector512<float> l = Vector512.Create(Vector256.Create(sum[0]), Vector256.Create(sum[1])) * c + HalfSum((e0 + e1) + (e2 + e3));
        c0 = c.ToScalar();
        c1 = c.GetElement(8);
        max[0] = m.ToScalar();
        max[1] = m.GetElement(8);
        sum[0] = l.ToScalar();
        sum[1] = l.GetElement(8);
    }

    /// <summary>Each 256-bit half's largest value, in all eight of its lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> HalfMax(Vector512<float> v)
    {
        v = Vector512.MaxNative(v, Avx512F.Permute4x32(v, 0b10_11_00_01));
        v = Vector512.MaxNative(v, Avx512F.Permute4x32(v, 0b01_00_11_10));
        return Vector512.MaxNative(v, Avx512F.Shuffle4x128(v, v, 0b10_11_00_01));
    }

    /// <summary>Each 256-bit half's sum, in all eight of its lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> HalfSum(Vector512<float> v)
    {
        v += Avx512F.Permute4x32(v, 0b10_11_00_01);
        v += Avx512F.Permute4x32(v, 0b01_00_11_10);
        return v + Avx512F.Shuffle4x128(v, v, 0b10_11_00_01);
    }

    /// <summary>The largest of eight floats (no NaN: scores are finite or −∞).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Max(Vector256<float> v)
    {
        Vector128<float> h = Vector128.MaxNative(v.GetLower(), v.GetUpper());
        h = Vector128.MaxNative(h, Vector128.Shuffle(h, Vector128.Create(2, 3, 0, 1)));
        float a = h.ToScalar(), b = h.GetElement(1);
        return a > b ? a : b;
    }

    // exp(x) for x ≤ 0 as Cephes' expf (Moshier 1984): x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in
    // two for an exact reduction), e^r by a degree-6 polynomial, 2^n put into the exponent bits;
    // within 2 ulp. Below −87.3 (including the −∞ of masked positions) the result is 0. Cheaper than
    // Vector512.Exp, which evaluates in double precision.
    private const float Log2E = 1.44269504088896341f, Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f, ExpMin = -87.33654f;
    private const float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f, P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Exp(Vector512<float> x)
    {
        Vector512<float> keep = Vector512.GreaterThanOrEqual(x, Vector512.Create(ExpMin));
        x = Vector512.MaxNative(x, Vector512.Create(ExpMin));
        Vector512<float> n = Vector512.Round(x * Log2E);
        Vector512<float> r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Lo), Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Hi), x));
        Vector512<float> p = Vector512.FusedMultiplyAdd(Vector512.Create(P0), r, Vector512.Create(P1));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P5));
        p = Vector512.FusedMultiplyAdd(p, r * r, r) + Vector512<float>.One;
        Vector512<float> scale = Vector512.ShiftLeft(Vector512.ConvertToInt32Native(n) + Vector512.Create(127), 23).AsSingle();
        return (p * scale) & keep;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Exp(Vector256<float> x)
    {
        Vector256<float> keep = Vector256.GreaterThanOrEqual(x, Vector256.Create(ExpMin));
        x = Vector256.MaxNative(x, Vector256.Create(ExpMin));
        Vector256<float> n = Vector256.Round(x * Log2E);
        Vector256<float> r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Lo), Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Hi), x));
        Vector256<float> p = Vector256.FusedMultiplyAdd(Vector256.Create(P0), r, Vector256.Create(P1));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P2));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P3));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P4));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P5));
        p = Vector256.FusedMultiplyAdd(p, r * r, r) + Vector256<float>.One;
        Vector256<float> scale = Vector256.ShiftLeft(Vector256.ConvertToInt32Native(n) + Vector256.Create(127), 23).AsSingle();
        return (p * scale) & keep;
    }

    /// <summary>
    /// acc = c·acc + Σ_{j &lt; count} w[j]·v_j over headDim floats; v is [count, headDim]. Even and odd
    /// positions accumulate apart and are added at the end: eight independent FMA chains (64 dims ×
    /// 2 with 512-bit vectors, 32 × 2 with 256-bit), enough to hide the FMA latency.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Mix(float* w, float* v, int count, int headDim, float c, float* acc)
    {
        if (Vector512.IsHardwareAccelerated && headDim % 16 == 0)
        {
            nint d = 0;
            for (; d + 64 <= headDim; d += 64)
            {
                Vector512<float> a0 = Vector512.Load(acc + d) * c, a1 = Vector512.Load(acc + d + 16) * c;
                Vector512<float> a2 = Vector512.Load(acc + d + 32) * c, a3 = Vector512.Load(acc + d + 48) * c;
                Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
                nint j = 0;
                for (; j + 2 <= count; j += 2)
                {
                    float* x = v + j * headDim + d, y = x + headDim;
                    Vector512<float> wx = Vector512.Create(w[j]), wy = Vector512.Create(w[j + 1]);
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Load(x), wx, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Load(x + 16), wx, a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.Load(x + 32), wx, a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.Load(x + 48), wx, a3);
                    b0 = Vector512.FusedMultiplyAdd(Vector512.Load(y), wy, b0);
                    b1 = Vector512.FusedMultiplyAdd(Vector512.Load(y + 16), wy, b1);
                    b2 = Vector512.FusedMultiplyAdd(Vector512.Load(y + 32), wy, b2);
                    b3 = Vector512.FusedMultiplyAdd(Vector512.Load(y + 48), wy, b3);
                }
                if (j < count)
                {
                    float* x = v + j * headDim + d;
                    Vector512<float> wx = Vector512.Create(w[j]);
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Load(x), wx, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Load(x + 16), wx, a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.Load(x + 32), wx, a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.Load(x + 48), wx, a3);
                }
                (a0 + b0).Store(acc + d);
                (a1 + b1).Store(acc + d + 16);
                (a2 + b2).Store(acc + d + 32);
                (a3 + b3).Store(acc + d + 48);
            }
            for (; d < headDim; d += 16)
            {
                Vector512<float> a = Vector512.Load(acc + d) * c, b = default;
                nint j = 0;
                for (; j + 2 <= count; j += 2)
                {
                    a = Vector512.FusedMultiplyAdd(Vector512.Load(v + j * headDim + d), Vector512.Create(w[j]), a);
                    b = Vector512.FusedMultiplyAdd(Vector512.Load(v + (j + 1) * headDim + d), Vector512.Create(w[j + 1]), b);
                }
                if (j < count)
                {
                    a = Vector512.FusedMultiplyAdd(Vector512.Load(v + j * headDim + d), Vector512.Create(w[j]), a);
                }
                (a + b).Store(acc + d);
            }
        }
        else if (Vector256.IsHardwareAccelerated && headDim % 8 == 0)
        {
            nint d = 0;
            for (; d + 32 <= headDim; d += 32)
            {
                Vector256<float> a0 = Vector256.Load(acc + d) * c, a1 = Vector256.Load(acc + d + 8) * c;
                Vector256<float> a2 = Vector256.Load(acc + d + 16) * c, a3 = Vector256.Load(acc + d + 24) * c;
                Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
                nint j = 0;
                for (; j + 2 <= count; j += 2)
                {
                    float* x = v + j * headDim + d, y = x + headDim;
                    Vector256<float> wx = Vector256.Create(w[j]), wy = Vector256.Create(w[j + 1]);
                    a0 = Vector256.FusedMultiplyAdd(Vector256.Load(x), wx, a0);
                    a1 = Vector256.FusedMultiplyAdd(Vector256.Load(x + 8), wx, a1);
                    a2 = Vector256.FusedMultiplyAdd(Vector256.Load(x + 16), wx, a2);
                    a3 = Vector256.FusedMultiplyAdd(Vector256.Load(x + 24), wx, a3);
                    b0 = Vector256.FusedMultiplyAdd(Vector256.Load(y), wy, b0);
                    b1 = Vector256.FusedMultiplyAdd(Vector256.Load(y + 8), wy, b1);
                    b2 = Vector256.FusedMultiplyAdd(Vector256.Load(y + 16), wy, b2);
                    b3 = Vector256.FusedMultiplyAdd(Vector256.Load(y + 24), wy, b3);
                }
                if (j < count)
                {
                    float* x = v + j * headDim + d;
                    Vector256<float> wx = Vector256.Create(w[j]);
                    a0 = Vector256.FusedMultiplyAdd(Vector256.Load(x), wx, a0);
                    a1 = Vector256.FusedMultiplyAdd(Vector256.Load(x + 8), wx, a1);
                    a2 = Vector256.FusedMultiplyAdd(Vector256.Load(x + 16), wx, a2);
                    a3 = Vector256.FusedMultiplyAdd(Vector256.Load(x + 24), wx, a3);
                }
                (a0 + b0).Store(acc + d);
                (a1 + b1).Store(acc + d + 8);
                (a2 + b2).Store(acc + d + 16);
                (a3 + b3).Store(acc + d + 24);
            }
            for (; d < headDim; d += 8)
            {
                Vector256<float> a = Vector256.Load(acc + d) * c, b = default;
                nint j = 0;
                for (; j + 2 <= count; j += 2)
                {
                    a = Vector256.FusedMultiplyAdd(Vector256.Load(v + j * headDim + d), Vector256.Create(w[j]), a);
                    b = Vector256.FusedMultiplyAdd(Vector256.Load(v + (j + 1) * headDim + d), Vector256.Create(w[j + 1]), b);
                }
                if (j < count)
                {
                    a = Vector256.FusedMultiplyAdd(Vector256.Load(v + j * headDim + d), Vector256.Create(w[j]), a);
                }
                (a + b).Store(acc + d);
            }
        }
        else
        {
            var o = new Span<float>(acc, headDim);
            TensorPrimitives.Multiply(o, c, o);
            for (int j = 0; j < count; j++)
            {
                TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(v + (long)j * headDim, headDim), w[j], o, o);
            }
        }
    }

    /// <summary>
    /// <see cref="Mix"/> for two heads of a group over the same values: each value vector is loaded
    /// once for both (64 dims × 2 heads with 512-bit vectors, 32 × 2 with 256-bit: eight chains).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Mix2(float* w0, float* w1, float* v, int count, int headDim, float c0, float c1, float* acc0, float* acc1)
    {
        if (Vector512.IsHardwareAccelerated && headDim % 64 == 0)
        {
            for (nint d = 0; d < headDim; d += 64)
            {
                Vector512<float> a0 = Vector512.Load(acc0 + d) * c0, a1 = Vector512.Load(acc0 + d + 16) * c0;
                Vector512<float> a2 = Vector512.Load(acc0 + d + 32) * c0, a3 = Vector512.Load(acc0 + d + 48) * c0;
                Vector512<float> b0 = Vector512.Load(acc1 + d) * c1, b1 = Vector512.Load(acc1 + d + 16) * c1;
                Vector512<float> b2 = Vector512.Load(acc1 + d + 32) * c1, b3 = Vector512.Load(acc1 + d + 48) * c1;
                for (nint j = 0; j < count; j++)
                {
                    float* x = v + j * headDim + d;
                    Vector512<float> x0 = Vector512.Load(x), x1 = Vector512.Load(x + 16), x2 = Vector512.Load(x + 32), x3 = Vector512.Load(x + 48);
                    Vector512<float> wa = Vector512.Create(w0[j]), wb = Vector512.Create(w1[j]);
                    a0 = Vector512.FusedMultiplyAdd(x0, wa, a0);
                    a1 = Vector512.FusedMultiplyAdd(x1, wa, a1);
                    a2 = Vector512.FusedMultiplyAdd(x2, wa, a2);
                    a3 = Vector512.FusedMultiplyAdd(x3, wa, a3);
                    b0 = Vector512.FusedMultiplyAdd(x0, wb, b0);
                    b1 = Vector512.FusedMultiplyAdd(x1, wb, b1);
                    b2 = Vector512.FusedMultiplyAdd(x2, wb, b2);
                    b3 = Vector512.FusedMultiplyAdd(x3, wb, b3);
                }
                a0.Store(acc0 + d);
                a1.Store(acc0 + d + 16);
                a2.Store(acc0 + d + 32);
                a3.Store(acc0 + d + 48);
                b0.Store(acc1 + d);
                b1.Store(acc1 + d + 16);
                b2.Store(acc1 + d + 32);
                b3.Store(acc1 + d + 48);
            }
        }
        else if (Vector256.IsHardwareAccelerated && headDim % 32 == 0)
        {
            for (nint d = 0; d < headDim; d += 32)
            {
                Vector256<float> a0 = Vector256.Load(acc0 + d) * c0, a1 = Vector256.Load(acc0 + d + 8) * c0;
                Vector256<float> a2 = Vector256.Load(acc0 + d + 16) * c0, a3 = Vector256.Load(acc0 + d + 24) * c0;
                Vector256<float> b0 = Vector256.Load(acc1 + d) * c1, b1 = Vector256.Load(acc1 + d + 8) * c1;
                Vector256<float> b2 = Vector256.Load(acc1 + d + 16) * c1, b3 = Vector256.Load(acc1 + d + 24) * c1;
                for (nint j = 0; j < count; j++)
                {
                    float* x = v + j * headDim + d;
                    Vector256<float> x0 = Vector256.Load(x), x1 = Vector256.Load(x + 8), x2 = Vector256.Load(x + 16), x3 = Vector256.Load(x + 24);
                    Vector256<float> wa = Vector256.Create(w0[j]), wb = Vector256.Create(w1[j]);
                    a0 = Vector256.FusedMultiplyAdd(x0, wa, a0);
                    a1 = Vector256.FusedMultiplyAdd(x1, wa, a1);
                    a2 = Vector256.FusedMultiplyAdd(x2, wa, a2);
                    a3 = Vector256.FusedMultiplyAdd(x3, wa, a3);
                    b0 = Vector256.FusedMultiplyAdd(x0, wb, b0);
                    b1 = Vector256.FusedMultiplyAdd(x1, wb, b1);
                    b2 = Vector256.FusedMultiplyAdd(x2, wb, b2);
                    b3 = Vector256.FusedMultiplyAdd(x3, wb, b3);
                }
                a0.Store(acc0 + d);
                a1.Store(acc0 + d + 8);
                a2.Store(acc0 + d + 16);
                a3.Store(acc0 + d + 24);
                b0.Store(acc1 + d);
                b1.Store(acc1 + d + 8);
                b2.Store(acc1 + d + 16);
                b3.Store(acc1 + d + 24);
            }
        }
        else
        {
            Mix(w0, v, count, headDim, c0, acc0);
            Mix(w1, v, count, headDim, c1, acc1);
        }
    }

    /// <summary>The two 256-bit halves of a 512-bit accumulator added.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fold(Vector512<float> a) => a.GetLower() + a.GetUpper();

    /// <summary>Per 128-bit lane, [a0+a1, a2+a3, b0+b1, b2+b3]: vhaddps, which has no 512-bit form.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> HorizontalAdd(Vector512<float> a, Vector512<float> b) =>
        Avx512F.Shuffle(a, b, 0b10_00_10_00) + Avx512F.Shuffle(a, b, 0b11_01_11_01);

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
