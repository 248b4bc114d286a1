using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Cria.Numerics.Memory;

namespace Cria.Numerics.Kernels.Tiled;

/// <summary>
/// Q6_K weights repacked in tiles of 8 rows (see <see cref="TiledQ4_0"/> for the idea), same
/// size as GGUF (8 × 210 bytes per super-block). Values 0..63 (value − 32 is the signed quant)
/// are split into nibbles and 2-bit high parts. With group g = values 32g..32g+31 of a row and
/// k = 0..7 the dword index within the group: d[8] fp16 (16 bytes); sc[16 sub][8 rows] int8
/// (128 bytes); low nibbles L_{c,k}[4r + j] = lo(r, 64c + 4k + j) | lo(r, 64c + 32 + 4k + j) &lt;&lt; 4
/// (1024 bytes); high parts H_{h,k}[4r + j] = Σ_i hi(r, 32(4h + i) + 4k + j) &lt;&lt; 2i (512 bytes).
/// The −32 offset is corrected with the activation's 16-element sums.
/// </summary>
internal static unsafe class TiledQ6_K
{
    public const int TileRows = 8;
    public const int BlockBytes = 1680;
    private const int OffScales = 16;
    private const int OffLow = 144;
    private const int OffHigh = 1168;

    public static bool CanRepack(WeightMatrix w) => w.Type == GgmlType.Q6_K && w.Rows % TileRows == 0 && Avx2.IsSupported && Fma.IsSupported;

    public static void Repack(WeightMatrix src, byte* dst)
    {
        int blocks = src.Cols / 256;
        byte* v = stackalloc byte[256];
        for (int tile = 0; tile < src.Rows / TileRows; tile++)
        {
            for (int b = 0; b < blocks; b++)
            {
                byte* o = dst + ((long)tile * blocks + b) * BlockBytes;
                new Span<byte>(o + OffLow, BlockBytes - OffLow).Clear();
                for (int r = 0; r < TileRows; r++)
                {
                    byte* blk = (byte*)src.Data + (long)(tile * TileRows + r) * src.RowBytes + b * 210;
                    byte* ql = blk;
                    byte* qh = blk + 128;
                    ((ushort*)o)[r] = *(ushort*)(blk + 208);
                    for (int s = 0; s < 16; s++)
                    {
                        o[OffScales + 8 * s + r] = blk[192 + s];
                    }
                    for (int n = 0; n < 2; n++)
                    {
                        for (int l = 0; l < 32; l++)
                        {
                            int h = qh[32 * n + l];
                            v[128 * n + l] = (byte)((ql[64 * n + l] & 15) | ((h & 3) << 4));
                            v[128 * n + 32 + l] = (byte)((ql[64 * n + 32 + l] & 15) | (((h >> 2) & 3) << 4));
                            v[128 * n + 64 + l] = (byte)((ql[64 * n + l] >> 4) | (((h >> 4) & 3) << 4));
                            v[128 * n + 96 + l] = (byte)((ql[64 * n + 32 + l] >> 4) | (((h >> 6) & 3) << 4));
                        }
                    }
                    for (int g = 0; g < 8; g++)
                    {
                        for (int k = 0; k < 8; k++)
                        {
                            for (int j = 0; j < 4; j++)
                            {
                                int value = v[32 * g + 4 * k + j];
                                int lane = 4 * r + j;
                                o[OffLow + 256 * (g / 2) + 32 * k + lane] |= (byte)((value & 15) << (4 * (g & 1)));
                                o[OffHigh + 256 * (g / 4) + 32 * k + lane] |= (byte)((value >> 4) << (2 * (g & 3)));
                            }
                        }
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(byte* tile, int blocks, sbyte* xq, float* xd, short* bsums, int n, float* y, long yStride)
    {
        int t = 0;
        for (; t + 2 <= n; t += 2)
        {
            Run2(tile, blocks, xq + (long)t * blocks * 256, xd + (long)t * blocks, bsums + (long)t * blocks * 16, y + t * yStride, yStride);
        }
        for (; t < n; t++)
        {
            Run1(tile, blocks, xq + (long)t * blocks * 256, xd + (long)t * blocks, bsums + (long)t * blocks * 16, y + t * yStride);
        }
    }

    /// <summary>Two tokens at once: each unpacked 6-bit weight vector feeds two multiply-adds (prefill).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run2(byte* tile, int blocks, sbyte* xq, float* xd, short* bsums, float* y, long yStride)
    {
        Vector256<byte> m4 = Vector256.Create((byte)0x0F);
        Vector256<byte> m2 = Vector256.Create((byte)0x03);
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
        long xStride = (long)blocks * 256;
        long sStride = (long)blocks * 16;
        for (nint b = 0; b < blocks; b++)
        {
            byte* blk = tile + b * BlockBytes;
            sbyte* x0 = xq + b * 256;
            sbyte* x1 = x0 + xStride;
            short* bs0 = bsums + b * 16;
            short* bs1 = bs0 + sStride;
            Vector256<int> total0 = Vector256<int>.Zero, total1 = Vector256<int>.Zero;
            Vector256<int> offset0 = Vector256<int>.Zero, offset1 = Vector256<int>.Zero;
            for (int g = 0; g < 8; g++)
            {
                byte* low = blk + OffLow + 256 * (g / 2);
                byte* high = blk + OffHigh + 256 * (g / 4);
                int ls = 4 * (g & 1);
                int hs = 2 * (g & 3);
                Vector256<int> a0 = Vector256<int>.Zero, c0 = Vector256<int>.Zero, a1 = Vector256<int>.Zero, c1 = Vector256<int>.Zero;
                for (int k = 0; k < 8; k++)
                {
                    Vector256<byte> lo = Vector256.ShiftRightLogical(Vector256.Load(low + 32 * k).AsUInt16(), ls).AsByte() & m4;
                    Vector256<byte> hi = Vector256.ShiftRightLogical(Vector256.Load(high + 32 * k).AsUInt16(), hs).AsByte() & m2;
                    Vector256<byte> q = lo | Avx2.ShiftLeftLogical(hi.AsUInt16(), 4).AsByte();
                    if (k < 4)
                    {
                        a0 = Simd.Dot4(a0, q, x0 + 32 * g + 4 * k);
                        a1 = Simd.Dot4(a1, q, x1 + 32 * g + 4 * k);
                    }
                    else
                    {
                        c0 = Simd.Dot4(c0, q, x0 + 32 * g + 4 * k);
                        c1 = Simd.Dot4(c1, q, x1 + 32 * g + 4 * k);
                    }
                }
                Vector256<int> sa = Avx2.ConvertToVector256Int32((sbyte*)(blk + OffScales + 16 * g));
                Vector256<int> sc = Avx2.ConvertToVector256Int32((sbyte*)(blk + OffScales + 16 * g + 8));
                total0 += Avx2.MultiplyLow(a0, sa) + Avx2.MultiplyLow(c0, sc);
                total1 += Avx2.MultiplyLow(a1, sa) + Avx2.MultiplyLow(c1, sc);
                offset0 += Avx2.MultiplyLow(sa, Vector256.Create(32 * bs0[2 * g])) + Avx2.MultiplyLow(sc, Vector256.Create(32 * bs0[2 * g + 1]));
                offset1 += Avx2.MultiplyLow(sa, Vector256.Create(32 * bs1[2 * g])) + Avx2.MultiplyLow(sc, Vector256.Create(32 * bs1[2 * g + 1]));
            }
            Vector256<float> d = Simd.WidenHalves(blk) * Vector256.Create(Simd.HalfRebias);
            acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(total0 - offset0), d * Vector256.Create(xd[b]), acc0);
            acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(total1 - offset1), d * Vector256.Create(xd[b + blocks]), acc1);
        }
        acc0.Store(y);
        acc1.Store(y + yStride);
    }


    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run1(byte* tile, int blocks, sbyte* xq, float* xd, short* bsums, float* y)
    {
        Vector256<byte> m4 = Vector256.Create((byte)0x0F);
        Vector256<byte> m2 = Vector256.Create((byte)0x03);
        Vector256<float> acc = Vector256<float>.Zero;
        for (nint b = 0; b < blocks; b++)
        {
            byte* blk = tile + b * BlockBytes;
            sbyte* x = xq + b * 256;
            short* bs = bsums + b * 16;
            Vector256<int> total = Vector256<int>.Zero;
            Vector256<int> offset = Vector256<int>.Zero;
            for (int g = 0; g < 8; g++)
            {
                byte* low = blk + OffLow + 256 * (g / 2);
                byte* high = blk + OffHigh + 256 * (g / 4);
                int ls = 4 * (g & 1);
                int hs = 2 * (g & 3);
                Vector256<int> a = Vector256<int>.Zero, c = Vector256<int>.Zero;
                for (int k = 0; k < 8; k++)
                {
                    Vector256<byte> lo = Vector256.ShiftRightLogical(Vector256.Load(low + 32 * k).AsUInt16(), ls).AsByte() & m4;
                    Vector256<byte> hi = Vector256.ShiftRightLogical(Vector256.Load(high + 32 * k).AsUInt16(), hs).AsByte() & m2;
                    Vector256<byte> q = lo | Avx2.ShiftLeftLogical(hi.AsUInt16(), 4).AsByte();
                    if (k < 4)
                    {
                        a = Simd.Dot4(a, q, x + 32 * g + 4 * k);
                    }
                    else
                    {
                        c = Simd.Dot4(c, q, x + 32 * g + 4 * k);
                    }
                }
                Vector256<int> sa = Avx2.ConvertToVector256Int32((sbyte*)(blk + OffScales + 16 * g));
                Vector256<int> sc = Avx2.ConvertToVector256Int32((sbyte*)(blk + OffScales + 16 * g + 8));
                total += Avx2.MultiplyLow(a, sa) + Avx2.MultiplyLow(c, sc);
                offset += Avx2.MultiplyLow(sa, Vector256.Create(32 * bs[2 * g])) + Avx2.MultiplyLow(sc, Vector256.Create(32 * bs[2 * g + 1]));
            }
            Vector256<float> d = Simd.WidenHalves(blk);
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(total - offset), d * Vector256.Create(xd[b] * Simd.HalfRebias), acc);
        }
        acc.Store(y);
    }
}
