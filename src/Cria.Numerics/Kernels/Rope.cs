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
/// The angles θ_i = position · invFreq[i] are computed once per position
/// (<see cref="Angles"/>) and shared by every head of q and k in every layer.
/// </summary>
public static class Rope
{
    /// <summary>cos/sin of position · invFreq[i] for each rotated pair.</summary>
    public static void Angles(int position, ReadOnlySpan<float> invFreq, Span<float> cos, Span<float> sin)
    {
        for (int i = 0; i < invFreq.Length; i++)
        {
            float theta = position * invFreq[i];
            cos[i] = MathF.Cos(theta);
            sin[i] = MathF.Sin(theta);
        }
    }

    /// <summary>Rotates the first 2·cos.Length dims of each head of x [heads, headDim].</summary>
    public static void Apply(Span<float> x, int heads, int headDim, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, RopeStyle style)
    {
        int pairs = cos.Length;
        if (x.Length < heads * headDim || pairs * 2 > headDim || sin.Length < pairs)
        {
            throw new ArgumentException("Rope: x must hold heads × headDim values and the rotated dims must fit a head");
        }
        for (int h = 0; h < heads; h++)
        {
            Span<float> v = x.Slice(h * headDim, headDim);
            for (int i = 0; i < pairs; i++)
            {
                int a = style == RopeStyle.Normal ? 2 * i : i;
                int b = style == RopeStyle.Normal ? 2 * i + 1 : i + pairs;
                float v0 = v[a];
                float v1 = v[b];
                v[a] = v0 * cos[i] - v1 * sin[i];
                v[b] = v0 * sin[i] + v1 * cos[i];
            }
        }
    }

    /// <summary>Angles and rotation in one call (tests, one-off use).</summary>
    public static void Run(Span<float> x, int heads, int headDim, int position, ReadOnlySpan<float> invFreq, RopeStyle style)
    {
        Span<float> cos = stackalloc float[invFreq.Length];
        Span<float> sin = stackalloc float[invFreq.Length];
        Angles(position, invFreq, cos, sin);
        Apply(x, heads, headDim, cos, sin, style);
    }
}
