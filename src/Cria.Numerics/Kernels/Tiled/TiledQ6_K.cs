using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Cria.Numerics.Memory;

namespace Cria.Numerics.Kernels.Tiled;

/// <summary>
/// Q6_K weights repacked in tiles of 8 rows (see <see cref="TiledQ4_0"/> for the idea), the same
/// size as GGUF (8 × 210 bytes per super-block): no second copy, no extra bytes. The 6-bit values
/// (0..63; value − 32 is the signed quant) are split so that one 256-bit load and two or three
/// bitwise operations give 32 of them, lane r = row r: in group g (values 32g..32g+31 of a row) the
/// value vector V_k (k = 0..7) has V_k[4r + j] = q(r, 32g + 4k + j), and the tile stores
/// L_k = (V_k &amp; 15) | (V_{k+4} &amp; 15) &lt;&lt; 4 for k = 0..3 (low nibbles, 128 bytes) and
/// H_m = Σ_i (V_{4m+i} &gt;&gt; 4) &lt;&lt; 2i for m = 0, 1 (two high bits each, 64 bytes).
/// Layout: d[8] fp16 (16 bytes); sc[16 sub][8 rows] int8 (128 bytes); then per group 192 bytes:
/// L_0..L_3, H_0, H_1. The −32 offset is corrected with the activation's 16-element sums.
/// (An earlier layout kept a byte per value, 22% larger, because unpacking GGUF's interleaved
/// 4+2-bit fields made the kernel compute-bound; this split unpacks in a few operations.)
/// </summary>
internal static unsafe class TiledQ6_K
{
    public const int TileRows = 8;
    public const int BlockBytes = 8 * 210;
    private const int OffScales = 16;
    private const int OffValues = 144;
    private const int GroupBytes = 192;

    public static bool CanRepack(WeightMatrix w) => w.Type == GgmlType.Q6_K && w.Rows % TileRows == 0 && Avx2.IsSupported && Fma.IsSupported;

    public static long RepackedBytes(WeightMatrix w) => (long)(w.Rows / TileRows) * (w.Cols / 256) * BlockBytes;

    public static void Repack(WeightMatrix src, byte* dst)
    {
        int blocks = src.Cols / 256;
        byte* v = stackalloc byte[256];
        for (int tile = 0; tile < src.Rows / TileRows; tile++)
        {
            for (int b = 0; b < blocks; b++)
            {
                byte* o = dst + ((long)tile * blocks + b) * BlockBytes;
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
                    // GGUF's fields → the row's 256 values in order.
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
                        byte* grp = o + OffValues + GroupBytes * g;
                        for (int j = 0; j < 4; j++)
                        {
                            for (int k = 0; k < 4; k++)
                            {
                                grp[32 * k + 4 * r + j] = (byte)((v[32 * g + 4 * k + j] & 15) | ((v[32 * g + 4 * (k + 4) + j] & 15) << 4));
                            }
                            for (int m = 0; m < 2; m++)
                            {
                                int hi = 0;
                                for (int i = 0; i < 4; i++)
                                {
                                    hi |= (v[32 * g + 4 * (4 * m + i) + j] >> 4) << (2 * i);
                                }
                                grp[128 + 32 * m + 4 * r + j] = (byte)hi;
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>The eight value vectors V_0..V_7 of one group (see the class comment), each lane a value 0..63.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Unpack(byte* grp, out Vector256<byte> v0, out Vector256<byte> v1, out Vector256<byte> v2, out Vector256<byte> v3,
        out Vector256<byte> v4, out Vector256<byte> v5, out Vector256<byte> v6, out Vector256<byte> v7)
    {
        Vector256<byte> low = Vector256.Create((byte)15);
        Vector256<byte> high = Vector256.Create((byte)0x30);
        Vector256<byte> l0 = Vector256.Load(grp), l1 = Vector256.Load(grp + 32), l2 = Vector256.Load(grp + 64), l3 = Vector256.Load(grp + 96);
        Vector256<ushort> h0 = Vector256.Load((ushort*)(grp + 128)), h1 = Vector256.Load((ushort*)(grp + 160));
        // 16-bit shifts move bits across byte boundaries; the masks keep only each byte's own field.
        v0 = (l0 & low) | ((h0 << 4).AsByte() & high);
        v1 = (l1 & low) | ((h0 << 2).AsByte() & high);
        v2 = (l2 & low) | (h0.AsByte() & high);
        v3 = (l3 & low) | ((h0 >> 2).AsByte() & high);
        v4 = ((l0.AsUInt16() >> 4).AsByte() & low) | ((h1 << 4).AsByte() & high);
        v5 = ((l1.AsUInt16() >> 4).AsByte() & low) | ((h1 << 2).AsByte() & high);
        v6 = ((l2.AsUInt16() >> 4).AsByte() & low) | (h1.AsByte() & high);
        v7 = ((l3.AsUInt16() >> 4).AsByte() & low) | ((h1 >> 2).AsByte() & high);
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run1(byte* tile, int blocks, sbyte* xq, float* xd, short* bsums, float* y)
    {
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
                sbyte* xg = x + 32 * g;
                Unpack(blk + OffValues + GroupBytes * g, out var v0, out var v1, out var v2, out var v3, out var v4, out var v5, out var v6, out var v7);
                Vector256<int> a = Vector256<int>.Zero, c = Vector256<int>.Zero;
                a = Simd.Dot4(a, v0, xg);
                c = Simd.Dot4(c, v4, xg + 16);
                a = Simd.Dot4(a, v1, xg + 4);
                c = Simd.Dot4(c, v5, xg + 20);
                a = Simd.Dot4(a, v2, xg + 8);
                c = Simd.Dot4(c, v6, xg + 24);
                a = Simd.Dot4(a, v3, xg + 12);
                c = Simd.Dot4(c, v7, xg + 28);
                Vector256<int> sa = Avx2.ConvertToVector256Int32((sbyte*)(blk + OffScales + 16 * g));
                Vector256<int> sc = Avx2.ConvertToVector256Int32((sbyte*)(blk + OffScales + 16 * g + 8));
                total += Avx2.MultiplyLow(a, sa) + Avx2.MultiplyLow(c, sc);
                offset += Avx2.MultiplyLow(sa, Vector256.Create(32 * bs[2 * g])) + Avx2.MultiplyLow(sc, Vector256.Create(32 * bs[2 * g + 1]));
            }
            Vector256<float> d = Simd.WidenHalves(blk);
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(total - offset), d * Vector256.Create(Simd.HalfRebias) * Vector256.Create(xd[b]), acc);
        }
        acc.Store(y);
    }

    /// <summary>Two tokens at once: each weight vector feeds two multiply-adds (prefill).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run2(byte* tile, int blocks, sbyte* xq, float* xd, short* bsums, float* y, long yStride)
    {
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
                Unpack(blk + OffValues + GroupBytes * g, out var v0, out var v1, out var v2, out var v3, out var v4, out var v5, out var v6, out var v7);
                sbyte* y0 = x0 + 32 * g;
                sbyte* y1 = x1 + 32 * g;
                Vector256<int> a0 = Simd.Dot4(Simd.Dot4(Simd.Dot4(Simd.Dot4(Vector256<int>.Zero, v0, y0), v1, y0 + 4), v2, y0 + 8), v3, y0 + 12);
                Vector256<int> a1 = Simd.Dot4(Simd.Dot4(Simd.Dot4(Simd.Dot4(Vector256<int>.Zero, v0, y1), v1, y1 + 4), v2, y1 + 8), v3, y1 + 12);
                Vector256<int> c0 = Simd.Dot4(Simd.Dot4(Simd.Dot4(Simd.Dot4(Vector256<int>.Zero, v4, y0 + 16), v5, y0 + 20), v6, y0 + 24), v7, y0 + 28);
                Vector256<int> c1 = Simd.Dot4(Simd.Dot4(Simd.Dot4(Simd.Dot4(Vector256<int>.Zero, v4, y1 + 16), v5, y1 + 20), v6, y1 + 24), v7, y1 + 28);
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
}
