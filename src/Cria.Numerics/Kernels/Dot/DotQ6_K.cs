using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Numerics.Kernels.Dot;

/// <summary>
/// Dot product of a Q6_K weight row with a Q8_K activation row. A Q6_K super-block has 128 bytes
/// of low nibbles (ql), 64 bytes of 2-bit high parts (qh), sixteen int8 scales and fp16 d;
/// value = d·sc·(q6 − 32). For half n (0, 1) and l in 0..31, with L0 = ql[64n+l], L1 = ql[64n+32+l],
/// H = qh[32n+l]: values 128n+l, +32, +64, +96 are L0&amp;15 | (H&amp;3)&lt;&lt;4, L1&amp;15 | (H&gt;&gt;2&amp;3)&lt;&lt;4,
/// L0&gt;&gt;4 | (H&gt;&gt;4&amp;3)&lt;&lt;4, L1&gt;&gt;4 | (H&gt;&gt;6)&lt;&lt;4, each 16 values sharing one scale.
/// The −32 offset is folded in as 32·Σ_s sc_s·bsum_s.
/// </summary>
internal static unsafe class DotQ6_K
{
    public const int TypeSize = 210;

    public static float Scalar(byte* w, sbyte* xq, float* xd, short* bsums, int superBlocks)
    {
        float[] table = Fp16Table.Values;
        float acc = 0f;
        for (int b = 0; b < superBlocks; b++)
        {
            byte* blk = w + b * TypeSize;
            byte* ql = blk;
            byte* qh = blk + 128;
            sbyte* sc = (sbyte*)(blk + 192);
            float d = table[*(ushort*)(blk + 208)] * xd[b];
            sbyte* q = xq + b * 256;
            int total = 0;
            for (int n = 0; n < 2; n++)
            {
                for (int l = 0; l < 32; l++)
                {
                    int h = qh[32 * n + l];
                    int v0 = (ql[64 * n + l] & 15) | ((h & 3) << 4);
                    int v1 = (ql[64 * n + 32 + l] & 15) | (((h >> 2) & 3) << 4);
                    int v2 = (ql[64 * n + l] >> 4) | (((h >> 4) & 3) << 4);
                    int v3 = (ql[64 * n + 32 + l] >> 4) | (((h >> 6) & 3) << 4);
                    int s = 8 * n + l / 16;
                    total += sc[s] * (v0 - 32) * q[128 * n + l]
                        + sc[s + 2] * (v1 - 32) * q[128 * n + 32 + l]
                        + sc[s + 4] * (v2 - 32) * q[128 * n + 64 + l]
                        + sc[s + 6] * (v3 - 32) * q[128 * n + 96 + l];
                }
            }
            acc += d * total;
        }
        _ = bsums;
        return acc;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Run(byte* w, sbyte* xq, float* xd, short* bsums, int superBlocks) =>
        Avx2.IsSupported ? Avx2Path(w, xq, xd, bsums, superBlocks)
        : Vector128.IsHardwareAccelerated ? Portable(w, xq, xd, bsums, superBlocks)
        : Scalar(w, xq, xd, bsums, superBlocks);

    /// <summary>Vector128 (ARM64 NEON, SSE): the four value vectors of 16 positions at a time, one horizontal sum per super-block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float Portable(byte* w, sbyte* xq, float* xd, short* bsums, int superBlocks)
    {
        float[] table = Fp16Table.Values;
        Vector128<byte> m4 = Vector128.Create((byte)0x0F);
        Vector128<byte> m2 = Vector128.Create((byte)0x03);
        float acc = 0f;
        for (nint b = 0; b < superBlocks; b++)
        {
            byte* blk = w + b * TypeSize;
            sbyte* sc = (sbyte*)(blk + 192);
            sbyte* q = xq + b * 256;
            short* bs = bsums + b * 16;
            int offset = 0;
            for (int s = 0; s < 16; s++)
            {
                offset += sc[s] * bs[s];
            }
            Vector128<int> isum = Vector128<int>.Zero;
            for (int n = 0; n < 2; n++)
            {
                for (int h = 0; h < 2; h++)
                {
                    Vector128<byte> l0 = Vector128.Load(blk + 64 * n + 16 * h);
                    Vector128<byte> l1 = Vector128.Load(blk + 64 * n + 32 + 16 * h);
                    Vector128<ushort> hb = Vector128.Load(blk + 128 + 32 * n + 16 * h).AsUInt16();
                    // Two-bit fields are masked before the 16-bit shift, so no bit crosses into the next byte.
                    Vector128<byte> va = (l0 & m4) | ((hb.AsByte() & m2).AsUInt16() << 4).AsByte();
                    Vector128<byte> vb = (l1 & m4) | (((hb >> 2).AsByte() & m2).AsUInt16() << 4).AsByte();
                    Vector128<byte> vc = ((l0.AsUInt16() >> 4).AsByte() & m4) | (((hb >> 4).AsByte() & m2).AsUInt16() << 4).AsByte();
                    Vector128<byte> vd = ((l1.AsUInt16() >> 4).AsByte() & m4) | (((hb >> 6).AsByte() & m2).AsUInt16() << 4).AsByte();
                    sbyte* x = q + 128 * n + 16 * h;
                    int s = 8 * n + h;
                    isum += Int8Dot.Accumulate(Vector128<int>.Zero, va.AsSByte(), Vector128.Load(x)) * sc[s]
                        + Int8Dot.Accumulate(Vector128<int>.Zero, vb.AsSByte(), Vector128.Load(x + 32)) * sc[s + 2]
                        + Int8Dot.Accumulate(Vector128<int>.Zero, vc.AsSByte(), Vector128.Load(x + 64)) * sc[s + 4]
                        + Int8Dot.Accumulate(Vector128<int>.Zero, vd.AsSByte(), Vector128.Load(x + 96)) * sc[s + 6];
                }
            }
            acc += table[*(ushort*)(blk + 208)] * xd[b] * (Vector128.Sum(isum) - 32 * offset);
        }
        return acc;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Avx2Path(byte* w, sbyte* xq, float* xd, short* bsums, int superBlocks)
    {
        fixed (float* table = Fp16Table.Values)
        {
            Vector256<float> acc = Vector256<float>.Zero;
            Vector256<byte> m4 = Vector256.Create((byte)0x0F);
            Vector256<byte> m2 = Vector256.Create((byte)0x03);
            for (nint b = 0; b < superBlocks; b++)
            {
                byte* blk = w + b * TypeSize;
                sbyte* sc = (sbyte*)(blk + 192);
                float d = table[*(ushort*)(blk + 208)] * xd[b];
                sbyte* q = xq + b * 256;
                short* bs = bsums + b * 16;
                int offset = 0;
                for (int s = 0; s < 16; s++)
                {
                    offset += sc[s] * bs[s];
                }
                Vector256<int> isum = Vector256<int>.Zero;
                for (int n = 0; n < 2; n++)
                {
                    Vector256<byte> l0 = Vector256.Load(blk + 64 * n);
                    Vector256<byte> l1 = Vector256.Load(blk + 64 * n + 32);
                    Vector256<byte> h = Vector256.Load(blk + 128 + 32 * n);
                    Vector256<byte> va = (l0 & m4) | Avx2.ShiftLeftLogical((h & m2).AsUInt16(), 4).AsByte();
                    Vector256<byte> vb = (l1 & m4) | Avx2.ShiftLeftLogical((Avx2.ShiftRightLogical(h.AsUInt16(), 2).AsByte() & m2).AsUInt16(), 4).AsByte();
                    Vector256<byte> vc = (Avx2.ShiftRightLogical(l0.AsUInt16(), 4).AsByte() & m4) | Avx2.ShiftLeftLogical((Avx2.ShiftRightLogical(h.AsUInt16(), 4).AsByte() & m2).AsUInt16(), 4).AsByte();
                    Vector256<byte> vd = (Avx2.ShiftRightLogical(l1.AsUInt16(), 4).AsByte() & m4) | Avx2.ShiftLeftLogical((Avx2.ShiftRightLogical(h.AsUInt16(), 6).AsByte() & m2).AsUInt16(), 4).AsByte();
                    sbyte* s8 = sc + 8 * n;
                    isum += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(va, Vector256.Load(q + 128 * n)), Scales(s8[0], s8[1]));
                    isum += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(vb, Vector256.Load(q + 128 * n + 32)), Scales(s8[2], s8[3]));
                    isum += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(vc, Vector256.Load(q + 128 * n + 64)), Scales(s8[4], s8[5]));
                    isum += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(vd, Vector256.Load(q + 128 * n + 96)), Scales(s8[6], s8[7]));
                }
                Vector256<float> total = Avx.ConvertToVector256Single(isum);
                acc = Fma.IsSupported ? Fma.MultiplyAdd(total, Vector256.Create(d), acc) : acc + total * d;
                acc -= Vector256.CreateScalar(d * 32 * offset);
            }
            return Vector256.Sum(acc);
        }
    }

    /// <summary>Eight int16 lanes of <paramref name="a"/> then eight of <paramref name="b"/>: the scales of two 16-value sub-blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Scales(sbyte a, sbyte b) => Vector256.Create(Vector128.Create((short)a), Vector128.Create((short)b));
}
