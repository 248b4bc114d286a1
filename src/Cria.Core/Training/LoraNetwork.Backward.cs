using Cria.Core.Models;
using Cria.Core.Training.Ops;

namespace Cria.Core.Training;

/// <summary>The backward pass: from the final residual's gradient down through every block, accumulating the LoRA gradients.</summary>
internal sealed partial class LoraNetwork
{
    private float[] _dx = [];     // residual gradient [capacity, dim]
    private float[] _dxn = [];    // gradient of a normed input [capacity, dim]
    private float[] _dh = [];     // [capacity, ff]
    private float[] _dg = [];     // [capacity, ff]
    private float[] _du = [];     // [capacity, ff]
    private float[] _dAtt = [];   // [capacity, qDim]
    private float[] _dq = [];     // [capacity, qDim]
    private float[] _dk = [];     // [capacity, kvDim]
    private float[] _dv = [];     // [capacity, kvDim]

    private long GradientFloats => (long)_dx.Length + _dxn.Length + _dh.Length * 3L + _dAtt.Length + _dq.Length + _dk.Length + _dv.Length;

    private void AllocateGradients(int capacity)
    {
        int dim = _c.EmbeddingLength;
        int ff = _c.FeedForwardLength;
        _dx = new float[capacity * dim];
        _dxn = new float[capacity * dim];
        _dh = new float[capacity * ff];
        _dg = new float[capacity * ff];
        _du = new float[capacity * ff];
        _dAtt = new float[capacity * _c.QDim];
        _dq = new float[capacity * _c.QDim];
        _dk = new float[capacity * _c.KvDim];
        _dv = new float[capacity * _c.KvDim];
    }

    /// <summary>
    /// Accumulates ∂(scale·loss)/∂A and ∂/∂Bᵀ of the last <see cref="Forward"/> (called with a
    /// gradient scale) into the LoRA parameters' gradients.
    /// </summary>
    public void Backward()
    {
        TrainingWindow window = _window ?? throw new InvalidOperationException("Backward needs a Forward with a gradient scale first");
        int n = window.Length;
        for (int l = _c.BlockCount - 1; l >= 0; l--)
        {
            LayerActivations a = Act(l);
            if (Recompute)
            {
                LayerForward(l, a, n);
            }
            LayerBackward(l, a, n);
        }
    }

    /// <summary>
    /// One block in reverse. On entry _dx holds ∂/∂(block output); on exit ∂/∂(block input). The
    /// residual connections pass _dx through unchanged and the branches add to it.
    /// </summary>
    private void LayerBackward(int l, LayerActivations a, int n)
    {
        ModelConfig c = _c;
        LayerWeights w = _model.Weights.Layers[l];
        int pairs = _invFreq.Length;

        // Feed-forward block: out = X2 + down(swiglu(gate(xn2), up(xn2))).
        FrozenLinearOp.Backward(_pool, w.Down, _dx, _dh, n, accumulate: false);
        LoraBackward(l, LoraTarget.Down, a, a.H, _dx, _dh, n);
        int ffn = n * c.FeedForwardLength;
        SwiGluOp.Backward(a.G.AsSpan(0, ffn), a.U.AsSpan(0, ffn), _dh.AsSpan(0, ffn), _dg.AsSpan(0, ffn), _du.AsSpan(0, ffn));
        FrozenLinearOp.Backward(_pool, w.Gate, _dg, _dxn, n, accumulate: false);
        FrozenLinearOp.Backward(_pool, w.Up, _du, _dxn, n, accumulate: true);
        LoraBackward(l, LoraTarget.Gate, a, a.Xn2, _dg, _dxn, n);
        LoraBackward(l, LoraTarget.Up, a, a.Xn2, _du, _dxn, n);
        RmsNormOp.Backward(a.X2, w.FfnNorm, a.Rstd2, _dxn, _dx, n);

        // Attention block: X2 = X + o(attention(rope(q(xn)), rope(k(xn)), v(xn))).
        FrozenLinearOp.Backward(_pool, w.Wo, _dx, _dAtt, n, accumulate: false);
        LoraBackward(l, LoraTarget.O, a, a.Att, _dx, _dAtt, n);
        _attention.Backward(_pool, a.Q, a.K, a.V, _window!.SegmentStart, a.Att, a.Lse, _dAtt, _dq, _dk, _dv, n, c.HeadCount, c.HeadCountKv, c.HeadDim);
        RopeOp.Backward(_dq, n, c.HeadCount, c.HeadDim, _cos.AsSpan(0, n * pairs), _sin.AsSpan(0, n * pairs), c.RopeStyle);
        RopeOp.Backward(_dk, n, c.HeadCountKv, c.HeadDim, _cos.AsSpan(0, n * pairs), _sin.AsSpan(0, n * pairs), c.RopeStyle);
        FrozenLinearOp.Backward(_pool, w.Wq, _dq, _dxn, n, accumulate: false);
        FrozenLinearOp.Backward(_pool, w.Wk, _dk, _dxn, n, accumulate: true);
        FrozenLinearOp.Backward(_pool, w.Wv, _dv, _dxn, n, accumulate: true);
        LoraBackward(l, LoraTarget.Q, a, a.Xn, _dq, _dxn, n);
        LoraBackward(l, LoraTarget.K, a, a.Xn, _dk, _dxn, n);
        LoraBackward(l, LoraTarget.V, a, a.Xn, _dv, _dxn, n);
        RmsNormOp.Backward(_inputs[l], w.AttnNorm, a.Rstd1, _dxn, _dx, n);
    }

    private void LoraBackward(int l, LoraTarget target, LayerActivations a, float[] x, float[] dy, float[] dx, int n)
    {
        if (_lora.Get(l, target) is { } p)
        {
            _loraOp.Backward(_pool, p, _lora.Scale, x, a.R[(int)target], dy, dx, n, _dropout, MaskSeed(l, target));
        }
    }
}
