namespace Cria.Core.Models.Blocks;

/// <summary>
/// The LoRA deltas of one matrix, per sequence (Hu et al. 2021 eq. 3): y += Σ scale · B·A·x over each
/// chunk's adapters, for the chunk's tokens only — so sequences with different adapters (or none)
/// share one batch and one pass over the base weights.
/// </summary>
internal static class Lora
{
    /// <param name="x">The matrix's input [n, in].</param>
    /// <param name="y">The matrix's output [n, out], already holding x·Wᵀ.</param>
    public static void Apply(in TokenBatch b, int layer, LoraTarget target, float[] x, float[] y)
    {
        foreach (SequenceChunk chunk in b.Chunks)
        {
            IReadOnlyList<ActiveAdapter> adapters = chunk.Context.Adapters;
            for (int i = 0; i < adapters.Count; i++)
            {
                if (adapters[i].Adapter.Get(layer, target) is not { } m)
                {
                    continue;
                }
                float scale = adapters[i].Scale * LoraAdapter.ScaleOf(adapters[i].Adapter.Alpha, m.Rank);
                m.Apply(x.AsSpan(chunk.Offset * m.In, chunk.Count * m.In), y.AsSpan(chunk.Offset * m.Out, chunk.Count * m.Out), chunk.Count, scale);
            }
        }
    }
}
