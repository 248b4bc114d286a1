using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

using Cria.Numerics.Memory;

namespace Cria.Numerics.Kernels.Tiled;

/// <summary>
/// Q4_0 weights repacked in tiles of 8 rows so one 256-bit integer multiply-add yields a partial
/// sum for each of the 8 rows (lane r = row r): no per-row horizontal sums, one scale vector per
/// block for all 8 rows, and in prefill each unpacked weight vector serves several tokens.
/// (The idea is the row interleaving of ggml's CPU "repack" buffers; the layout is our own.)
///
/// Tile block layout (144 bytes = 8 × 18, same size as GGUF): 8 fp16 scales (row 0..7), then
/// four 32-byte vectors S_k (k = 0..3) with S_k[4r + j] = nib(r, 4k + j) | nib(r, 16 + 4k + j) &lt;&lt; 4,
/// so the low nibbles of S_k are elements 4k..4k+3 of every row and the high nibbles elements
/// 16+4k..16+4k+3 — each matched against one broadcast dword of the Q8 activation block.
/// </summary>
internal static unsafe class TiledQ4_0
{
    public const int TileRows = 8;
    public const int BlockBytes = 144;

    public static bool CanRepack(WeightMatrix w) => w.Type == GgmlType.Q4_0 && w.Rows % TileRows == 0 && Avx2.IsSupported && Fma.IsSupported;

    /// <summary>Rewrites <paramref name="src"/> (row layout) into <paramref name="dst"/> (tiles), same byte count.</summary>
    public static void Repack(WeightMatrix src, byte* dst)
    {
        int blocks = src.Cols / 32;
        for (int tile = 0; tile < src.Rows / TileRows; tile++)
        {
            for (int b = 0; b < blocks; b++)
            {
                byte* o = dst + ((long)tile * blocks + b) * BlockBytes;
                for (int r = 0; r < TileRows; r++)
                {
                    byte* blk = (byte*)src.Data + (long)(tile * TileRows + r) * src.RowBytes + b * 18;
                    ((ushort*)o)[r] = *(ushort*)blk;
                    // S_k[4r + j] = byte 4k + j of the row's quants (its low nibble is element
                    // 4k + j, its high nibble element 16 + 4k + j): four bytes move as one.
                    for (int k = 0; k < 4; k++)
                    {
                        *(uint*)(o + 16 + 32 * k + 4 * r) = *(uint*)(blk + 2 + 4 * k);
                    }
                }
            }
        }
    }

    /// <summary>
    /// y[t, tileRow0 .. tileRow0+7] for <paramref name="n"/> tokens: x quantized as Q8 blocks
    /// (xq [n, cols], xd/xsum [n, blocks]); y has row stride <paramref name="yStride"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(byte* tile, int blocks, sbyte* xq, float* xd, int* xsum, int n, float* y, long yStride)
    {
        int t = 0;
        for (; t + 4 <= n; t += 4)
        {
            Run4(tile, blocks, xq + (long)t * blocks * 32, xd + (long)t * blocks, xsum + (long)t * blocks, blocks * 32, blocks, y + t * yStride, yStride);
        }
        for (; t + 2 <= n; t += 2)
        {
            Run2(tile, blocks, xq + (long)t * blocks * 32, xd + (long)t * blocks, xsum + (long)t * blocks, blocks * 32, blocks, y + t * yStride, yStride);
        }
        for (; t < n; t++)
        {
            Run1(tile, blocks, xq + (long)t * blocks * 32, xd + (long)t * blocks, xsum + (long)t * blocks, y + t * yStride);
        }
    }


    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run1(byte* tile, int blocks, sbyte* xq, float* xd, int* xsum, float* y)
    {
        Vector256<byte> mask = Vector256.Create((byte)0x0F);
        Vector256<float> acc = Vector256<float>.Zero;
        for (nint b = 0; b < blocks; b++)
        {
            byte* blk = tile + b * BlockBytes;
            sbyte* x = xq + b * 32;
            Vector256<int> isum = Vector256<int>.Zero;
            for (int k = 0; k < 4; k++)
            {
                Vector256<byte> s = Vector256.Load(blk + 16 + 32 * k);
                isum = Simd.Dot4(isum, s & mask, x + 4 * k);
                isum = Simd.Dot4(isum, Avx2.ShiftRightLogical(s.AsUInt16(), 4).AsByte() & mask, x + 16 + 4 * k);
            }
            isum -= Vector256.Create(8 * xsum[b]);
            // Same rounding as the two-token path: (scale · 2^112) · dx.
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(isum), Simd.WidenHalves(blk) * Vector256.Create(Simd.HalfRebias) * Vector256.Create(xd[b]), acc);
        }
        acc.Store(y);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run2(byte* tile, int blocks, sbyte* xq, float* xd, int* xsum, int xStride, int dStride, float* y, long yStride)
    {
        Vector256<byte> mask = Vector256.Create((byte)0x0F);
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
        for (nint b = 0; b < blocks; b++)
        {
            byte* blk = tile + b * BlockBytes;
            sbyte* x0 = xq + b * 32;
            sbyte* x1 = x0 + xStride;
            Vector256<int> i0 = Vector256<int>.Zero, i1 = Vector256<int>.Zero;
            for (int k = 0; k < 4; k++)
            {
                Vector256<byte> s = Vector256.Load(blk + 16 + 32 * k);
                Vector256<byte> lo = s & mask;
                Vector256<byte> hi = Avx2.ShiftRightLogical(s.AsUInt16(), 4).AsByte() & mask;
                i0 = Simd.Dot4(i0, lo, x0 + 4 * k);
                i1 = Simd.Dot4(i1, lo, x1 + 4 * k);
                i0 = Simd.Dot4(i0, hi, x0 + 16 + 4 * k);
                i1 = Simd.Dot4(i1, hi, x1 + 16 + 4 * k);
            }
            Vector256<float> sc = Simd.WidenHalves(blk) * Vector256.Create(Simd.HalfRebias);
            i0 -= Vector256.Create(8 * xsum[b]);
            i1 -= Vector256.Create(8 * xsum[b + dStride]);
            acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i0), sc * Vector256.Create(xd[b]), acc0);
            acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i1), sc * Vector256.Create(xd[b + dStride]), acc1);
        }
        acc0.Store(y);
        acc1.Store(y + yStride);
    }

    /// <summary>
    /// Four tokens per pass over the tile: each unpacked weight vector and scale vector serves four
    /// tokens (a batch of decoding sequences, or a prompt). Per token the operations and their order
    /// are exactly those of <see cref="Run1"/>, so a token's result does not depend on its batch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run4(byte* tile, int blocks, sbyte* xq, float* xd, int* xsum, int xStride, int dStride, float* y, long yStride)
    {
        Vector256<byte> mask = Vector256.Create((byte)0x0F);
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero, acc2 = Vector256<float>.Zero, acc3 = Vector256<float>.Zero;
        for (nint b = 0; b < blocks; b++)
        {
            byte* blk = tile + b * BlockBytes;
            sbyte* x0 = xq + b * 32;
            sbyte* x1 = x0 + xStride;
            sbyte* x2 = x1 + xStride;
            sbyte* x3 = x2 + xStride;
            Vector256<int> i0 = Vector256<int>.Zero, i1 = Vector256<int>.Zero, i2 = Vector256<int>.Zero, i3 = Vector256<int>.Zero;
            for (int k = 0; k < 4; k++)
            {
                Vector256<byte> s = Vector256.Load(blk + 16 + 32 * k);
                Vector256<byte> lo = s & mask;
                Vector256<byte> hi = Avx2.ShiftRightLogical(s.AsUInt16(), 4).AsByte() & mask;
                i0 = Simd.Dot4(i0, lo, x0 + 4 * k);
                i1 = Simd.Dot4(i1, lo, x1 + 4 * k);
                i2 = Simd.Dot4(i2, lo, x2 + 4 * k);
                i3 = Simd.Dot4(i3, lo, x3 + 4 * k);
                i0 = Simd.Dot4(i0, hi, x0 + 16 + 4 * k);
                i1 = Simd.Dot4(i1, hi, x1 + 16 + 4 * k);
                i2 = Simd.Dot4(i2, hi, x2 + 16 + 4 * k);
                i3 = Simd.Dot4(i3, hi, x3 + 16 + 4 * k);
            }
            Vector256<float> sc = Simd.WidenHalves(blk) * Vector256.Create(Simd.HalfRebias);
            i0 -= Vector256.Create(8 * xsum[b]);
            i1 -= Vector256.Create(8 * xsum[b + dStride]);
            i2 -= Vector256.Create(8 * xsum[b + 2 * dStride]);
            i3 -= Vector256.Create(8 * xsum[b + 3 * dStride]);
            acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i0), sc * Vector256.Create(xd[b]), acc0);
            acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i1), sc * Vector256.Create(xd[b + dStride]), acc1);
            acc2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i2), sc * Vector256.Create(xd[b + 2 * dStride]), acc2);
            acc3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i3), sc * Vector256.Create(xd[b + 3 * dStride]), acc3);
        }
        acc0.Store(y);
        acc1.Store(y + yStride);
        acc2.Store(y + 2 * yStride);
        acc3.Store(y + 3 * yStride);
    }
}
