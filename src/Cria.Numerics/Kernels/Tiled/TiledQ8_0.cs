using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

using Cria.Numerics.Memory;

namespace Cria.Numerics.Kernels.Tiled;

/// <summary>
/// Q8_0 weights repacked in tiles of 8 rows (see <see cref="TiledQ4_0"/>). The int8 weights are
/// stored offset by +128 as unsigned bytes, so VNNI's unsigned×signed multiply-add applies
/// directly; the offset comes back out as 128·Σq per activation block.
/// Tile block layout (272 bytes = 8 × 34): 8 fp16 scales, then eight 32-byte vectors V_k with
/// V_k[4r + j] = w(r, 4k + j) + 128. Needs AVX-VNNI (the AVX2 maddubs would saturate).
/// </summary>
internal static unsafe class TiledQ8_0
{
    public const int TileRows = 8;
    public const int BlockBytes = 272;

    public static bool CanRepack(WeightMatrix w) => w.Type == GgmlType.Q8_0 && w.Rows % TileRows == 0 && AvxVnni.IsSupported && Fma.IsSupported;

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
                    byte* blk = (byte*)src.Data + (long)(tile * TileRows + r) * src.RowBytes + b * 34;
                    ((ushort*)o)[r] = *(ushort*)blk;
                    for (int k = 0; k < 8; k++)
                    {
                        // q + 128 (mod 256) flips the top bit of each byte.
                        *(uint*)(o + 16 + 32 * k + 4 * r) = *(uint*)(blk + 2 + 4 * k) ^ 0x80808080u;
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(byte* tile, int blocks, sbyte* xq, float* xd, int* xsum, int n, float* y, long yStride)
    {
        int t = 0;
        for (; t + 2 <= n; t += 2)
        {
            Run2(tile, blocks, xq + (long)t * blocks * 32, xd + (long)t * blocks, xsum + (long)t * blocks, y + t * yStride, yStride);
        }
        for (; t < n; t++)
        {
            Run1(tile, blocks, xq + (long)t * blocks * 32, xd + (long)t * blocks, xsum + (long)t * blocks, y + t * yStride);
        }
    }

    /// <summary>Two tokens at once: each weight vector feeds two multiply-adds (prefill).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run2(byte* tile, int blocks, sbyte* xq, float* xd, int* xsum, float* y, long yStride)
    {
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
        for (nint b = 0; b < blocks; b++)
        {
            byte* blk = tile + b * BlockBytes;
            sbyte* x0 = xq + b * 32;
            sbyte* x1 = x0 + (long)blocks * 32;
            Vector256<int> i0 = Vector256<int>.Zero, i1 = Vector256<int>.Zero;
            for (int k = 0; k < 8; k++)
            {
                Vector256<byte> w = Vector256.Load(blk + 16 + 32 * k);
                i0 = AvxVnni.MultiplyWideningAndAdd(i0, w, Vector256.Create(*(int*)(x0 + 4 * k)).AsSByte());
                i1 = AvxVnni.MultiplyWideningAndAdd(i1, w, Vector256.Create(*(int*)(x1 + 4 * k)).AsSByte());
            }
            i0 -= Vector256.Create(128 * xsum[b]);
            i1 -= Vector256.Create(128 * xsum[b + blocks]);
            Vector256<float> sc = Simd.WidenHalves(blk) * Vector256.Create(Simd.HalfRebias);
            acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i0), sc * Vector256.Create(xd[b]), acc0);
            acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i1), sc * Vector256.Create(xd[b + blocks]), acc1);
        }
        acc0.Store(y);
        acc1.Store(y + yStride);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run1(byte* tile, int blocks, sbyte* xq, float* xd, int* xsum, float* y)
    {
        Vector256<float> acc = Vector256<float>.Zero;
        for (nint b = 0; b < blocks; b++)
        {
            byte* blk = tile + b * BlockBytes;
            sbyte* x = xq + b * 32;
            Vector256<int> isum = Vector256<int>.Zero;
            for (int k = 0; k < 8; k++)
            {
                isum = AvxVnni.MultiplyWideningAndAdd(isum, Vector256.Load(blk + 16 + 32 * k), Vector256.Create(*(int*)(x + 4 * k)).AsSByte());
            }
            isum -= Vector256.Create(128 * xsum[b]);
            Vector256<float> sc = Simd.WidenHalves(blk);
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(isum), sc * Vector256.Create(Simd.HalfRebias) * Vector256.Create(xd[b]), acc);
        }
        acc.Store(y);
    }
}
