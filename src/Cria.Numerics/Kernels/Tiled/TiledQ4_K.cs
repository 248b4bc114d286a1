using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

using Cria.Numerics.Memory;

namespace Cria.Numerics.Kernels.Tiled;

/// <summary>
/// Q4_K weights repacked in tiles of 8 rows (see <see cref="TiledQ4_0"/> for the idea).
/// Tile super-block layout (1184 bytes for 8 × 256 values; GGUF needs 1152): d[8] and dmin[8] as
/// fp16; the 6-bit scales and mins decoded to bytes, sc[sub][row] and m[sub][row] (8 × 8 each);
/// then for each pair c of sub-blocks (2c, 2c+1) eight 32-byte vectors S_{c,k} with
/// S_{c,k}[4r + j] = q(r, 64c + 4k + j) | q(r, 64c + 32 + 4k + j) &lt;&lt; 4.
/// Per sub-block the 8 lanes of the integer sums are multiplied by that sub-block's scales of the
/// 8 rows; the mins meet the activation's 16-element sums. value = d·sc·q − dmin·m.
/// </summary>
internal static unsafe class TiledQ4_K
{
    public const int TileRows = 8;
    public const int BlockBytes = 1184;
    private const int OffScales = 32;
    private const int OffMins = 96;
    private const int OffQuants = 160;

    public static bool CanRepack(WeightMatrix w) => w.Type == GgmlType.Q4_K && w.Rows % TileRows == 0 && Avx2.IsSupported && Fma.IsSupported;

    public static long RepackedBytes(WeightMatrix w) => (long)(w.Rows / TileRows) * (w.Cols / 256) * BlockBytes;

    public static void Repack(WeightMatrix src, byte* dst)
    {
        int blocks = src.Cols / 256;
        for (int tile = 0; tile < src.Rows / TileRows; tile++)
        {
            for (int b = 0; b < blocks; b++)
            {
                byte* o = dst + ((long)tile * blocks + b) * BlockBytes;
                for (int r = 0; r < TileRows; r++)
                {
                    byte* blk = (byte*)src.Data + (long)(tile * TileRows + r) * src.RowBytes + b * 144;
                    ((ushort*)o)[r] = *(ushort*)blk;
                    ((ushort*)(o + 16))[r] = *(ushort*)(blk + 2);
                    byte* scales = blk + 4;
                    for (int j = 0; j < 8; j++)
                    {
                        int sc, m;
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
                        o[OffScales + 8 * j + r] = (byte)sc;
                        o[OffMins + 8 * j + r] = (byte)m;
                    }
                    byte* qs = blk + 16;
                    for (int c = 0; c < 4; c++)
                    {
                        for (int k = 0; k < 8; k++)
                        {
                            // value 64c + e is the low nibble of qs[32c + e], value 64c + 32 + e its high nibble
                            *(uint*)(o + OffQuants + 256 * c + 32 * k + 4 * r) = *(uint*)(qs + 32 * c + 4 * k);
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
            Run2(tile, blocks, xq + (long)t * blocks * 256, xd + (long)t * blocks, bsums + (long)t * blocks * 16, blocks, y + t * yStride, yStride);
        }
        for (; t < n; t++)
        {
            Run1(tile, blocks, xq + (long)t * blocks * 256, xd + (long)t * blocks, bsums + (long)t * blocks * 16, y + t * yStride);
        }
    }

    /// <summary>Two tokens at once: each unpacked weight vector feeds two multiply-adds (prefill).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run2(byte* tile, int blocks, sbyte* xq, float* xd, short* bsums, int blocksPerToken, float* y, long yStride)
    {
        Vector256<byte> mask = Vector256.Create((byte)0x0F);
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
        long xStride = (long)blocksPerToken * 256;
        long sStride = (long)blocksPerToken * 16;
        for (nint b = 0; b < blocks; b++)
        {
            byte* blk = tile + b * BlockBytes;
            sbyte* x0 = xq + b * 256;
            sbyte* x1 = x0 + xStride;
            short* bs0 = bsums + b * 16;
            short* bs1 = bs0 + sStride;
            Vector256<int> total0 = Vector256<int>.Zero, total1 = Vector256<int>.Zero;
            Vector256<int> mins0 = Vector256<int>.Zero, mins1 = Vector256<int>.Zero;
            for (int c = 0; c < 4; c++)
            {
                Vector256<int> lo0 = Vector256<int>.Zero, hi0 = Vector256<int>.Zero, lo1 = Vector256<int>.Zero, hi1 = Vector256<int>.Zero;
                byte* q = blk + OffQuants + 256 * c;
                for (int k = 0; k < 8; k++)
                {
                    Vector256<byte> s = Vector256.Load(q + 32 * k);
                    Vector256<byte> lo = s & mask;
                    Vector256<byte> hi = Avx2.ShiftRightLogical(s.AsUInt16(), 4).AsByte() & mask;
                    lo0 = Simd.Dot4(lo0, lo, x0 + 64 * c + 4 * k);
                    lo1 = Simd.Dot4(lo1, lo, x1 + 64 * c + 4 * k);
                    hi0 = Simd.Dot4(hi0, hi, x0 + 64 * c + 32 + 4 * k);
                    hi1 = Simd.Dot4(hi1, hi, x1 + 64 * c + 32 + 4 * k);
                }
                Vector256<int> scLo = Avx2.ConvertToVector256Int32(blk + OffScales + 16 * c);
                Vector256<int> scHi = Avx2.ConvertToVector256Int32(blk + OffScales + 16 * c + 8);
                total0 += Avx2.MultiplyLow(lo0, scLo) + Avx2.MultiplyLow(hi0, scHi);
                total1 += Avx2.MultiplyLow(lo1, scLo) + Avx2.MultiplyLow(hi1, scHi);
                Vector256<int> mLo = Avx2.ConvertToVector256Int32(blk + OffMins + 16 * c);
                Vector256<int> mHi = Avx2.ConvertToVector256Int32(blk + OffMins + 16 * c + 8);
                mins0 += Avx2.MultiplyLow(mLo, Vector256.Create(bs0[4 * c] + bs0[4 * c + 1])) + Avx2.MultiplyLow(mHi, Vector256.Create(bs0[4 * c + 2] + bs0[4 * c + 3]));
                mins1 += Avx2.MultiplyLow(mLo, Vector256.Create(bs1[4 * c] + bs1[4 * c + 1])) + Avx2.MultiplyLow(mHi, Vector256.Create(bs1[4 * c + 2] + bs1[4 * c + 3]));
            }
            Vector256<float> d = Simd.WidenHalves(blk) * Vector256.Create(Simd.HalfRebias);
            Vector256<float> dmin = Simd.WidenHalves(blk + 16) * Vector256.Create(Simd.HalfRebias);
            Vector256<float> dx0 = Vector256.Create(xd[b]);
            Vector256<float> dx1 = Vector256.Create(xd[b + blocksPerToken]);
            acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(total0), d * dx0, acc0);
            acc0 = Fma.MultiplyAddNegated(Avx.ConvertToVector256Single(mins0), dmin * dx0, acc0);
            acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(total1), d * dx1, acc1);
            acc1 = Fma.MultiplyAddNegated(Avx.ConvertToVector256Single(mins1), dmin * dx1, acc1);
        }
        acc0.Store(y);
        acc1.Store(y + yStride);
    }



    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run1(byte* tile, int blocks, sbyte* xq, float* xd, short* bsums, float* y)
    {
        Vector256<byte> mask = Vector256.Create((byte)0x0F);
        Vector256<float> acc = Vector256<float>.Zero;
        for (nint b = 0; b < blocks; b++)
        {
            byte* blk = tile + b * BlockBytes;
            sbyte* x = xq + b * 256;
            short* bs = bsums + b * 16;
            Vector256<int> total = Vector256<int>.Zero;
            Vector256<int> mins = Vector256<int>.Zero;
            for (int c = 0; c < 4; c++)
            {
                Vector256<int> lo = Vector256<int>.Zero, hi = Vector256<int>.Zero;
                byte* q = blk + OffQuants + 256 * c;
                sbyte* x0 = x + 64 * c;
                for (int k = 0; k < 8; k++)
                {
                    Vector256<byte> s = Vector256.Load(q + 32 * k);
                    lo = Simd.Dot4(lo, s & mask, x0 + 4 * k);
                    hi = Simd.Dot4(hi, Avx2.ShiftRightLogical(s.AsUInt16(), 4).AsByte() & mask, x0 + 32 + 4 * k);
                }
                Vector256<int> scLo = Avx2.ConvertToVector256Int32(blk + OffScales + 16 * c);
                Vector256<int> scHi = Avx2.ConvertToVector256Int32(blk + OffScales + 16 * c + 8);
                total += Avx2.MultiplyLow(lo, scLo) + Avx2.MultiplyLow(hi, scHi);
                Vector256<int> mLo = Avx2.ConvertToVector256Int32(blk + OffMins + 16 * c);
                Vector256<int> mHi = Avx2.ConvertToVector256Int32(blk + OffMins + 16 * c + 8);
                mins += Avx2.MultiplyLow(mLo, Vector256.Create(bs[4 * c] + bs[4 * c + 1]))
                    + Avx2.MultiplyLow(mHi, Vector256.Create(bs[4 * c + 2] + bs[4 * c + 3]));
            }
            // Same rounding as the two-token path: (scale · 2^112) · dx.
            Vector256<float> dx = Vector256.Create(xd[b]);
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(total), Simd.WidenHalves(blk) * Vector256.Create(Simd.HalfRebias) * dx, acc);
            acc = Fma.MultiplyAddNegated(Avx.ConvertToVector256Single(mins), Simd.WidenHalves(blk + 16) * Vector256.Create(Simd.HalfRebias) * dx, acc);
        }
        acc.Store(y);
    }
}
