using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Numerics.Kernels.Dot;

/// <summary>
/// Dot product of a Q4_0 weight row with a Q8 activation row. A Q4_0 block is an fp16 scale d
/// and 16 bytes of nibbles: byte j holds element j (low nibble) and element j+16 (high nibble),
/// each meaning (nibble − 8)·d. With activation blocks x = dx·q:
///   Σ_blocks d·dx·(Σ_i nib_i·q_i − 8·Σ_i q_i),
/// so the integer part multiplies unsigned nibbles by signed int8 (maddubs / VNNI dpbusd take
/// exactly that) and the −8 offset is one multiply by the block's precomputed quant sum.
/// </summary>
internal static unsafe class DotQ4_0
{
    public const int TypeSize = 18;

    /// <summary>Plain scalar reference.</summary>
    public static float Scalar(byte* w, sbyte* xq, float* xd, int* xsum, int blocks)
    {
        float[] table = Fp16Table.Values;
        float acc = 0f;
        for (int b = 0; b < blocks; b++)
        {
            byte* blk = w + b * TypeSize;
            float d = table[*(ushort*)blk];
            sbyte* q = xq + b * 32;
            int s = 0;
            for (int j = 0; j < 16; j++)
            {
                s += (blk[2 + j] & 0x0F) * q[j] + (blk[2 + j] >> 4) * q[j + 16];
            }
            acc += d * xd[b] * (s - 8 * xsum[b]);
        }
        return acc;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Run(byte* w, sbyte* xq, float* xd, int* xsum, int blocks)
    {
        if (Avx2.IsSupported)
        {
            return Avx2Path(w, xq, xd, xsum, blocks);
        }
        if (Vector128.IsHardwareAccelerated)
        {
            return Portable(w, xq, xd, xsum, blocks);
        }
        return Scalar(w, xq, xd, xsum, blocks);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Avx2Path(byte* w, sbyte* xq, float* xd, int* xsum, int blocks)
    {
        fixed (float* table = Fp16Table.Values)
        {
            Vector256<float> acc = Vector256<float>.Zero;
            Vector128<byte> mask = Vector128.Create((byte)0x0F);
            Vector256<short> ones = Vector256.Create((short)1);
            float corr = 0f;
            for (nint b = 0; b < blocks; b++)
            {
                byte* blk = w + b * TypeSize;
                float scale = table[*(ushort*)blk] * xd[b];
                Vector128<byte> raw = Vector128.Load(blk + 2);
                Vector256<byte> nib = Vector256.Create(raw & mask, Vector128.ShiftRightLogical(raw.AsUInt16(), 4).AsByte() & mask);
                Vector256<sbyte> q = Vector256.Load(xq + b * 32);
                Vector256<int> dot;
                if (AvxVnni.IsSupported)
                {
                    dot = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, nib, q);
                }
                else
                {
                    dot = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(nib, q), ones);
                }
                acc = Fma.IsSupported
                    ? Fma.MultiplyAdd(Avx.ConvertToVector256Single(dot), Vector256.Create(scale), acc)
                    : acc + Avx.ConvertToVector256Single(dot) * scale;
                corr += scale * 8 * xsum[b];
            }
            return Vector256.Sum(acc) - corr;
        }
    }

    private static float Portable(byte* w, sbyte* xq, float* xd, int* xsum, int blocks)
    {
        float[] table = Fp16Table.Values;
        float acc = 0f;
        Vector128<byte> mask = Vector128.Create((byte)0x0F);
        for (int b = 0; b < blocks; b++)
        {
            byte* blk = w + b * TypeSize;
            Vector128<byte> raw = Vector128.Load(blk + 2);
            Vector128<sbyte> lo = (raw & mask).AsSByte();
            Vector128<sbyte> hi = (Vector128.ShiftRightLogical(raw.AsUInt16(), 4).AsByte() & mask).AsSByte();
            int s = Int8Dot.Portable16(lo, Vector128.Load(xq + b * 32)) + Int8Dot.Portable16(hi, Vector128.Load(xq + b * 32 + 16));
            acc += table[*(ushort*)blk] * xd[b] * (s - 8 * xsum[b]);
        }
        return acc;
    }
}
