namespace Cria.Numerics.Kernels;

/// <summary>SwiGLU (Shazeer 2020): gate ← silu(gate) ⊙ up, where silu(v) = v · σ(v).</summary>
public static class SwiGlu
{
    public static void Run(Span<float> gate, ReadOnlySpan<float> up)
    {
        if (up.Length < gate.Length)
        {
            throw new ArgumentException("SwiGlu: up must be as long as gate");
        }
        for (int i = 0; i < gate.Length; i++)
        {
            float g = gate[i];
            gate[i] = g / (1f + MathF.Exp(-g)) * up[i];
        }
    }
}
