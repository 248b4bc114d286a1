using Cria.Numerics.Kernels;
using Cria.Numerics.Threading;

namespace Cria.Core.Models.Blocks;

/// <summary>
/// The SwiGLU feed-forward network (Shazeer 2020, "GLU Variants Improve Transformer" eq. 6):
/// xb = (SiLU(xb·Wgateᵀ) ⊙ xb·Wupᵀ)·Wdownᵀ, each matrix with its LoRA deltas; xb [n, dim] → [n, ff] → [n, dim].
/// </summary>
internal sealed class FeedForward
{
    private readonly ModelConfig _c;
    private readonly ComputePool _pool;

    public FeedForward(ModelConfig config, ComputePool pool)
    {
        _c = config;
        _pool = pool;
    }

    public void Forward(in TokenBatch b, int layer, LayerWeights w)
    {
        Activations a = b.Act;
        int n = b.Count;
        int ff = _c.FeedForwardLength;

        // hb = xb·Wgateᵀ, hb2 = xb·Wupᵀ in one pass over xb.
        MatMul.Run(_pool, a.Xb.AsSpan(0, n * a.Dim), n, w.Gate, a.Hb, w.Up, a.Hb2);
        Lora.Apply(b, layer, LoraTarget.Gate, a.Xb, a.Hb);
        Lora.Apply(b, layer, LoraTarget.Up, a.Xb, a.Hb2);

        // hb = SiLU(hb) ⊙ hb2; [n, ff].
        SwiGlu.Run(a.Hb.AsSpan(0, n * ff), a.Hb2.AsSpan(0, n * ff));

        // xb = hb·Wdownᵀ.
        MatMul.Run(_pool, w.Down, a.Hb.AsSpan(0, n * ff), a.Xb, n);
        Lora.Apply(b, layer, LoraTarget.Down, a.Hb, a.Xb);
    }
}
