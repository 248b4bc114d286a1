using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Cria.Numerics.Kernels.Dot;
using Cria.Numerics.Quants;

namespace Cria.Numerics.Kernels;

/// <summary>
/// One kv head's keys or values for a block of cache positions, as float rows the attention
/// arithmetic reads: an f32 cache is pointed at in place; fp16 and Q8_0 rows are widened once
/// into scratch [count, headDim], so every query head of a grouped-query group (and every score and
/// weighted sum of the block) reads floats from L1 instead of converting again.
/// <c>dst[i]</c> receives the row of position <c>first + i</c>; <c>rows</c> maps positions to cache
/// rows (a paged cache), or is null when position p is row p.
/// </summary>
internal static unsafe class AttentionRows
{
    /// <summary>The cache row of position p: rows[p] (a paged cache), or p itself when rows is null.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nint Row(int* rows, nint p) => rows == null ? p : rows[p];

    /// <param name="cache">The cache at this kv head's first value; rows <paramref name="stride"/> floats apart.</param>
    public static void PointF32(float* cache, long stride, int* rows, int first, int count, float** dst)
    {
        for (int i = 0; i < count; i++)
        {
            dst[i] = cache + Row(rows, first + i) * stride;
        }
    }

    /// <param name="cache">The cache at this kv head's first value; rows <paramref name="stride"/> halves apart.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WidenF16(ushort* cache, long stride, int* rows, int first, int count, int headDim, float* scratch, float** dst)
    {
        for (int i = 0; i < count; i++)
        {
            ushort* src = cache + Row(rows, first + i) * stride;
            float* x = scratch + (long)i * headDim;
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
            dst[i] = x;
        }
    }

    /// <summary>Q8_0 rows (ggml's blocks: fp16 scale d, 32 int8 q; x = d·q); headDim is a multiple of 32.</summary>
    /// <param name="cache">The cache at this kv head's first block; rows <paramref name="stride"/> bytes apart.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DequantizeQ8_0(byte* cache, long stride, int* rows, int first, int count, int headDim, float* scratch, float** dst)
    {
        int blocks = headDim / BlockQ8_0.BlockSize;
        for (int i = 0; i < count; i++)
        {
            byte* src = cache + Row(rows, first + i) * stride;
            float* x = scratch + (long)i * headDim;
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
            dst[i] = scratch + (long)i * headDim;
        }
    }
}
