using System.Numerics.Tensors;

namespace Cria.Numerics.Kernels;

/// <summary>SwiGLU (Shazeer 2020): gate ← silu(gate) ⊙ up, where silu(v) = v · σ(v). Overwrites up.</summary>
public static class SwiGlu
{
    public static void Run(Span<float> gate, Span<float> up)
    {
        if (up.Length < gate.Length)
        {
            throw new ArgumentException("SwiGlu: up must be as long as gate");
        }
        Span<float> u = up[..gate.Length];
        TensorPrimitives.Multiply(gate, u, u);       // up ← g·u
        TensorPrimitives.Sigmoid(gate, gate);        // gate ← σ(g)
        TensorPrimitives.Multiply(gate, u, gate);    // gate ← σ(g)·g·u
    }
}
