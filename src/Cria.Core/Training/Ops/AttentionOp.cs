using System.Numerics.Tensors;

using Cria.Numerics.Threading;

namespace Cria.Core.Training.Ops;

/// <summary>
/// Causal scaled dot-product attention with grouped-query heads over a packed window, forward and
/// backward. Token t attends to positions [segStart[t], t] only, so packed examples never see each
/// other. The forward keeps only the log-sum-exp of each (token, head) row; the backward recomputes
/// the probabilities from it (FlashAttention's trick, Dao et al. 2022 §3.1), so memory stays
/// O(n·heads), not O(n²·heads). With P = softmax(S), S = q·kᵀ/√d and D = dO·O:
/// dV = Pᵀ·dO, dS = P ⊙ (dO·Vᵀ − D), dQ = dS·K/√d, dK = dSᵀ·Q/√d (summed over a group's query heads).
/// Work is split over (head, token) rows forward and over kv heads backward, so each output element
/// is summed by one thread in a fixed order.
/// Shapes: q, att, dq [n, heads·headDim]; k, v, dk, dv [n, kvHeads·headDim]; lse [n, heads].
/// </summary>
internal sealed class AttentionOp
{
    private readonly ForwardJob _forward = new();
    private readonly BackwardJob _backward = new();

    public void Forward(ComputePool pool, float[] q, float[] k, float[] v, int[] segStart, float[] att, float[] lse, int n, int heads, int kvHeads, int headDim)
    {
        _forward.Set(pool.ThreadCount, n, heads, kvHeads, headDim, q, k, v, segStart);
        _forward.Att = att;
        _forward.Lse = lse;
        pool.For(_forward, n * heads);
        _forward.Clear();
    }

    public void Backward(ComputePool pool, float[] q, float[] k, float[] v, int[] segStart, float[] att, float[] lse, float[] dAtt,
        float[] dq, float[] dk, float[] dv, int n, int heads, int kvHeads, int headDim)
    {
        _backward.Set(pool.ThreadCount, n, heads, kvHeads, headDim, q, k, v, segStart);
        _backward.Att = att;
        _backward.Lse = lse;
        _backward.DAtt = dAtt;
        _backward.Dq = dq;
        _backward.Dk = dk;
        _backward.Dv = dv;
        pool.For(_backward, kvHeads);
        _backward.Clear();
    }

    private abstract class Job : ParallelJob
    {
        protected float[][] Scratch { get; set; } = [];
        public int N, Heads, KvHeads, HeadDim;
        public float Scale;
        public float[] Q = [], K = [], V = [], Att = [], Lse = [];
        public int[] SegStart = [];

        public void Set(int threads, int n, int heads, int kvHeads, int headDim, float[] q, float[] k, float[] v, int[] segStart)
        {
            if (Scratch.Length < threads || Scratch[0].Length < n)
            {
                Scratch = new float[threads][];
                for (int i = 0; i < threads; i++)
                {
                    Scratch[i] = new float[n];
                }
            }
            (N, Heads, KvHeads, HeadDim) = (n, heads, kvHeads, headDim);
            Scale = 1f / MathF.Sqrt(headDim);
            (Q, K, V, SegStart) = (q, k, v, segStart);
        }

        public virtual void Clear()
        {
            Q = K = V = Att = Lse = [];
            SegStart = [];
        }

        /// <summary>Scaled scores of (t, h) against keys [s, t] into sc [t − s + 1].</summary>
        protected void Scores(int t, int h, int s, Span<float> sc)
        {
            int qDim = Heads * HeadDim;
            int kvDim = KvHeads * HeadDim;
            int g = h / (Heads / KvHeads);
            ReadOnlySpan<float> qt = Q.AsSpan(t * qDim + h * HeadDim, HeadDim);
            for (int j = s; j <= t; j++)
            {
                sc[j - s] = TensorPrimitives.Dot(qt, K.AsSpan(j * kvDim + g * HeadDim, HeadDim)) * Scale;
            }
        }
    }

    private sealed class ForwardJob : Job
    {
        public override void Execute(int start, int end, int worker)
        {
            int qDim = Heads * HeadDim;
            int kvDim = KvHeads * HeadDim;
            for (int item = start; item < end; item++)
            {
                int h = item / N;
                int t = item % N;
                int s = SegStart[t];
                int g = h / (Heads / KvHeads);
                Span<float> sc = Scratch[worker].AsSpan(0, t - s + 1);
                Scores(t, h, s, sc);
                float max = TensorPrimitives.Max(sc);
                TensorPrimitives.Subtract(sc, max, sc);
                TensorPrimitives.Exp(sc, sc);
                float sum = TensorPrimitives.Sum(sc);
                TensorPrimitives.Multiply(sc, 1f / sum, sc);
                Span<float> o = Att.AsSpan(t * qDim + h * HeadDim, HeadDim);
                o.Clear();
                for (int j = s; j <= t; j++)
                {
                    TensorPrimitives.MultiplyAdd(V.AsSpan(j * kvDim + g * HeadDim, HeadDim), sc[j - s], o, o);
                }
                Lse[t * Heads + h] = max + MathF.Log(sum);
            }
        }
    }

    private sealed class BackwardJob : Job
    {
        public float[] DAtt = [], Dq = [], Dk = [], Dv = [];

        public override void Clear()
        {
            base.Clear();
            DAtt = Dq = Dk = Dv = [];
        }

        public override void Execute(int start, int end, int worker)
        {
            int qDim = Heads * HeadDim;
            int kvDim = KvHeads * HeadDim;
            int group = Heads / KvHeads;
            for (int g = start; g < end; g++)
            {
                for (int j = 0; j < N; j++)
                {
                    Dk.AsSpan(j * kvDim + g * HeadDim, HeadDim).Clear();
                    Dv.AsSpan(j * kvDim + g * HeadDim, HeadDim).Clear();
                }
                for (int h = g * group; h < (g + 1) * group; h++)
                {
                    for (int t = 0; t < N; t++)
                    {
                        int s = SegStart[t];
                        Span<float> p = Scratch[worker].AsSpan(0, t - s + 1);
                        Scores(t, h, s, p);
                        TensorPrimitives.Subtract(p, Lse[t * Heads + h], p);
                        TensorPrimitives.Exp(p, p);
                        ReadOnlySpan<float> qt = Q.AsSpan(t * qDim + h * HeadDim, HeadDim);
                        ReadOnlySpan<float> dO = DAtt.AsSpan(t * qDim + h * HeadDim, HeadDim);
                        float d = TensorPrimitives.Dot(dO, Att.AsSpan(t * qDim + h * HeadDim, HeadDim));
                        Span<float> dqt = Dq.AsSpan(t * qDim + h * HeadDim, HeadDim);
                        dqt.Clear();
                        for (int j = s; j <= t; j++)
                        {
                            int kv = j * kvDim + g * HeadDim;
                            float pj = p[j - s];
                            float ds = pj * (TensorPrimitives.Dot(dO, V.AsSpan(kv, HeadDim)) - d) * Scale;
                            TensorPrimitives.MultiplyAdd(K.AsSpan(kv, HeadDim), ds, dqt, dqt);
                            Span<float> dkj = Dk.AsSpan(kv, HeadDim);
                            TensorPrimitives.MultiplyAdd(qt, ds, dkj, dkj);
                            Span<float> dvj = Dv.AsSpan(kv, HeadDim);
                            TensorPrimitives.MultiplyAdd(dO, pj, dvj, dvj);
                        }
                    }
                }
            }
        }
    }

    /// <summary>Scalar reference in double of the forward (segment-causal, grouped heads).</summary>
    public static void ForwardReference(double[] q, double[] k, double[] v, int[] segStart, double[] att, int n, int heads, int kvHeads, int headDim)
    {
        int qDim = heads * headDim, kvDim = kvHeads * headDim, group = heads / kvHeads;
        double scale = 1 / Math.Sqrt(headDim);
        for (int t = 0; t < n; t++)
        {
            for (int h = 0; h < heads; h++)
            {
                double[] p = ReferenceProbabilities(q, k, segStart, t, h, qDim, kvDim, group, headDim, scale);
                for (int e = 0; e < headDim; e++)
                {
                    double o = 0;
                    for (int j = segStart[t]; j <= t; j++)
                    {
                        o += p[j - segStart[t]] * v[j * kvDim + h / group * headDim + e];
                    }
                    att[t * qDim + h * headDim + e] = o;
                }
            }
        }
    }

    /// <summary>Scalar reference in double of the backward: dq, dk, dv are accumulated.</summary>
    public static void BackwardReference(double[] q, double[] k, double[] v, int[] segStart, double[] dAtt, double[] dq, double[] dk, double[] dv,
        int n, int heads, int kvHeads, int headDim)
    {
        int qDim = heads * headDim, kvDim = kvHeads * headDim, group = heads / kvHeads;
        double scale = 1 / Math.Sqrt(headDim);
        for (int t = 0; t < n; t++)
        {
            for (int h = 0; h < heads; h++)
            {
                int g = h / group, s = segStart[t];
                double[] p = ReferenceProbabilities(q, k, segStart, t, h, qDim, kvDim, group, headDim, scale);
                var dp = new double[p.Length];
                double d = 0;
                for (int j = s; j <= t; j++)
                {
                    for (int e = 0; e < headDim; e++)
                    {
                        dp[j - s] += dAtt[t * qDim + h * headDim + e] * v[j * kvDim + g * headDim + e];
                    }
                    d += p[j - s] * dp[j - s];
                }
                for (int j = s; j <= t; j++)
                {
                    double ds = p[j - s] * (dp[j - s] - d) * scale;
                    for (int e = 0; e < headDim; e++)
                    {
                        dq[t * qDim + h * headDim + e] += ds * k[j * kvDim + g * headDim + e];
                        dk[j * kvDim + g * headDim + e] += ds * q[t * qDim + h * headDim + e];
                        dv[j * kvDim + g * headDim + e] += p[j - s] * dAtt[t * qDim + h * headDim + e];
                    }
                }
            }
        }
    }

    private static double[] ReferenceProbabilities(double[] q, double[] k, int[] segStart, int t, int h, int qDim, int kvDim, int group, int headDim, double scale)
    {
        int s = segStart[t];
        var p = new double[t - s + 1];
        double max = double.NegativeInfinity;
        for (int j = s; j <= t; j++)
        {
            double dot = 0;
            for (int e = 0; e < headDim; e++)
            {
                dot += q[t * qDim + h * headDim + e] * k[j * kvDim + h / group * headDim + e];
            }
            p[j - s] = dot * scale;
            max = Math.Max(max, p[j - s]);
        }
        double sum = 0;
        for (int i = 0; i < p.Length; i++)
        {
            p[i] = Math.Exp(p[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < p.Length; i++)
        {
            p[i] /= sum;
        }
        return p;
    }
}
