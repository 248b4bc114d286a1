using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Cria.Numerics.Kernels;

/// <summary>
/// The register-blocked inner loop of the training matmuls: c [rows, width] += a [rows, k] · b [k, width]
/// for up to four rows of a at a time, with row strides <c>lda</c>, <c>ldb</c>, <c>ldc</c>. Four rows ×
/// four vectors of c stay in registers while k runs (Vector512: 16 accumulators of 32 registers;
/// Vector256: four rows × two vectors, so AVX2's 16 registers do not spill); the tail columns are
/// scalar. <see cref="Reference"/> is the scalar floor the tests compare it with.
/// </summary>
public static unsafe class PanelGemm
{
    /// <summary>c [rows, width] += a [rows, k] · b [k, width].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(float* a, int lda, float* b, int ldb, float* c, int ldc, int rows, int k, int width)
    {
        int t = 0;
        for (; t + 4 <= rows; t += 4)
        {
            Rows4(a + (long)t * lda, lda, b, ldb, c + (long)t * ldc, ldc, k, width);
        }
        for (; t < rows; t++)
        {
            Rows1(a + (long)t * lda, b, ldb, c + (long)t * ldc, k, width);
        }
    }

    /// <summary>The scalar reference of <see cref="Run"/> (double accumulation is not used: the same float sums in k order).</summary>
    public static void Reference(ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, int rows, int k, int width)
    {
        for (int t = 0; t < rows; t++)
        {
            for (int j = 0; j < width; j++)
            {
                float s = c[t * ldc + j];
                for (int i = 0; i < k; i++)
                {
                    s = MathF.FusedMultiplyAdd(a[t * lda + i], b[i * ldb + j], s);
                }
                c[t * ldc + j] = s;
            }
        }
    }

    private static void Rows4(float* a, int lda, float* b, int ldb, float* c, int ldc, int k, int width)
    {
        float* a0 = a;
        float* a1 = a + lda;
        float* a2 = a + 2L * lda;
        float* a3 = a + 3L * lda;
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; j + 64 <= width; j += 64)
            {
                Block4x64(a0, a1, a2, a3, b + j, ldb, c + j, ldc, k);
            }
            for (; j + 16 <= width; j += 16)
            {
                Block4x16(a0, a1, a2, a3, b + j, ldb, c + j, ldc, k);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; j + 16 <= width; j += 16)
            {
                Block4x16v256(a0, a1, a2, a3, b + j, ldb, c + j, ldc, k);
            }
        }
        for (; j < width; j++)
        {
            float s0 = c[j], s1 = c[ldc + j], s2 = c[2L * ldc + j], s3 = c[3L * ldc + j];
            for (int i = 0; i < k; i++)
            {
                float bv = b[(long)i * ldb + j];
                s0 = MathF.FusedMultiplyAdd(a0[i], bv, s0);
                s1 = MathF.FusedMultiplyAdd(a1[i], bv, s1);
                s2 = MathF.FusedMultiplyAdd(a2[i], bv, s2);
                s3 = MathF.FusedMultiplyAdd(a3[i], bv, s3);
            }
            c[j] = s0;
            c[ldc + j] = s1;
            c[2L * ldc + j] = s2;
            c[3L * ldc + j] = s3;
        }
    }

    private static void Rows1(float* a, float* b, int ldb, float* c, int k, int width)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j + 32 <= width; j += 32)
            {
                Vector256<float> s0 = Vector256.Load(c + j), s1 = Vector256.Load(c + j + 8);
                Vector256<float> s2 = Vector256.Load(c + j + 16), s3 = Vector256.Load(c + j + 24);
                for (int i = 0; i < k; i++)
                {
                    float* bi = b + (long)i * ldb + j;
                    Vector256<float> av = Vector256.Create(a[i]);
                    s0 = Vector256.FusedMultiplyAdd(av, Vector256.Load(bi), s0);
                    s1 = Vector256.FusedMultiplyAdd(av, Vector256.Load(bi + 8), s1);
                    s2 = Vector256.FusedMultiplyAdd(av, Vector256.Load(bi + 16), s2);
                    s3 = Vector256.FusedMultiplyAdd(av, Vector256.Load(bi + 24), s3);
                }
                s0.Store(c + j);
                s1.Store(c + j + 8);
                s2.Store(c + j + 16);
                s3.Store(c + j + 24);
            }
        }
        for (; j < width; j++)
        {
            float s = c[j];
            for (int i = 0; i < k; i++)
            {
                s = MathF.FusedMultiplyAdd(a[i], b[(long)i * ldb + j], s);
            }
            c[j] = s;
        }
    }

    private static void Block4x64(float* a0, float* a1, float* a2, float* a3, float* b, int ldb, float* c, int ldc, int k)
    {
        float* c1 = c + ldc;
        float* c2 = c + 2L * ldc;
        float* c3 = c + 3L * ldc;
        Vector512<float> s00 = Vector512.Load(c), s01 = Vector512.Load(c + 16), s02 = Vector512.Load(c + 32), s03 = Vector512.Load(c + 48);
        Vector512<float> s10 = Vector512.Load(c1), s11 = Vector512.Load(c1 + 16), s12 = Vector512.Load(c1 + 32), s13 = Vector512.Load(c1 + 48);
        Vector512<float> s20 = Vector512.Load(c2), s21 = Vector512.Load(c2 + 16), s22 = Vector512.Load(c2 + 32), s23 = Vector512.Load(c2 + 48);
        Vector512<float> s30 = Vector512.Load(c3), s31 = Vector512.Load(c3 + 16), s32 = Vector512.Load(c3 + 32), s33 = Vector512.Load(c3 + 48);
        for (int i = 0; i < k; i++)
        {
            float* bi = b + (long)i * ldb;
            Vector512<float> b0 = Vector512.Load(bi), b1 = Vector512.Load(bi + 16), b2 = Vector512.Load(bi + 32), b3 = Vector512.Load(bi + 48);
            Vector512<float> v = Vector512.Create(a0[i]);
            s00 = Vector512.FusedMultiplyAdd(v, b0, s00);
            s01 = Vector512.FusedMultiplyAdd(v, b1, s01);
            s02 = Vector512.FusedMultiplyAdd(v, b2, s02);
            s03 = Vector512.FusedMultiplyAdd(v, b3, s03);
            v = Vector512.Create(a1[i]);
            s10 = Vector512.FusedMultiplyAdd(v, b0, s10);
            s11 = Vector512.FusedMultiplyAdd(v, b1, s11);
            s12 = Vector512.FusedMultiplyAdd(v, b2, s12);
            s13 = Vector512.FusedMultiplyAdd(v, b3, s13);
            v = Vector512.Create(a2[i]);
            s20 = Vector512.FusedMultiplyAdd(v, b0, s20);
            s21 = Vector512.FusedMultiplyAdd(v, b1, s21);
            s22 = Vector512.FusedMultiplyAdd(v, b2, s22);
            s23 = Vector512.FusedMultiplyAdd(v, b3, s23);
            v = Vector512.Create(a3[i]);
            s30 = Vector512.FusedMultiplyAdd(v, b0, s30);
            s31 = Vector512.FusedMultiplyAdd(v, b1, s31);
            s32 = Vector512.FusedMultiplyAdd(v, b2, s32);
            s33 = Vector512.FusedMultiplyAdd(v, b3, s33);
        }
        s00.Store(c); s01.Store(c + 16); s02.Store(c + 32); s03.Store(c + 48);
        s10.Store(c1); s11.Store(c1 + 16); s12.Store(c1 + 32); s13.Store(c1 + 48);
        s20.Store(c2); s21.Store(c2 + 16); s22.Store(c2 + 32); s23.Store(c2 + 48);
        s30.Store(c3); s31.Store(c3 + 16); s32.Store(c3 + 32); s33.Store(c3 + 48);
    }

    private static void Block4x16(float* a0, float* a1, float* a2, float* a3, float* b, int ldb, float* c, int ldc, int k)
    {
        Vector512<float> s0 = Vector512.Load(c), s1 = Vector512.Load(c + ldc), s2 = Vector512.Load(c + 2L * ldc), s3 = Vector512.Load(c + 3L * ldc);
        for (int i = 0; i < k; i++)
        {
            Vector512<float> bv = Vector512.Load(b + (long)i * ldb);
            s0 = Vector512.FusedMultiplyAdd(Vector512.Create(a0[i]), bv, s0);
            s1 = Vector512.FusedMultiplyAdd(Vector512.Create(a1[i]), bv, s1);
            s2 = Vector512.FusedMultiplyAdd(Vector512.Create(a2[i]), bv, s2);
            s3 = Vector512.FusedMultiplyAdd(Vector512.Create(a3[i]), bv, s3);
        }
        s0.Store(c);
        s1.Store(c + ldc);
        s2.Store(c + 2L * ldc);
        s3.Store(c + 3L * ldc);
    }

    private static void Block4x16v256(float* a0, float* a1, float* a2, float* a3, float* b, int ldb, float* c, int ldc, int k)
    {
        float* c1 = c + ldc;
        float* c2 = c + 2L * ldc;
        float* c3 = c + 3L * ldc;
        Vector256<float> s00 = Vector256.Load(c), s01 = Vector256.Load(c + 8);
        Vector256<float> s10 = Vector256.Load(c1), s11 = Vector256.Load(c1 + 8);
        Vector256<float> s20 = Vector256.Load(c2), s21 = Vector256.Load(c2 + 8);
        Vector256<float> s30 = Vector256.Load(c3), s31 = Vector256.Load(c3 + 8);
        for (int i = 0; i < k; i++)
        {
            float* bi = b + (long)i * ldb;
            Vector256<float> b0 = Vector256.Load(bi), b1 = Vector256.Load(bi + 8);
            Vector256<float> v = Vector256.Create(a0[i]);
            s00 = Vector256.FusedMultiplyAdd(v, b0, s00);
            s01 = Vector256.FusedMultiplyAdd(v, b1, s01);
            v = Vector256.Create(a1[i]);
            s10 = Vector256.FusedMultiplyAdd(v, b0, s10);
            s11 = Vector256.FusedMultiplyAdd(v, b1, s11);
            v = Vector256.Create(a2[i]);
            s20 = Vector256.FusedMultiplyAdd(v, b0, s20);
            s21 = Vector256.FusedMultiplyAdd(v, b1, s21);
            v = Vector256.Create(a3[i]);
            s30 = Vector256.FusedMultiplyAdd(v, b0, s30);
            s31 = Vector256.FusedMultiplyAdd(v, b1, s31);
        }
        s00.Store(c); s01.Store(c + 8);
        s10.Store(c1); s11.Store(c1 + 8);
        s20.Store(c2); s21.Store(c2 + 8);
        s30.Store(c3); s31.Store(c3 + 8);
    }
}
