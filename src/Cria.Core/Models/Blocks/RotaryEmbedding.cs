using Cria.Numerics.Kernels;

namespace Cria.Core.Models.Blocks;

/// <summary>
/// Rotary position embedding (Su et al. 2021, RoFormer §3.4): pair i of a head at position p turns
/// by p·θ_i. The angles of a batch's positions are computed once per pass and serve every layer.
/// </summary>
internal sealed class RotaryEmbedding
{
    private readonly float[] _invFreq;   // [ropeDims/2] θ_i, angular frequency per rotated pair

    public RotaryEmbedding(ModelConfig config, float[]? freqFactors)
    {
        _invFreq = Frequencies(config, freqFactors);
    }

    /// <summary>
    /// cos, sin [n, ropeDims/2] of each token's position: its context's position plus its index in
    /// its chunk.
    /// </summary>
    public void Angles(in TokenBatch b)
    {
        int pairs = _invFreq.Length;
        Activations a = b.Act;
        foreach (SequenceChunk chunk in b.Chunks)
        {
            int start = chunk.Context.Position;
            for (int i = 0; i < chunk.Count; i++)
            {
                int t = chunk.Offset + i;
                Rope.Angles(start + i, _invFreq, a.RopeCos.AsSpan(t * pairs, pairs), a.RopeSin.AsSpan(t * pairs, pairs));
            }
        }
    }

    /// <summary>
    /// θ_i = base^(−2i/d) for each rotated pair, divided by the linear scaling factor, or by
    /// rope_freqs[i] for llama3-style scaling (as llama.cpp applies freq_factors).
    /// </summary>
    public static float[] Frequencies(ModelConfig c, float[]? factors)
    {
        int pairs = c.RopeDimensions / 2;
        var f = new float[pairs];
        for (int i = 0; i < pairs; i++)
        {
            double theta = Math.Pow(c.RopeFreqBase, -2.0 * i / c.RopeDimensions);
            if (c.RopeScaling == RopeScaling.Linear)
            {
                theta /= c.RopeScalingFactor;
            }
            if (factors is not null)
            {
                theta /= factors[i];
            }
            f[i] = (float)theta;
        }
        return f;
    }
}
