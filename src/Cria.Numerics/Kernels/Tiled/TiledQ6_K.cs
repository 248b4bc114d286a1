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
        long xStride = (long)blocks * 256;
        long sStride = (long)blocks * 16;
        int t = 0;
        for (; t + 4 <= n; t += 4)
        {
            Run4(tile, blocks, xq + t * xStride, xd + (long)t * blocks, bsums + t * sStride, y + t * yStride, yStride);
        }
        for (; t < n; t++)
        {
            Run1(tile, blocks, xq + t * xStride, xd + (long)t * blocks, bsums + t * sStride, y + t * yStride);
        }
    }

    /// <summary>
    /// One group's integer sum for one token, per row lane: Σ sc·q·x over its two 16-value
    /// sub-blocks, minus the −32 offset (32·sc·Σx from the activation's 16-element sums). Exact in
    /// int32, so every token count gives the same result.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> GroupSum(Vector256<byte> v0, Vector256<byte> v1, Vector256<byte> v2, Vector256<byte> v3,
        Vector256<byte> v4, Vector256<byte> v5, Vector256<byte> v6, Vector256<byte> v7, sbyte* x, short* bs, Vector256<int> sa, Vector256<int> sc)
    {
        Vector256<int> a = Simd.Dot4(Simd.Dot4(Simd.Dot4(Simd.Dot4(Vector256<int>.Zero, v0, x), v1, x + 4), v2, x + 8), v3, x + 12);
        Vector256<int> c = Simd.Dot4(Simd.Dot4(Simd.Dot4(Simd.Dot4(Vector256<int>.Zero, v4, x + 16), v5, x + 20), v6, x + 24), v7, x + 28);
        return Avx2.MultiplyLow(a - Vector256.Create(32 * bs[0]), sa) + Avx2.MultiplyLow(c - Vector256.Create(32 * bs[1]), sc);
    }

    /// <summary>The block's scale for all 8 rows, times the token's activation scale (the same rounding in every path).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Scale(byte* blk, float xd) => Simd.WidenHalves(blk) * Vector256.Create(Simd.HalfRebias) * Vector256.Create(xd);

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
            for (int g = 0; g < 8; g++)
            {
                Unpack(blk + OffValues + GroupBytes * g, out var v0, out var v1, out var v2, out var v3, out var v4, out var v5, out var v6, out var v7);
                Vector256<int> sa = Avx2.ConvertToVector256Int32((sbyte*)(blk + OffScales + 16 * g));
                Vector256<int> sc = Avx2.ConvertToVector256Int32((sbyte*)(blk + OffScales + 16 * g + 8));
                total += GroupSum(v0, v1, v2, v3, v4, v5, v6, v7, x + 32 * g, bs + 2 * g, sa, sc);
            }
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(total), Scale(blk, xd[b]), acc);
        }
        acc.Store(y);
    }

    /// <summary>
    /// Four tokens per pass over the tile (prefill, or a batch of decoding sequences): each group is
    /// unpacked once for four tokens. Per token the arithmetic is that of <see cref="Run1"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run4(byte* tile, int blocks, sbyte* xq, float* xd, short* bsums, float* y, long yStride)
    {
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero, acc2 = Vector256<float>.Zero, acc3 = Vector256<float>.Zero;
        long xStride = (long)blocks * 256;
        long sStride = (long)blocks * 16;
        for (nint b = 0; b < blocks; b++)
        {
            byte* blk = tile + b * BlockBytes;
            sbyte* x0 = xq + b * 256;
            short* bs0 = bsums + b * 16;
            Vector256<int> t0 = Vector256<int>.Zero, t1 = Vector256<int>.Zero, t2 = Vector256<int>.Zero, t3 = Vector256<int>.Zero;
            for (int g = 0; g < 8; g++)
            {
                Unpack(blk + OffValues + GroupBytes * g, out var v0, out var v1, out var v2, out var v3, out var v4, out var v5, out var v6, out var v7);
                Vector256<int> sa = Avx2.ConvertToVector256Int32((sbyte*)(blk + OffScales + 16 * g));
                Vector256<int> sc = Avx2.ConvertToVector256Int32((sbyte*)(blk + OffScales + 16 * g + 8));
                sbyte* x = x0 + 32 * g;
                short* bs = bs0 + 2 * g;
                t0 += GroupSum(v0, v1, v2, v3, v4, v5, v6, v7, x, bs, sa, sc);
                t1 += GroupSum(v0, v1, v2, v3, v4, v5, v6, v7, x + xStride, bs + sStride, sa, sc);
                t2 += GroupSum(v0, v1, v2, v3, v4, v5, v6, v7, x + 2 * xStride, bs + 2 * sStride, sa, sc);
                t3 += GroupSum(v0, v1, v2, v3, v4, v5, v6, v7, x + 3 * xStride, bs + 3 * sStride, sa, sc);
            }
            acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(t0), Scale(blk, xd[b]), acc0);
            acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(t1), Scale(blk, xd[b + blocks]), acc1);
            acc2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(t2), Scale(blk, xd[b + 2 * blocks]), acc2);
            acc3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(t3), Scale(blk, xd[b + 3 * blocks]), acc3);
        }
        acc0.Store(y);
        acc1.Store(y + yStride);
        acc2.Store(y + 2 * yStride);
        acc3.Store(y + 3 * yStride);
    }
}
