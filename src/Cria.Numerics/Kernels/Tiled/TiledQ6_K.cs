using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Cria.Numerics.Memory;

namespace Cria.Numerics.Kernels.Tiled;

/// <summary>
/// Q6_K weights repacked in tiles of 8 rows (see <see cref="TiledQ4_0"/> for the idea), with each
/// 6-bit value (0..63; value − 32 is the signed quant) stored in a whole byte. That costs 22%
/// more bytes than GGUF (2192 instead of 8 × 210 per super-block) but leaves the decode loop one
/// load and one multiply-add per 32 bytes: unpacking 4+2-bit fields made this kernel compute-bound
/// at about half the speed of the others. Layout: d[8] fp16 (16 bytes); sc[16 sub][8 rows] int8
/// (128 bytes); then for group g (values 32g..32g+31 of a row) and dword k (0..7) a 32-byte vector
/// V_{g,k}[4r + j] = q(r, 32g + 4k + j). The −32 offset is corrected with the activation's
/// 16-element sums.
/// </summary>
internal static unsafe class TiledQ6_K
{
    public const int TileRows = 8;
    public const int BlockBytes = 2192;
    private const int OffScales = 16;
    private const int OffValues = 144;

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
                            *(uint*)(o + OffValues + 256 * g + 32 * k + 4 * r) = *(uint*)(v + 32 * g + 4 * k);
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
                byte* vals = blk + OffValues + 256 * g;
                sbyte* xg = x + 32 * g;
                Vector256<int> a = Vector256<int>.Zero, c = Vector256<int>.Zero;
                a = Simd.Dot4(a, Vector256.Load(vals), xg);
                c = Simd.Dot4(c, Vector256.Load(vals + 128), xg + 16);
                a = Simd.Dot4(a, Vector256.Load(vals + 32), xg + 4);
                c = Simd.Dot4(c, Vector256.Load(vals + 160), xg + 20);
                a = Simd.Dot4(a, Vector256.Load(vals + 64), xg + 8);
                c = Simd.Dot4(c, Vector256.Load(vals + 192), xg + 24);
                a = Simd.Dot4(a, Vector256.Load(vals + 96), xg + 12);
                c = Simd.Dot4(c, Vector256.Load(vals + 224), xg + 28);
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
                byte* vals = blk + OffValues + 256 * g;
                Vector256<int> a0 = Vector256<int>.Zero, c0 = Vector256<int>.Zero, a1 = Vector256<int>.Zero, c1 = Vector256<int>.Zero;
                for (int k = 0; k < 4; k++)
                {
                    Vector256<byte> lo = Vector256.Load(vals + 32 * k);
                    Vector256<byte> hi = Vector256.Load(vals + 128 + 32 * k);
                    a0 = Simd.Dot4(a0, lo, x0 + 32 * g + 4 * k);
                    a1 = Simd.Dot4(a1, lo, x1 + 32 * g + 4 * k);
                    c0 = Simd.Dot4(c0, hi, x0 + 32 * g + 16 + 4 * k);
                    c1 = Simd.Dot4(c1, hi, x1 + 32 * g + 16 + 4 * k);
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
}
