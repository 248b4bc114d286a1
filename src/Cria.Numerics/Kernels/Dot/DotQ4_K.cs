using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Numerics.Kernels.Dot;

/// <summary>
/// Dot product of a Q4_K weight row with a Q8_K activation row. A Q4_K super-block (256 values)
/// has fp16 d and dmin, 12 bytes packing eight 6-bit (scale, min) pairs, and 128 bytes of nibbles:
/// for chunk j (0..3) the low nibbles of bytes 32j..32j+31 are values 64j..64j+31 (sub-block 2j)
/// and the high nibbles values 64j+32..64j+63 (sub-block 2j+1). value = d·sc·q − dmin·m, so
///   Σ = dx·(d·Σ_s sc_s·Σ_i q_i·x_i − dmin·Σ_s m_s·Σ_i x_i),
/// the second sum coming from the activation's 16-element block sums.
/// </summary>
internal static unsafe class DotQ4_K
{
    public const int TypeSize = 144;

    private static void ScaleMin(byte* scales, int j, out int sc, out int m)
    {
        if (j < 4)
        {
            sc = scales[j] & 63;
            m = scales[j + 4] & 63;
        }
        else
        {
            sc = (scales[j + 4] & 0xF) | ((scales[j - 4] >> 6) << 4);
            m = (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4);
        }
    }

    public static float Scalar(byte* w, sbyte* xq, float* xd, short* bsums, int superBlocks)
    {
        float[] table = Fp16Table.Values;
        float acc = 0f;
        for (int b = 0; b < superBlocks; b++)
        {
            byte* blk = w + b * TypeSize;
            float d = table[*(ushort*)blk] * xd[b];
            float dmin = table[*(ushort*)(blk + 2)] * xd[b];
            byte* qs = blk + 16;
            sbyte* q = xq + b * 256;
            int sumQ = 0, sumM = 0;
            for (int j = 0; j < 8; j++)
            {
                ScaleMin(blk + 4, j, out int sc, out int m);
                int s = 0;
                for (int i = 0; i < 32; i++)
                {
                    int nib = (j & 1) == 0 ? qs[32 * (j / 2) + i] & 0xF : qs[32 * (j / 2) + i] >> 4;
                    s += nib * q[32 * j + i];
                }
                sumQ += sc * s;
                sumM += m * (bsums[b * 16 + 2 * j] + bsums[b * 16 + 2 * j + 1]);
            }
            acc += d * sumQ - dmin * sumM;
        }
        return acc;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Run(byte* w, sbyte* xq, float* xd, short* bsums, int superBlocks) =>
        Avx2.IsSupported ? Avx2Path(w, xq, xd, bsums, superBlocks)
        : Vector128.IsHardwareAccelerated ? Portable(w, xq, xd, bsums, superBlocks)
        : Scalar(w, xq, xd, bsums, superBlocks);

    /// <summary>Vector128 (ARM64 NEON, SSE): 16 values per step, one horizontal sum per super-block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float Portable(byte* w, sbyte* xq, float* xd, short* bsums, int superBlocks)
    {
        float[] table = Fp16Table.Values;
        Vector128<byte> mask = Vector128.Create((byte)0x0F);
        float acc = 0f;
        for (nint b = 0; b < superBlocks; b++)
        {
            byte* blk = w + b * TypeSize;
            byte* qs = blk + 16;
            sbyte* q = xq + b * 256;
            short* bs = bsums + b * 16;
            Vector128<int> isum = Vector128<int>.Zero;
            int sumM = 0;
            for (int j = 0; j < 4; j++)
            {
                ScaleMin(blk + 4, 2 * j, out int sc0, out int m0);
                ScaleMin(blk + 4, 2 * j + 1, out int sc1, out int m1);
                sumM += m0 * (bs[4 * j] + bs[4 * j + 1]) + m1 * (bs[4 * j + 2] + bs[4 * j + 3]);
                Vector128<int> s0 = Vector128<int>.Zero, s1 = Vector128<int>.Zero;
                for (int h = 0; h < 32; h += 16)
                {
                    Vector128<byte> raw = Vector128.Load(qs + 32 * j + h);
                    s0 = Int8Dot.Accumulate(s0, (raw & mask).AsSByte(), Vector128.Load(q + 64 * j + h));
                    s1 = Int8Dot.Accumulate(s1, (Vector128.ShiftRightLogical(raw.AsUInt16(), 4).AsByte() & mask).AsSByte(), Vector128.Load(q + 64 * j + 32 + h));
                }
                isum += s0 * sc0 + s1 * sc1;
            }
            acc += table[*(ushort*)blk] * xd[b] * Vector128.Sum(isum) - table[*(ushort*)(blk + 2)] * xd[b] * sumM;
        }
        return acc;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Avx2Path(byte* w, sbyte* xq, float* xd, short* bsums, int superBlocks)
    {
        fixed (float* table = Fp16Table.Values)
        {
            Vector256<float> acc = Vector256<float>.Zero;
            Vector256<byte> mask = Vector256.Create((byte)0x0F);
            float mins = 0f;
            for (nint b = 0; b < superBlocks; b++)
            {
                byte* blk = w + b * TypeSize;
                float d = table[*(ushort*)blk] * xd[b];
                float dmin = table[*(ushort*)(blk + 2)] * xd[b];
                byte* scales = blk + 4;
                byte* qs = blk + 16;
                sbyte* q = xq + b * 256;
                short* bs = bsums + b * 16;
                Vector256<int> isum = Vector256<int>.Zero;
                int sumM = 0;
                for (int j = 0; j < 4; j++)
                {
                    ScaleMin(scales, 2 * j, out int sc0, out int m0);
                    ScaleMin(scales, 2 * j + 1, out int sc1, out int m1);
                    sumM += m0 * (bs[4 * j] + bs[4 * j + 1]) + m1 * (bs[4 * j + 2] + bs[4 * j + 3]);
                    Vector256<byte> raw = Vector256.Load(qs + 32 * j);
                    Vector256<byte> lo = raw & mask;
                    Vector256<byte> hi = Avx2.ShiftRightLogical(raw.AsUInt16(), 4).AsByte() & mask;
                    Vector256<short> p0 = Avx2.MultiplyAddAdjacent(lo, Vector256.Load(q + 64 * j));
                    Vector256<short> p1 = Avx2.MultiplyAddAdjacent(hi, Vector256.Load(q + 64 * j + 32));
                    isum += Avx2.MultiplyAddAdjacent(p0, Vector256.Create((short)sc0));
                    isum += Avx2.MultiplyAddAdjacent(p1, Vector256.Create((short)sc1));
                }
                acc = Fma.IsSupported
                    ? Fma.MultiplyAdd(Avx.ConvertToVector256Single(isum), Vector256.Create(d), acc)
                    : acc + Avx.ConvertToVector256Single(isum) * d;
                mins += dmin * sumM;
            }
            return Vector256.Sum(acc) - mins;
        }
    }
}
