using System.Numerics.Tensors;

using Cria.Core.Sampling;
using Cria.Numerics.Threading;

namespace Cria.Core.Training.Ops;

/// <summary>
/// The trainable path of a LoRA layer (Hu et al. 2021; PEFT's lora_dropout on its input), forward and
/// backward: x̃ = m ⊙ x with m ∈ {0, 1/(1−p)} (dropout), r = A·x̃, y += s·B·r.
/// dB = s·dYᵀ·r, dr = s·dY·B, dA = drᵀ·x̃, dx += m ⊙ (dr·A).
/// The forward rounds exactly as <see cref="Models.LoraMatrix.Apply"/> (h = (A·x)·s, then y += Bᵀ rows · h),
/// so training and inference give the same logits. Rows are split over the pool for the
/// per-token parts and rank rows for the gradients, so every sum has one thread and one order.
/// Shapes: x [n, in], y and dY [n, out], r [n, rank].
/// </summary>
internal sealed class LoraOp
{
    private readonly TokenJob _tokens = new();
    private readonly GradJob _grads = new();
    private readonly MaskJob _masks = new();
    private float[] _mask = [];    // [n, in] dropout multipliers
    private float[] _dropped = []; // [n, in] x̃
    private float[] _dr = [];      // [n, rank]

    /// <summary>
    /// y += s·B·A·x̃ and r = A·x̃ (kept for the backward). With <paramref name="dropout"/> &gt; 0 the mask is
    /// drawn from <paramref name="maskSeed"/> (the same seed in the recomputation gives the same mask).
    /// </summary>
    public void Forward(ComputePool pool, LoraParameter p, float scale, float[] x, float[] y, float[] r, int n, float dropout, ulong maskSeed)
    {
        float[] input = Dropped(pool, p.In, x, n, dropout, maskSeed);
        _tokens.Set(p, scale, n);
        _tokens.X = input;
        _tokens.Y = y;
        _tokens.R = r;
        _tokens.Mode = TokenMode.Forward;
        pool.For(_tokens, n);
        _tokens.Clear();
    }

    /// <summary>Accumulates dA and dBᵀ into <paramref name="p"/> and adds the input gradient to dx.</summary>
    public void Backward(ComputePool pool, LoraParameter p, float scale, float[] x, float[] r, float[] dy, float[] dx, int n, float dropout, ulong maskSeed)
    {
        float[] input = Dropped(pool, p.In, x, n, dropout, maskSeed);
        if (_dr.Length < n * p.Rank)
        {
            _dr = new float[n * p.Rank];
        }
        _tokens.Set(p, scale, n);
        _tokens.Dy = dy;
        _tokens.Dr = _dr;
        _tokens.Mode = TokenMode.Dr;
        pool.For(_tokens, n);

        _grads.P = p;
        _grads.Scale = scale;
        _grads.N = n;
        _grads.X = input;
        _grads.R = r;
        _grads.Dy = dy;
        _grads.Dr = _dr;
        pool.For(_grads, 2 * p.Rank);
        _grads.P = null!;

        _tokens.Dx = dx;
        _tokens.Mask = dropout > 0 ? _mask : null;
        _tokens.Mode = TokenMode.Dx;
        pool.For(_tokens, n);
        _tokens.Clear();
    }

    /// <summary>x itself, or x̃ = m ⊙ x in scratch (m also kept in scratch for the backward).</summary>
    private float[] Dropped(ComputePool pool, int width, float[] x, int n, float dropout, ulong seed)
    {
        if (dropout <= 0)
        {
            return x;
        }
        if (_mask.Length < n * width)
        {
            _mask = new float[n * width];
            _dropped = new float[n * width];
        }
        _masks.Set(width, x, _mask, _dropped, dropout, seed);
        pool.For(_masks, n);
        return _dropped;
    }

    /// <summary>
    /// Fills row t of the mask from its own generator seeded by (seed, t): 16 random bits per element,
    /// kept when they are at or above p·2¹⁶. Independent of thread count and of the other rows.
    /// </summary>
    public static void MaskRow(Span<float> mask, float dropout, ulong seed, int row)
    {
        var rng = new Rng(SeedMix.Of(seed, (ulong)row));
        uint threshold = (uint)Math.Round(dropout * 65536.0);
        float keep = 1f / (1f - dropout);
        ulong bits = 0;
        for (int i = 0; i < mask.Length; i++)
        {
            if ((i & 3) == 0)
            {
                bits = rng.NextUInt64();
            }
            mask[i] = (uint)(bits & 0xFFFF) >= threshold ? keep : 0f;
            bits >>= 16;
        }
    }

    private enum TokenMode
    {
        Forward,
        Dr,
        Dx,
    }

    private sealed class TokenJob : ParallelJob
    {
        public LoraParameter P = null!;
        public float Scale;
        public int N;
        public TokenMode Mode;
        public float[] X = [], Y = [], R = [], Dy = [], Dr = [], Dx = [];
        public float[]? Mask;

        public void Set(LoraParameter p, float scale, int n) => (P, Scale, N) = (p, scale, n);

        public void Clear()
        {
            P = null!;
            X = Y = R = Dy = Dr = Dx = [];
            Mask = null;
        }

        public override void Execute(int start, int end, int worker)
        {
            LoraParameter p = P;
            int rank = p.Rank, inDim = p.In, outDim = p.Out;
            for (int t = start; t < end; t++)
            {
                switch (Mode)
                {
                    case TokenMode.Forward:
                        {
                            ReadOnlySpan<float> xt = X.AsSpan(t * inDim, inDim);
                            Span<float> yt = Y.AsSpan(t * outDim, outDim);
                            for (int k = 0; k < rank; k++)
                            {
                                R[t * rank + k] = TensorPrimitives.Dot(p.A.AsSpan(k * inDim, inDim), xt);
                            }
                            for (int k = 0; k < rank; k++)
                            {
                                TensorPrimitives.MultiplyAdd(p.BT.AsSpan(k * outDim, outDim), R[t * rank + k] * Scale, yt, yt);
                            }
                            break;
                        }
                    case TokenMode.Dr:
                        {
                            ReadOnlySpan<float> dyt = Dy.AsSpan(t * outDim, outDim);
                            for (int k = 0; k < rank; k++)
                            {
                                Dr[t * rank + k] = TensorPrimitives.Dot(p.BT.AsSpan(k * outDim, outDim), dyt) * Scale;
                            }
                            break;
                        }
                    default:
                        {
                            Span<float> dxt = Dx.AsSpan(t * inDim, inDim);
                            if (Mask is null)
                            {
                                for (int k = 0; k < rank; k++)
                                {
                                    TensorPrimitives.MultiplyAdd(p.A.AsSpan(k * inDim, inDim), Dr[t * rank + k], dxt, dxt);
                                }
                            }
                            else
                            {
                                Span<float> tmp = inDim <= 4096 ? stackalloc float[inDim] : new float[inDim];
                                tmp.Clear();
                                for (int k = 0; k < rank; k++)
                                {
                                    TensorPrimitives.MultiplyAdd(p.A.AsSpan(k * inDim, inDim), Dr[t * rank + k], tmp, tmp);
                                }
                                TensorPrimitives.MultiplyAdd(tmp, Mask.AsSpan(t * inDim, inDim), dxt, dxt);
                            }
                            break;
                        }
                }
            }
        }
    }

    /// <summary>Items [0, rank): row k of dBᵀ; items [rank, 2·rank): row k of dA. Each sums over tokens in order.</summary>
    private sealed class GradJob : ParallelJob
    {
        public LoraParameter P = null!;
        public float Scale;
        public int N;
        public float[] X = [], R = [], Dy = [], Dr = [];

        public override void Execute(int start, int end, int worker)
        {
            LoraParameter p = P;
            int rank = p.Rank;
            for (int item = start; item < end; item++)
            {
                if (item < rank)
                {
                    int k = item;
                    Span<float> g = p.GradBT.AsSpan(k * p.Out, p.Out);
                    for (int t = 0; t < N; t++)
                    {
                        TensorPrimitives.MultiplyAdd(Dy.AsSpan(t * p.Out, p.Out), R[t * rank + k] * Scale, g, g);
                    }
                }
                else
                {
                    int k = item - rank;
                    Span<float> g = p.GradA.AsSpan(k * p.In, p.In);
                    for (int t = 0; t < N; t++)
                    {
                        TensorPrimitives.MultiplyAdd(X.AsSpan(t * p.In, p.In), Dr[t * rank + k], g, g);
                    }
                }
            }
        }
    }

    private sealed class MaskJob : ParallelJob
    {
        private int _width;
        private float[] _x = [], _mask = [], _dropped = [];
        private float _dropout;
        private ulong _seed;

        public void Set(int width, float[] x, float[] mask, float[] dropped, float dropout, ulong seed) =>
            (_width, _x, _mask, _dropped, _dropout, _seed) = (width, x, mask, dropped, dropout, seed);

        public override void Execute(int start, int end, int worker)
        {
            for (int t = start; t < end; t++)
            {
                Span<float> m = _mask.AsSpan(t * _width, _width);
                MaskRow(m, _dropout, _seed, t);
                TensorPrimitives.Multiply(_x.AsSpan(t * _width, _width), m, _dropped.AsSpan(t * _width, _width));
            }
        }
    }

    /// <summary>Scalar reference in double: y [n, out] += s·B·A·x for x [n, in] (no dropout), with B [out, rank].</summary>
    public static void ForwardReference(double[] a, double[] b, int rank, int inDim, int outDim, double scale, double[] x, double[] y, int n)
    {
        for (int t = 0; t < n; t++)
        {
            for (int k = 0; k < rank; k++)
            {
                double r = 0;
                for (int i = 0; i < inDim; i++)
                {
                    r += a[k * inDim + i] * x[t * inDim + i];
                }
                for (int o = 0; o < outDim; o++)
                {
                    y[t * outDim + o] += scale * b[o * rank + k] * r;
                }
            }
        }
    }

    /// <summary>Scalar reference in double of the backward: dA [rank, in], dB [out, rank] and dx [n, in] are accumulated.</summary>
    public static void BackwardReference(double[] a, double[] b, int rank, int inDim, int outDim, double scale, double[] x, double[] dy,
        double[] da, double[] db, double[] dx, int n)
    {
        for (int t = 0; t < n; t++)
        {
            for (int k = 0; k < rank; k++)
            {
                double r = 0, dr = 0;
                for (int i = 0; i < inDim; i++)
                {
                    r += a[k * inDim + i] * x[t * inDim + i];
                }
                for (int o = 0; o < outDim; o++)
                {
                    db[o * rank + k] += scale * dy[t * outDim + o] * r;
                    dr += scale * dy[t * outDim + o] * b[o * rank + k];
                }
                for (int i = 0; i < inDim; i++)
                {
                    da[k * inDim + i] += dr * x[t * inDim + i];
                    dx[t * inDim + i] += dr * a[k * inDim + i];
                }
            }
        }
    }
}
