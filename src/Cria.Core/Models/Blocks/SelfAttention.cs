using System.Numerics.Tensors;

using Cria.Numerics.Kernels;
using Cria.Numerics.Threading;

namespace Cria.Core.Models.Blocks;

/// <summary>
/// Causal grouped-query self-attention over each sequence's KV cache (Vaswani et al. 2017 §3.2.2;
/// GQA, Ainslie et al. 2023), with rotary positions: xb [n, dim] in, xb [n, dim] out. A chunk's keys
/// and values go into its cache before it attends, so each token sees its sequence's earlier
/// positions and itself — and nothing of the other sequences in the batch.
/// </summary>
internal sealed class SelfAttention
{
    private readonly ModelConfig _c;
    private readonly ComputePool _pool;

    public SelfAttention(ModelConfig config, ComputePool pool)
    {
        _c = config;
        _pool = pool;
    }

    public void Forward(in TokenBatch b, int layer, LayerWeights w)
    {
        Activations a = b.Act;
        int n = b.Count;
        int qDim = _c.QDim;

        // q, k, v = xb·Wqᵀ, xb·Wkᵀ, xb·Wvᵀ in one pass over xb, then each sequence's LoRA deltas.
        MatMul.Run(_pool, a.Xb.AsSpan(0, n * a.Dim), n, w.Wq, a.Q, w.Wk, a.K, w.Wv, a.V);
        Lora.Apply(b, layer, LoraTarget.Q, a.Xb, a.Q);
        Lora.Apply(b, layer, LoraTarget.K, a.Xb, a.K);
        Lora.Apply(b, layer, LoraTarget.V, a.Xb, a.V);

        foreach (SequenceChunk chunk in b.Chunks)
        {
            for (int i = 0; i < chunk.Count; i++)
            {
                RotateAndStore(a, layer, w, chunk.Context, chunk.Context.Position + i, chunk.Offset + i);
            }
            // att = softmax(q·kᵀ/√headDim)·v over the sequence's positions [0, position of each token].
            ReadOnlySpan<float> q = a.Q.AsSpan(chunk.Offset * qDim, chunk.Count * qDim);
            Span<float> att = a.Att.AsSpan(chunk.Offset * qDim, chunk.Count * qDim);
            chunk.Context.Attend(_pool, layer, _c, q, att, chunk.Count);
        }

        // xb = att·Woᵀ, plus LoRA.
        MatMul.Run(_pool, w.Wo, a.Att.AsSpan(0, n * qDim), a.Xb, n);
        Lora.Apply(b, layer, LoraTarget.O, a.Att, a.Xb);
    }

    /// <summary>
    /// Token t of the batch, at <paramref name="position"/> of its sequence: q, k, v biases (qwen2),
    /// RoPE on q and k, then k and v into the sequence's cache.
    /// </summary>
    private void RotateAndStore(Activations a, int layer, LayerWeights w, InferenceContext s, int position, int t)
    {
        ModelConfig c = _c;
        Span<float> q = a.Q.AsSpan(t * c.QDim, c.QDim);     // [heads, headDim]
        Span<float> k = a.K.AsSpan(t * c.KvDim, c.KvDim);   // [kvHeads, headDim]
        Span<float> v = a.V.AsSpan(t * c.KvDim, c.KvDim);
        if (w.Bq is not null)
        {
            TensorPrimitives.Add(q, w.Bq, q);
            TensorPrimitives.Add(k, w.Bk!, k);
            TensorPrimitives.Add(v, w.Bv!, v);
        }
        int pairs = c.RopeDimensions / 2;
        ReadOnlySpan<float> cos = a.RopeCos.AsSpan(t * pairs, pairs);
        ReadOnlySpan<float> sin = a.RopeSin.AsSpan(t * pairs, pairs);
        Rope.Apply(q, c.HeadCount, c.HeadDim, cos, sin, c.RopeStyle);
        Rope.Apply(k, c.HeadCountKv, c.HeadDim, cos, sin, c.RopeStyle);
        s.Store(layer, position, k, v);
    }
}
