using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Numerics.Kernels.Dot;

/// <summary>
/// Dot product of a Q8_0 weight row (fp16 d + 32 int8 per block) with a Q8 activation row:
/// Σ_blocks d·dx·Σ_i w_i·q_i. Both operands are signed, so the AVX2 path uses the usual
/// sign transfer (|w| · sign(q, w)) to feed the unsigned×signed multiply.
/// </summary>
internal static unsafe class DotQ8_0
{
    public const int TypeSize = 34;

    public static float Scalar(byte* w, sbyte* xq, float* xd, int blocks)
    {
        float[] table = Fp16Table.Values;
        float acc = 0f;
        for (int b = 0; b < blocks; b++)
        {
            byte* blk = w + b * TypeSize;
            sbyte* wq = (sbyte*)(blk + 2);
            sbyte* q = xq + b * 32;
            int s = 0;
            for (int j = 0; j < 32; j++)
            {
                s += wq[j] * q[j];
            }
            acc += table[*(ushort*)blk] * xd[b] * s;
        }
        return acc;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Run(byte* w, sbyte* xq, float* xd, int blocks)
    {
        if (Avx2.IsSupported)
        {
            return Avx2Path(w, xq, xd, blocks);
        }
        if (Vector128.IsHardwareAccelerated)
        {
            return Portable(w, xq, xd, blocks);
        }
        return Scalar(w, xq, xd, blocks);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Avx2Path(byte* w, sbyte* xq, float* xd, int blocks)
    {
        fixed (float* table = Fp16Table.Values)
        {
            Vector256<float> acc = Vector256<float>.Zero;
            Vector256<short> ones = Vector256.Create((short)1);
            for (nint b = 0; b < blocks; b++)
            {
                byte* blk = w + b * TypeSize;
                float scale = table[*(ushort*)blk] * xd[b];
                Vector256<sbyte> wv = Vector256.Load((sbyte*)(blk + 2));
                Vector256<sbyte> q = Vector256.Load(xq + b * 32);
                Vector256<byte> aw = Avx2.Abs(wv);
                Vector256<sbyte> sq = Avx2.Sign(q, wv);
                Vector256<int> dot = AvxVnni.IsSupported
                    ? AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, aw, sq)
                    : Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(aw, sq), ones);
                acc = Fma.IsSupported
                    ? Fma.MultiplyAdd(Avx.ConvertToVector256Single(dot), Vector256.Create(scale), acc)
                    : acc + Avx.ConvertToVector256Single(dot) * scale;
            }
            return Vector256.Sum(acc);
        }
    }

    private static float Portable(byte* w, sbyte* xq, float* xd, int blocks)
    {
        float[] table = Fp16Table.Values;
        float acc = 0f;
        for (int b = 0; b < blocks; b++)
        {
            byte* blk = w + b * TypeSize;
            int s = Int8Dot.Portable16(Vector128.Load((sbyte*)(blk + 2)), Vector128.Load(xq + b * 32))
                + Int8Dot.Portable16(Vector128.Load((sbyte*)(blk + 18)), Vector128.Load(xq + b * 32 + 16));
            acc += table[*(ushort*)blk] * xd[b] * s;
        }
        return acc;
    }
}
