using System.Numerics.Tensors;

using Cria.Core.Models;
using Cria.Core.Models.Blocks;
using Cria.Core.Training.Ops;
using Cria.Numerics.Kernels;
using Cria.Numerics.Memory;
using Cria.Numerics.Quants;
using Cria.Numerics.Threading;

namespace Cria.Core.Training;

/// <summary>
/// The training forward and backward of a frozen Llama-family model with trainable LoRA factors. The
/// forward mirrors <see cref="LlamaModel"/>'s RunLayers and its blocks (Models/Blocks) op for op (same
/// kernels, same rounding, so a zero B gives the model's logits), over one packed window at a time
/// with per-example attention masks and RoPE positions. Invariant between <see cref="Forward"/> and <see cref="Backward"/>: the
/// input of every block is kept ([layers + 1, n, dim], the last the final residual); activations
/// inside a block are kept for every block, or — with recomputation — for one block, recomputed from
/// its input during the backward (activation checkpointing, Chen et al. 2016), so memory grows with
/// n·dim per layer rather than with everything a block computes.
/// </summary>
internal sealed partial class LoraNetwork
{
    private readonly LlamaModel _model;
    private readonly LoraParameters _lora;
    private readonly ComputePool _pool;
    private readonly ModelConfig _c;
    private readonly float[] _invFreq;        // [pairs]
    private readonly float[][] _inputs;       // [layers + 1][capacity, dim]
    private readonly LayerActivations[] _acts; // one per layer, or one shared when recomputing
    private readonly float[] _cos, _sin;      // [capacity, pairs] of the window's positions
    private readonly float[] _tmp;            // [capacity, dim] block output before the residual add
    private readonly AttentionOp _attention = new();
    private readonly LoraOp _loraOp = new();
    private readonly CrossEntropyOp _crossEntropy = new();
    private readonly int _headRows;           // logits rows computed at once
    private readonly float[] _headNormed;     // [headRows, dim]
    private readonly float[] _headLogits;     // [headRows, vocab]
    private readonly float[] _headLosses;     // [headRows]
    private readonly float[] _finalRstd;      // [capacity]
    private TrainingWindow? _window;
    private float _dropout;
    private ulong _maskSeed;

    public LoraNetwork(LlamaModel model, LoraParameters lora, int capacity, bool recompute)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(lora);
        _model = model;
        _lora = lora;
        _pool = model.Pool;
        _c = model.Config;
        Capacity = capacity;
        Recompute = recompute;
        CheckRowLayout(model.Weights);
        _invFreq = RotaryEmbedding.Frequencies(_c, model.Weights.RopeFreqFactors);
        int dim = _c.EmbeddingLength;
        _inputs = new float[_c.BlockCount + 1][];
        for (int l = 0; l <= _c.BlockCount; l++)
        {
            _inputs[l] = new float[capacity * dim];
        }
        _acts = new LayerActivations[recompute ? 1 : _c.BlockCount];
        for (int i = 0; i < _acts.Length; i++)
        {
            _acts[i] = new LayerActivations(_c, capacity, lora.Rank, lora.Targets);
        }
        _cos = new float[capacity * _invFreq.Length];
        _sin = new float[capacity * _invFreq.Length];
        _tmp = new float[capacity * dim];
        int vocab = model.VocabSize;
        _headRows = (int)Math.Clamp((16L << 20) / vocab, 1, capacity);
        _headNormed = new float[_headRows * dim];
        _headLogits = new float[(long)_headRows * vocab];
        _headLosses = new float[_headRows];
        _finalRstd = new float[capacity];
        AllocateGradients(capacity);
    }

    public int Capacity { get; }

    public bool Recompute { get; }

    public ModelConfig Config => _c;

    public int VocabSize => _model.VocabSize;

    /// <summary>Bytes of activations and gradient scratch held (an estimate of training memory besides the weights).</summary>
    public long ActivationBytes =>
        4 * (_inputs.Sum(x => (long)x.Length) + _acts.Sum(a => a.Floats) + _cos.Length * 2L + _tmp.Length + _headNormed.Length + _headLogits.Length + GradientFloats);

    private static void CheckRowLayout(LlamaWeights w)
    {
        foreach (LayerWeights l in w.Layers)
        {
            foreach (WeightMatrix m in (WeightMatrix[])[l.Wq, l.Wk, l.Wv, l.Wo, l.Gate, l.Up, l.Down])
            {
                if (m.Layout != WeightLayout.Rows)
                {
                    throw new ArgumentException("training needs the weights in row layout: bind them with repack: false");
                }
            }
        }
        if (w.Output.Layout != WeightLayout.Rows)
        {
            throw new ArgumentException("training needs the output matrix in row layout: bind the weights with repack: false");
        }
    }

    private LayerActivations Act(int layer) => _acts[Recompute ? 0 : layer];

    /// <summary>
    /// Runs the window through the model. Returns the summed cross-entropy over the positions with a
    /// target. With <paramref name="gradScale"/> the gradient of gradScale · loss is left at the final
    /// residual for <see cref="Backward"/>; <paramref name="dropout"/> and <paramref name="maskSeed"/>
    /// fix the LoRA dropout masks (0 for evaluation).
    /// </summary>
    public double Forward(TrainingWindow window, float? gradScale, float dropout, ulong maskSeed)
    {
        Begin(window, dropout, maskSeed);
        int n = window.Length;
        for (int l = 0; l < _c.BlockCount; l++)
        {
            LayerForward(l, Act(l), n);
        }
        return Head(window, gradScale);
    }

    /// <summary>The logits of every position of the window into logits [n, vocab] (no dropout), for tests and evaluation.</summary>
    public void Logits(TrainingWindow window, Span<float> logits)
    {
        Begin(window, 0, 0);
        int n = window.Length;
        int dim = _c.EmbeddingLength;
        for (int l = 0; l < _c.BlockCount; l++)
        {
            LayerForward(l, Act(l), n);
        }
        var normed = new float[n * dim];
        RmsNormOp.Forward(_inputs[_c.BlockCount], _model.Weights.OutputNorm, _c.RmsEpsilon, normed, _finalRstd, n);
        var all = new float[n * VocabSize];
        FrozenLinearOp.Forward(_pool, _model.Weights.Output, normed, all, n);
        all.CopyTo(logits);
    }

    private void Begin(TrainingWindow window, float dropout, ulong maskSeed)
    {
        ArgumentNullException.ThrowIfNull(window);
        int n = window.Length;
        if (n > Capacity)
        {
            throw new ArgumentException($"the window has {n} tokens; the network holds {Capacity}");
        }
        _window = window;
        _dropout = dropout;
        _maskSeed = maskSeed;
        int dim = _c.EmbeddingLength;
        int pairs = _invFreq.Length;
        WeightMatrix embedding = _model.Weights.TokenEmbedding;
        for (int t = 0; t < n; t++)
        {
            int token = window.Tokens[t];
            if ((uint)token >= (uint)VocabSize || (window.Targets[t] >= VocabSize))
            {
                throw new ArgumentException($"token id {Math.Max(token, window.Targets[t])} at position {t} is outside the vocabulary of {VocabSize}");
            }
            Dequantize.Row(embedding.Type, embedding.Row(token), _inputs[0].AsSpan(t * dim, dim));
            Rope.Angles(t - window.SegmentStart[t], _invFreq, _cos.AsSpan(t * pairs, pairs), _sin.AsSpan(t * pairs, pairs));
        }
    }

    private ulong MaskSeed(int layer, LoraTarget target) => SeedMix.Of(_maskSeed, (ulong)layer, (ulong)target);

    /// <summary>One block, as RunLayers does it, keeping what the backward needs in <paramref name="a"/>.</summary>
    private void LayerForward(int l, LayerActivations a, int n)
    {
        ModelConfig c = _c;
        LayerWeights w = _model.Weights.Layers[l];
        int dim = c.EmbeddingLength;
        float[] x = _inputs[l];
        float[] xOut = _inputs[l + 1];

        // Attention block.
        RmsNormOp.Forward(x, w.AttnNorm, c.RmsEpsilon, a.Xn, a.Rstd1, n);
        FrozenLinearOp.Forward(_pool, a.Xn, n, w.Wq, a.Q, w.Wk, a.K, w.Wv, a.V);
        LoraForward(l, LoraTarget.Q, a, a.Xn, a.Q, n);
        LoraForward(l, LoraTarget.K, a, a.Xn, a.K, n);
        LoraForward(l, LoraTarget.V, a, a.Xn, a.V, n);
        if (w.Bq is not null)
        {
            for (int t = 0; t < n; t++)
            {
                TensorPrimitives.Add(a.Q.AsSpan(t * c.QDim, c.QDim), w.Bq, a.Q.AsSpan(t * c.QDim, c.QDim));
                TensorPrimitives.Add(a.K.AsSpan(t * c.KvDim, c.KvDim), w.Bk!, a.K.AsSpan(t * c.KvDim, c.KvDim));
                TensorPrimitives.Add(a.V.AsSpan(t * c.KvDim, c.KvDim), w.Bv!, a.V.AsSpan(t * c.KvDim, c.KvDim));
            }
        }
        int pairs = _invFreq.Length;
        RopeOp.Forward(a.Q, n, c.HeadCount, c.HeadDim, _cos.AsSpan(0, n * pairs), _sin.AsSpan(0, n * pairs), c.RopeStyle);
        RopeOp.Forward(a.K, n, c.HeadCountKv, c.HeadDim, _cos.AsSpan(0, n * pairs), _sin.AsSpan(0, n * pairs), c.RopeStyle);
        _attention.Forward(_pool, a.Q, a.K, a.V, _window!.SegmentStart, a.Att, a.Lse, n, c.HeadCount, c.HeadCountKv, c.HeadDim);
        FrozenLinearOp.Forward(_pool, w.Wo, a.Att, _tmp, n);
        LoraForward(l, LoraTarget.O, a, a.Att, _tmp, n);
        TensorPrimitives.Add(x.AsSpan(0, n * dim), _tmp.AsSpan(0, n * dim), a.X2.AsSpan(0, n * dim));

        // Feed-forward block.
        RmsNormOp.Forward(a.X2, w.FfnNorm, c.RmsEpsilon, a.Xn2, a.Rstd2, n);
        FrozenLinearOp.Forward(_pool, a.Xn2, n, w.Gate, a.G, w.Up, a.U);
        LoraForward(l, LoraTarget.Gate, a, a.Xn2, a.G, n);
        LoraForward(l, LoraTarget.Up, a, a.Xn2, a.U, n);
        int ffn = n * c.FeedForwardLength;
        SwiGluOp.Forward(a.G.AsSpan(0, ffn), a.U.AsSpan(0, ffn), a.H.AsSpan(0, ffn));
        FrozenLinearOp.Forward(_pool, w.Down, a.H, _tmp, n);
        LoraForward(l, LoraTarget.Down, a, a.H, _tmp, n);
        TensorPrimitives.Add(a.X2.AsSpan(0, n * dim), _tmp.AsSpan(0, n * dim), xOut.AsSpan(0, n * dim));
    }

    private void LoraForward(int l, LoraTarget target, LayerActivations a, float[] x, float[] y, int n)
    {
        if (_lora.Get(l, target) is { } p)
        {
            _loraOp.Forward(_pool, p, _lora.Scale, x, y, a.R[(int)target], n, _dropout, MaskSeed(l, target));
        }
    }

    /// <summary>
    /// The output norm, logits and cross-entropy for the positions with a target, in chunks of rows.
    /// With a gradient scale, leaves ∂(scale·loss)/∂(final residual) in the residual gradient.
    /// </summary>
    private double Head(TrainingWindow window, float? gradScale)
    {
        int n = window.Length;
        int dim = _c.EmbeddingLength;
        int vocab = VocabSize;
        float[] xf = _inputs[_c.BlockCount];
        if (gradScale is not null)
        {
            Array.Clear(_dx, 0, n * dim);
        }
        var rows = new List<int>(window.TrainableCount);
        for (int t = 0; t < n; t++)
        {
            if (window.Targets[t] >= 0)
            {
                rows.Add(t);
            }
        }
        double loss = 0;
        var targets = new int[_headRows];
        for (int r0 = 0; r0 < rows.Count; r0 += _headRows)
        {
            int m = Math.Min(_headRows, rows.Count - r0);
            for (int i = 0; i < m; i++)
            {
                int t = rows[r0 + i];
                targets[i] = window.Targets[t];
                RmsNormOp.Forward(xf.AsSpan(t * dim, dim), _model.Weights.OutputNorm, _c.RmsEpsilon, _headNormed.AsSpan(i * dim, dim), _finalRstd.AsSpan(t, 1), 1);
            }
            FrozenLinearOp.Forward(_pool, _model.Weights.Output, _headNormed, _headLogits, m);
            _crossEntropy.Run(_pool, _headLogits, vocab, targets.AsSpan(0, m), _headLosses, gradScale);
            for (int i = 0; i < m; i++)
            {
                loss += _headLosses[i];
            }
            if (gradScale is not null)
            {
                // The normed rows' gradient, then through the output norm into the residual.
                InputGradient.Run(_pool, _model.Weights.Output, _headLogits.AsSpan(0, m * vocab), _headNormed.AsSpan(0, m * dim), m);
                for (int i = 0; i < m; i++)
                {
                    int t = rows[r0 + i];
                    RmsNormOp.Backward(xf.AsSpan(t * dim, dim), _model.Weights.OutputNorm, _finalRstd.AsSpan(t, 1),
                        _headNormed.AsSpan(i * dim, dim), _dx.AsSpan(t * dim, dim), 1);
                }
            }
        }
        return loss;
    }
}
