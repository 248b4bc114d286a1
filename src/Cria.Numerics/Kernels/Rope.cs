namespace Cria.Numerics.Kernels;

/// <summary>How rotary embeddings pair the dimensions of a head.</summary>
public enum RopeStyle
{
    /// <summary>Adjacent pairs (2i, 2i+1): GGUF "llama" (weights permuted at conversion), llama2.c.</summary>
    Normal,

    /// <summary>Halves (i, i + d/2): GPT-NeoX, Qwen2, HF layout.</summary>
    NeoX,
}

/// <summary>
/// Rotary position embedding (Su et al. 2021, RoFormer §3.4) for all heads of one token.
/// <paramref name="invFreq"/>[i] is the angular frequency of pair i (already scaled for
/// linear/llama3 RoPE scaling); only the first 2·invFreq.Length dimensions of a head rotate.
/// </summary>
public static class Rope
{
    public static void Run(Span<float> x, int heads, int headDim, int position, ReadOnlySpan<float> invFreq, RopeStyle style, float magnitudeScale = 1f)
    {
        int pairs = invFreq.Length;
        if (x.Length < heads * headDim || pairs * 2 > headDim)
        {
            throw new ArgumentException("Rope: x must hold heads × headDim values and the rotated dims must fit a head");
        }
        Span<float> cos = stackalloc float[pairs];
        Span<float> sin = stackalloc float[pairs];
        for (int i = 0; i < pairs; i++)
        {
            float theta = position * invFreq[i];
            cos[i] = MathF.Cos(theta) * magnitudeScale;
            sin[i] = MathF.Sin(theta) * magnitudeScale;
        }
        int half = pairs;
        for (int h = 0; h < heads; h++)
        {
            Span<float> v = x.Slice(h * headDim, headDim);
            for (int i = 0; i < pairs; i++)
            {
                int a = style == RopeStyle.Normal ? 2 * i : i;
                int b = style == RopeStyle.Normal ? 2 * i + 1 : i + half;
                float v0 = v[a];
                float v1 = v[b];
                v[a] = v0 * cos[i] - v1 * sin[i];
                v[b] = v0 * sin[i] + v1 * cos[i];
            }
        }
    }
}
