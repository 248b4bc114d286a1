using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

using Cria.Numerics.Kernels.Dot;
using Cria.Numerics.Quants;

namespace Cria.Numerics.Kernels;

/// <summary>
/// One kv head's keys or values for a block of cache positions, as the float rows
/// <see cref="AttentionBlock"/> reads: dst [count, headDim] gets the row of position first + i at
/// row i. f32 rows are copied, fp16 and Q8_0 rows converted exactly — once per block, for every
/// query head of a grouped-query group, so the arithmetic reads floats from L1 instead of
/// converting again per head. <c>cache</c> points at this head's rows, <c>stride</c> bytes apart;
/// <c>rows</c> maps positions to cache rows (a paged cache), or is null when position p is row p.
/// </summary>
internal static unsafe class AttentionRows
{
    /// <summary>The cache row of position p: rows[p] (a paged cache), or p itself when rows is null.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nint Row(int* rows, nint p) => rows == null ? p : rows[p];

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void CopyF32(byte* cache, long stride, int* rows, int first, int count, int headDim, float* dst)
    {
        for (int i = 0; i < count; i++)
        {
            new ReadOnlySpan<float>(cache + Row(rows, first + i) * stride, headDim).CopyTo(new Span<float>(dst + (long)i * headDim, headDim));
        }
    }

    /// <summary>fp16 rows widened as <see cref="Simd.WidenHalves"/> does (exact, subnormals included), then rescaled.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WidenF16(byte* cache, long stride, int* rows, int first, int count, int headDim, float* dst)
    {
        for (int i = 0; i < count; i++)
        {
            ushort* src = (ushort*)(cache + Row(rows, first + i) * stride);
            float* x = dst + (long)i * headDim;
            nint d = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                Vector512<float> rebias = Vector512.Create(Simd.HalfRebias);
                for (; d + 16 <= headDim; d += 16)
                {
                    Vector512<int> w = Avx512F.ConvertToVector512Int32(Vector256.Load((short*)src + d));
                    ((Vector512.ShiftLeft(w, 13) & Vector512.Create(unchecked((int)0x8FFFE000))).AsSingle() * rebias).Store(x + d);
                }
            }
            if (Avx2.IsSupported)
            {
                Vector256<float> rebias = Vector256.Create(Simd.HalfRebias);
                for (; d + 8 <= headDim; d += 8)
                {
                    (Simd.WidenHalves(src + d) * rebias).Store(x + d);
                }
            }
            float[] table = Fp16Table.Values;
            for (; d < headDim; d++)
            {
                x[d] = table[src[d]];
            }
        }
    }

    /// <summary>Q8_0 rows (ggml's blocks: fp16 scale d, 32 int8 q; x = d·q, exact in float); headDim is a multiple of 32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DequantizeQ8_0(byte* cache, long stride, int* rows, int first, int count, int headDim, float* dst)
    {
        int blocks = headDim / BlockQ8_0.BlockSize;
        for (int i = 0; i < count; i++)
        {
            byte* src = cache + Row(rows, first + i) * stride;
            float* x = dst + (long)i * headDim;
            for (int b = 0; b < blocks; b++, src += BlockQ8_0.TypeSize, x += BlockQ8_0.BlockSize)
            {
                float d = Simd.HalfToSingle(*(ushort*)src);
                sbyte* q = (sbyte*)(src + 2);
                if (Vector512.IsHardwareAccelerated)
                {
                    Vector512<float> vd = Vector512.Create(d);
                    (Vector512.ConvertToSingle(Avx512F.ConvertToVector512Int32(Vector128.Load(q))) * vd).Store(x);
                    (Vector512.ConvertToSingle(Avx512F.ConvertToVector512Int32(Vector128.Load(q + 16))) * vd).Store(x + 16);
                }
                else if (Avx2.IsSupported)
                {
                    Vector256<float> vd = Vector256.Create(d);
                    for (int j = 0; j < 32; j += 8)
                    {
                        (Vector256.ConvertToSingle(Avx2.ConvertToVector256Int32(q + j)) * vd).Store(x + j);
                    }
                }
                else
                {
                    for (int j = 0; j < 32; j++)
                    {
                        x[j] = q[j] * d;
                    }
                }
            }
        }
    }
}
