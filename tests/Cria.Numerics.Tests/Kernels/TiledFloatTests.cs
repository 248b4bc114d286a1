using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

using Cria.Numerics.Kernels;
using Cria.Numerics.Kernels.Tiled;
using Cria.Numerics.Memory;
using Cria.Numerics.Quants;
using Cria.Numerics.Threading;

namespace Cria.Numerics.Tests.Kernels;

/// <summary>
/// The float GEMM over 32-row tiles (F32, F16, BF16) on ragged shapes — rows, columns and token
/// counts that are not multiples of the tile, the vector or the token panel: against a float64
/// reference, bit for bit against the fma chain it promises, and a token's result independent of
/// the batch it is in — through the kernel this CPU prefers and, called directly, through every
/// other kernel it can run (so the portable Vector128 kernel is checked on x86 too).
/// </summary>
public sealed class TiledFloatTests
{
    public static TheoryData<GgmlType, int, int> Shapes()
    {
        var d = new TheoryData<GgmlType, int, int>();
        foreach (GgmlType type in new[] { GgmlType.F32, GgmlType.F16, GgmlType.BF16 })
        {
            d.Add(type, 1, 1);
            d.Add(type, 31, 17);
            d.Add(type, 33, 77);
            d.Add(type, 70, 130);
            d.Add(type, 128, 64);
        }
        return d;
    }

    private static (NativeBuffer Buffer, WeightMatrix Rows) RandomMatrix(GgmlType type, int rows, int cols, Random rng)
    {
        long rb = GgmlTypes.RowBytes(type, cols);
        var buf = new NativeBuffer(rb * rows);
        var wf = new float[cols];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                wf[c] = (float)(rng.NextDouble() * 2 - 1) * 0.1f;
            }
            wf[0] = r % 5 == 0 ? 1e-6f : wf[0];   // an fp16 subnormal now and then
            Quantize.Row(type, wf, buf.Span(r * rb, (int)rb));
        }
        return (buf, buf.Matrix(type, 0, rows, cols));
    }

    private static ReadOnlySpan<int> Bits(ReadOnlySpan<float> v) => MemoryMarshal.Cast<float, int>(v);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Every_batch_of_1_to_17_tokens_gives_each_token_its_single_token_bits(GgmlType type, int rows, int cols)
    {
        const int maxTokens = 17;
        var rng = new Random(rows * 131 + cols);
        (NativeBuffer buf, WeightMatrix w) = RandomMatrix(type, rows, cols, rng);
        using (buf)
        {
            (WeightMatrix tiled, NativeBuffer? owner) = Repacker.Repack(w);
            using (owner)
            {
                Assert.Equal(WeightLayout.Tiled32, tiled.Layout);
                var x = new float[maxTokens * cols];
                for (int i = 0; i < x.Length; i++)
                {
                    x[i] = (float)(rng.NextDouble() * 2 - 1);
                }
                using var pool = new ComputePool(2);
                var alone = new float[maxTokens * rows];
                for (int t = 0; t < maxTokens; t++)
                {
                    MatMul.Run(pool, tiled, x.AsSpan(t * cols, cols), alone.AsSpan(t * rows, rows), 1);
                }

                // The scalar chain (column order, one fma per value) on the file's rows, and float64.
                var chain = new float[maxTokens * rows];
                TiledFloat.Reference(w, x, chain, maxTokens);
                Assert.True(Bits(chain).SequenceEqual(Bits(alone)), "a single token differs from the fma chain");
                var deq = new float[cols];
                for (int r = 0; r < rows; r++)
                {
                    Dequantize.Row(type, w.Row(r), deq);
                    for (int t = 0; t < maxTokens; t++)
                    {
                        double e = 0, scale = 0;
                        for (int c = 0; c < cols; c++)
                        {
                            e += (double)deq[c] * x[t * cols + c];
                            scale += Math.Abs((double)deq[c] * x[t * cols + c]);
                        }
                        // A float chain of `cols` fmas is within cols·2^−23 of Σ|w·x|.
                        Assert.True(Math.Abs(e - alone[t * rows + r]) <= cols * 1.2e-7 * scale + 1e-9, $"row {r} token {t}: {alone[t * rows + r]} vs {e}");
                    }
                }

                for (int n = 1; n <= maxTokens; n++)
                {
                    var y = new float[n * rows];
                    MatMul.Run(pool, tiled, x.AsSpan(0, n * cols), y, n);
                    Assert.True(Bits(y).SequenceEqual(Bits(alone.AsSpan(0, n * rows))), $"n = {n}: a token's result depends on its batch");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Every_kernel_this_CPU_runs_gives_the_fma_chain_bits_for_1_to_17_tokens(GgmlType type, int rows, int cols)
    {
        const int maxTokens = 17;
        var rng = new Random(rows * 17 + cols);
        (NativeBuffer buf, WeightMatrix w) = RandomMatrix(type, rows, cols, rng);
        using (buf)
        {
            (WeightMatrix tiled, NativeBuffer? owner) = Repacker.Repack(w);
            using (owner)
            {
                var x = new float[maxTokens * cols];
                for (int i = 0; i < x.Length; i++)
                {
                    x[i] = (float)(rng.NextDouble() * 2 - 1);
                }
                var chain = new float[maxTokens * rows];
                TiledFloat.Reference(w, x, chain, maxTokens);
                var ran = new List<TiledFloatKernel>();
                foreach (TiledFloatKernel kernel in Enum.GetValues<TiledFloatKernel>())
                {
                    if (!TiledFloat.CanRun(kernel))
                    {
                        continue;
                    }
                    ran.Add(kernel);
                    for (int n = 1; n <= maxTokens; n++)
                    {
                        var y = new float[n * rows];
                        TiledFloat.RunWith(kernel, tiled, x.AsSpan(0, n * cols), y, n);
                        Assert.True(Bits(y).SequenceEqual(Bits(chain.AsSpan(0, n * rows))), $"{kernel}, n = {n}: differs from the fma chain");
                    }
                }
                Assert.Contains(TiledFloatKernel.Scalar, ran);
                Assert.True(!Vector128.IsHardwareAccelerated || ran.Contains(TiledFloatKernel.Vector128), "the Vector128 kernel did not run");
            }
        }
    }

    [Fact]
    public void Fused_float_tiles_share_one_packed_input_and_equal_separate_products()
    {
        const int cols = 96, n = 13;
        var rng = new Random(3);
        int[] rows = [64, 40, 7];
        GgmlType[] types = [GgmlType.F16, GgmlType.BF16, GgmlType.F32];
        var buffers = new List<NativeBuffer>();
        var ws = new WeightMatrix[3];
        for (int m = 0; m < 3; m++)
        {
            (NativeBuffer b, WeightMatrix w) = RandomMatrix(types[m], rows[m], cols, rng);
            (WeightMatrix tiled, NativeBuffer? owner) = Repacker.Repack(w);
            buffers.Add(b);
            buffers.Add(owner!);
            ws[m] = tiled;
        }
        var x = new float[n * cols];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)(rng.NextDouble() * 2 - 1);
        }
        using var pool = new ComputePool(2);
        float[][] fused = [.. rows.Select(r => new float[n * r])];
        MatMul.Run(pool, x, n, ws[0], fused[0], ws[1], fused[1], ws[2], fused[2]);
        for (int m = 0; m < 3; m++)
        {
            var single = new float[n * rows[m]];
            MatMul.Run(pool, ws[m], x, single, n);
            Assert.True(Bits(single).SequenceEqual(Bits(fused[m])));
        }
        buffers.ForEach(b => b.Dispose());
    }

    [Fact]
    public void Repacking_keeps_every_value_and_pads_the_last_tile_with_zeros()
    {
        var rng = new Random(9);
        (NativeBuffer buf, WeightMatrix w) = RandomMatrix(GgmlType.F16, 40, 5, rng);
        using (buf)
        {
            (WeightMatrix tiled, NativeBuffer? owner) = Repacker.Repack(w);
            using (owner)
            {
                Assert.Equal(2L * TiledFloat.TileRows * 5 * 2, owner!.Length);
                ReadOnlySpan<ushort> t = MemoryMarshal.Cast<byte, ushort>(owner.Span(0, (int)owner.Length));
                for (int r = 0; r < 64; r++)
                {
                    for (int c = 0; c < 5; c++)
                    {
                        ushort expected = r < 40 ? MemoryMarshal.Cast<byte, ushort>(w.Row(r))[c] : (ushort)0;
                        Assert.Equal(expected, t[(r / 32 * 5 + c) * 32 + r % 32]);
                    }
                }
            }
        }
    }
}
