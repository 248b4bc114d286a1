using Cria.Core.Models;
using Cria.Core.Training;
using Cria.Core.Training.Ops;
using Cria.Numerics;
using Cria.Numerics.Kernels;
using Cria.Numerics.Memory;
using Cria.Numerics.Quants;
using Cria.Numerics.Threading;

using static Cria.Core.Tests.Training.GradCheck;

namespace Cria.Core.Tests.Training;

/// <summary>
/// Every training op's backward: the float64 scalar reference against central finite differences of
/// the reference forward (L = Σ y ⊙ R for a random R), then the float32 op the trainer runs against
/// the reference, forward and backward, on small random shapes.
/// </summary>
public sealed class OpGradientTests : IDisposable
{
    private readonly ComputePool _pool = new(2);

    public void Dispose() => _pool.Dispose();

    [Fact]
    public void RmsNorm()
    {
        var rng = new Random(1);
        const int n = 3, dim = 16;
        const double eps = 1e-5;
        double[] x = Random(rng, n * dim), r = Random(rng, n * dim);
        double[] w = Random(rng, dim).Select(v => 1 + 0.5 * v).ToArray();
        double Loss()
        {
            var y = new double[n * dim];
            RmsNormOp.ForwardReference(x, w, eps, y, n);
            return Dot(y, r);
        }
        var analytic = new double[n * dim];
        RmsNormOp.BackwardReference(x, w, eps, r, analytic, n);
        Close(Numeric(Loss, x), analytic, 1e-7, "reference dx");

        var yRef = new double[n * dim];
        RmsNormOp.ForwardReference(x, w, eps, yRef, n);
        var y32 = new float[n * dim];
        var rstd = new float[n];
        RmsNormOp.Forward(ToFloat(x), ToFloat(w), (float)eps, y32, rstd, n);
        Close(yRef, y32, 1e-5, "y");
        var dx32 = new float[n * dim];
        RmsNormOp.Backward(ToFloat(x), ToFloat(w), rstd, ToFloat(r), dx32, n);
        Close(analytic, dx32, 1e-5, "dx");
    }

    [Theory]
    [InlineData(RopeStyle.Normal)]
    [InlineData(RopeStyle.NeoX)]
    public void Rope(RopeStyle style)
    {
        var rng = new Random(2);
        const int n = 4, heads = 3, headDim = 8;
        int[] positions = [0, 5, 1, 40];
        double[] invFreq = Enumerable.Range(0, headDim / 2).Select(i => Math.Pow(10000, -2.0 * i / headDim)).ToArray();
        double[] x = Random(rng, n * heads * headDim), r = Random(rng, x.Length);
        double Loss()
        {
            double[] y = (double[])x.Clone();
            RopeOp.ForwardReference(y, n, heads, headDim, positions, invFreq, style);
            return Dot(y, r);
        }
        double[] analytic = (double[])r.Clone();
        RopeOp.BackwardReference(analytic, n, heads, headDim, positions, invFreq, style);
        Close(Numeric(Loss, x), analytic, 1e-7, "reference dx");

        float[] inv32 = ToFloat(invFreq);
        var cos = new float[n * headDim / 2];
        var sin = new float[n * headDim / 2];
        for (int t = 0; t < n; t++)
        {
            Cria.Numerics.Kernels.Rope.Angles(positions[t], inv32, cos.AsSpan(t * headDim / 2, headDim / 2), sin.AsSpan(t * headDim / 2, headDim / 2));
        }
        double[] yRef = (double[])x.Clone();
        RopeOp.ForwardReference(yRef, n, heads, headDim, positions, invFreq, style);
        float[] y32 = ToFloat(x);
        RopeOp.Forward(y32, n, heads, headDim, cos, sin, style);
        Close(yRef, y32, 1e-5, "y");
        float[] dx32 = ToFloat(r);
        RopeOp.Backward(dx32, n, heads, headDim, cos, sin, style);
        Close(analytic, dx32, 1e-5, "dx");
    }

    [Fact]
    public void Causal_grouped_query_attention_within_packed_segments()
    {
        var rng = new Random(3);
        const int n = 7, heads = 4, kvHeads = 2, headDim = 8;
        int[] seg = [0, 0, 0, 3, 3, 3, 3];
        double[] q = Random(rng, n * heads * headDim), k = Random(rng, n * kvHeads * headDim), v = Random(rng, n * kvHeads * headDim);
        double[] r = Random(rng, n * heads * headDim);
        double Loss()
        {
            var att = new double[n * heads * headDim];
            AttentionOp.ForwardReference(q, k, v, seg, att, n, heads, kvHeads, headDim);
            return Dot(att, r);
        }
        var dq = new double[q.Length];
        var dk = new double[k.Length];
        var dv = new double[v.Length];
        AttentionOp.BackwardReference(q, k, v, seg, r, dq, dk, dv, n, heads, kvHeads, headDim);
        Close(Numeric(Loss, q), dq, 1e-7, "reference dq");
        Close(Numeric(Loss, k), dk, 1e-7, "reference dk");
        Close(Numeric(Loss, v), dv, 1e-7, "reference dv");

        var attRef = new double[q.Length];
        AttentionOp.ForwardReference(q, k, v, seg, attRef, n, heads, kvHeads, headDim);
        var op = new AttentionOp();
        var att32 = new float[q.Length];
        var lse = new float[n * heads];
        float[] q32 = ToFloat(q), k32 = ToFloat(k), v32 = ToFloat(v);
        op.Forward(_pool, q32, k32, v32, seg, att32, lse, n, heads, kvHeads, headDim);
        Close(attRef, att32, 1e-5, "att");
        var dq32 = new float[q.Length];
        var dk32 = new float[k.Length];
        var dv32 = new float[v.Length];
        op.Backward(_pool, q32, k32, v32, seg, att32, lse, ToFloat(r), dq32, dk32, dv32, n, heads, kvHeads, headDim);
        Close(dq, dq32, 1e-5, "dq");
        Close(dk, dk32, 1e-5, "dk");
        Close(dv, dv32, 1e-5, "dv");
    }

    [Fact]
    public void Packed_segments_do_not_attend_to_each_other()
    {
        var rng = new Random(4);
        const int n = 6, heads = 2, kvHeads = 1, headDim = 4;
        int[] seg = [0, 0, 2, 2, 2, 5];
        double[] q = Random(rng, n * heads * headDim), k = Random(rng, n * kvHeads * headDim), v = Random(rng, n * kvHeads * headDim);
        var a = new double[q.Length];
        AttentionOp.ForwardReference(q, k, v, seg, a, n, heads, kvHeads, headDim);
        // Perturb the keys and values of the first example: later examples do not change.
        for (int i = 0; i < 2 * kvHeads * headDim; i++)
        {
            k[i] += 1;
            v[i] -= 1;
        }
        var b = new double[q.Length];
        AttentionOp.ForwardReference(q, k, v, seg, b, n, heads, kvHeads, headDim);
        for (int i = 2 * heads * headDim; i < q.Length; i++)
        {
            Assert.Equal(a[i], b[i]);
        }
        Assert.NotEqual(a[0], b[0]);
    }

    [Fact]
    public void SwiGlu()
    {
        var rng = new Random(5);
        const int m = 40;
        double[] g = Random(rng, m, 3), u = Random(rng, m, 2), r = Random(rng, m);
        double Loss()
        {
            var h = new double[m];
            SwiGluOp.ForwardReference(g, u, h);
            return Dot(h, r);
        }
        var dg = new double[m];
        var du = new double[m];
        SwiGluOp.BackwardReference(g, u, r, dg, du);
        Close(Numeric(Loss, g), dg, 1e-7, "reference dg");
        Close(Numeric(Loss, u), du, 1e-7, "reference du");

        var hRef = new double[m];
        SwiGluOp.ForwardReference(g, u, hRef);
        var h32 = new float[m];
        SwiGluOp.Forward(ToFloat(g), ToFloat(u), h32);
        Close(hRef, h32, 1e-5, "h");
        // The forward rounds exactly as the inference kernel.
        float[] gate = ToFloat(g), up = ToFloat(u);
        Cria.Numerics.Kernels.SwiGlu.Run(gate, up);
        Assert.Equal(gate, h32);
        var dg32 = new float[m];
        var du32 = new float[m];
        SwiGluOp.Backward(ToFloat(g), ToFloat(u), ToFloat(r), dg32, du32);
        Close(dg, dg32, 1e-5, "dg");
        Close(du, du32, 1e-5, "du");
    }

    [Theory]
    [InlineData(GgmlType.F32, 20)]
    [InlineData(GgmlType.F16, 20)]
    [InlineData(GgmlType.Q8_0, 64)]
    [InlineData(GgmlType.Q4_0, 64)]
    public void Frozen_matmul_with_a_LoRA_path(GgmlType type, int inDim)
    {
        var rng = new Random(6 + (int)type);
        const int n = 5, outDim = 12, rank = 3;
        const double scale = 16.0 / rank;
        long rowBytes = GgmlTypes.RowBytes(type, inDim);
        using var buf = new NativeBuffer(rowBytes * outDim);
        float[] wf = ToFloat(Random(rng, outDim * inDim));
        for (int o = 0; o < outDim; o++)
        {
            if (type == GgmlType.F32)
            {
                System.Runtime.InteropServices.MemoryMarshal.AsBytes(wf.AsSpan(o * inDim, inDim)).CopyTo(buf.Span(o * rowBytes, (int)rowBytes));
            }
            else
            {
                Quantize.Row(type, wf.AsSpan(o * inDim, inDim), buf.Span(o * rowBytes, (int)rowBytes));
            }
        }
        WeightMatrix w = buf.Matrix(type, 0, outDim, inDim);
        var deq = new float[outDim * inDim];
        for (int o = 0; o < outDim; o++)
        {
            Dequantize.Row(type, w.Row(o), deq.AsSpan(o * inDim, inDim));
        }
        double[] wd = deq.Select(v => (double)v).ToArray();
        double[] x = Random(rng, n * inDim), a = Random(rng, rank * inDim, 0.3), b = Random(rng, outDim * rank, 0.3), r = Random(rng, n * outDim);
        double Loss()
        {
            var y = new double[n * outDim];
            FrozenLinearOp.ForwardReference(wd, outDim, inDim, x, y, n);
            LoraOp.ForwardReference(a, b, rank, inDim, outDim, scale, x, y, n);
            return Dot(y, r);
        }
        var dx = new double[x.Length];
        var da = new double[a.Length];
        var db = new double[b.Length];
        FrozenLinearOp.BackwardReference(wd, outDim, inDim, r, dx, n);
        LoraOp.BackwardReference(a, b, rank, inDim, outDim, scale, x, r, da, db, dx, n);
        Close(Numeric(Loss, x), dx, 1e-7, "reference dx");
        Close(Numeric(Loss, a), da, 1e-7, "reference dA");
        Close(Numeric(Loss, b), db, 1e-7, "reference dB");

        var p = new LoraParameter(0, LoraTarget.Q, rank, inDim, outDim);
        ToFloat(a).CopyTo(p.A, 0);
        for (int o = 0; o < outDim; o++)
        {
            for (int k = 0; k < rank; k++)
            {
                p.BT[k * outDim + o] = (float)b[o * rank + k];
            }
        }
        float[] x32 = ToFloat(x);
        var y32 = new float[n * outDim];
        var rBuf = new float[n * rank];
        var op = new LoraOp();
        FrozenLinearOp.Forward(_pool, w, x32, y32, n);
        op.Forward(_pool, p, (float)scale, x32, y32, rBuf, n, 0, 0);
        if (type is GgmlType.F32 or GgmlType.F16)
        {
            var yRef = new double[n * outDim];
            FrozenLinearOp.ForwardReference(wd, outDim, inDim, x, yRef, n);
            LoraOp.ForwardReference(a, b, rank, inDim, outDim, scale, x, yRef, n);
            Close(yRef, y32, 1e-5, "y");
        }
        var dx32 = new float[x.Length];
        float[] r32 = ToFloat(r);
        FrozenLinearOp.Backward(_pool, w, r32, dx32, n, accumulate: false);
        op.Backward(_pool, p, (float)scale, x32, rBuf, r32, dx32, n, 0, 0);
        Close(dx, dx32, 1e-5, "dx");
        Close(da, p.GradA, 1e-5, "dA");
        Close(db, Transposed(p.GradBT, rank, outDim), 1e-5, "dB");
    }

    private static float[] Transposed(float[] bt, int rank, int outDim)
    {
        var b = new float[bt.Length];
        for (int k = 0; k < rank; k++)
        {
            for (int o = 0; o < outDim; o++)
            {
                b[o * rank + k] = bt[k * outDim + o];
            }
        }
        return b;
    }

    [Fact]
    public void LoRA_dropout_masks_the_input_of_the_trainable_path_only()
    {
        var rng = new Random(8);
        const int n = 64, inDim = 48, outDim = 10, rank = 2;
        const float dropout = 0.3f;
        const ulong seed = 1234;
        var p = new LoraParameter(0, LoraTarget.Up, rank, inDim, outDim);
        ToFloat(Random(rng, p.A.Length)).CopyTo(p.A, 0);
        ToFloat(Random(rng, p.BT.Length)).CopyTo(p.BT, 0);
        double[] x = Random(rng, n * inDim);
        var mask = new float[n * inDim];
        for (int t = 0; t < n; t++)
        {
            LoraOp.MaskRow(mask.AsSpan(t * inDim, inDim), dropout, seed, t);
        }
        double dropped = mask.Count(m => m == 0) / (double)mask.Length;
        Assert.InRange(dropped, 0.25, 0.35);
        Assert.All(mask, m => Assert.True(m == 0 || Math.Abs(m - 1 / (1 - dropout)) < 1e-6));

        // The op with dropout equals the reference on x̃ = mask ⊙ x; its dx is mask ⊙ (reference dx̃).
        double[] xd = x.Select((v, i) => v * mask[i]).ToArray();
        double[] a = p.A.Select(v => (double)v).ToArray();
        double[] b = Transposed(p.BT, rank, outDim).Select(v => (double)v).ToArray();
        var yRef = new double[n * outDim];
        LoraOp.ForwardReference(a, b, rank, inDim, outDim, 2, xd, yRef, n);
        var op = new LoraOp();
        var y32 = new float[n * outDim];
        var rBuf = new float[n * rank];
        op.Forward(_pool, p, 2, ToFloat(x), y32, rBuf, n, dropout, seed);
        Close(yRef, y32, 1e-5, "y");
        double[] dy = Random(rng, n * outDim);
        var dxd = new double[x.Length];
        var da = new double[a.Length];
        var db = new double[b.Length];
        LoraOp.BackwardReference(a, b, rank, inDim, outDim, 2, xd, dy, da, db, dxd, n);
        var dx32 = new float[x.Length];
        op.Backward(_pool, p, 2, ToFloat(x), rBuf, ToFloat(dy), dx32, n, dropout, seed);
        Close(dxd.Select((v, i) => v * mask[i]).ToArray(), dx32, 1e-5, "dx");
        Close(da, p.GradA, 1e-5, "dA");
    }

    [Fact]
    public void Cross_entropy()
    {
        var rng = new Random(9);
        const int rows = 3, vocab = 11;
        const double w = 0.25;
        double[] z = Random(rng, rows * vocab, 4);
        int[] targets = [3, 0, 10];
        double Loss() => w * CrossEntropyOp.Reference(z, vocab, targets, w, null);
        var dz = new double[z.Length];
        double total = CrossEntropyOp.Reference(z, vocab, targets, w, dz);
        Close(Numeric(Loss, z), dz, 1e-7, "reference dz");

        float[] z32 = ToFloat(z);
        var losses = new float[rows];
        new CrossEntropyOp().Run(_pool, z32, vocab, targets, losses, (float)w);
        Assert.Equal(total, losses.Sum(v => (double)v), 1e-5);
        Close(dz, z32, 1e-6, "dz");
    }
}
