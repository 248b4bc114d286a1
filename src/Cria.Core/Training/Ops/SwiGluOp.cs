using System.Numerics.Tensors;

namespace Cria.Core.Training.Ops;

/// <summary>
/// SwiGLU (Shazeer 2020), forward and backward: h = silu(g) ⊙ u with silu(g) = g·σ(g).
/// dg = dh ⊙ u ⊙ σ(g)·(1 + g·(1 − σ(g))), du = dh ⊙ silu(g).
/// </summary>
internal static class SwiGluOp
{
    /// <summary>h ← σ(g)·(g·u), rounded as the inference kernel does (so logits match); g and u are kept.</summary>
    public static void Forward(ReadOnlySpan<float> g, ReadOnlySpan<float> u, Span<float> h)
    {
        Span<float> y = h[..g.Length];
        TensorPrimitives.Sigmoid(g, y);                   // σ(g), the kernel's vectorized sigmoid
        for (int i = 0; i < y.Length; i++)
        {
            y[i] *= g[i] * u[i];                          // σ(g)·(g·u): the same two roundings as SwiGlu.Run
        }
    }

    /// <summary>dg and du (overwritten) for dh; all [n·ff].</summary>
    public static void Backward(ReadOnlySpan<float> g, ReadOnlySpan<float> u, ReadOnlySpan<float> dh, Span<float> dg, Span<float> du)
    {
        for (int i = 0; i < g.Length; i++)
        {
            float s = Sigmoid(g[i]);
            float silu = g[i] * s;
            du[i] = dh[i] * silu;
            dg[i] = dh[i] * u[i] * s * (1f + g[i] * (1f - s));
        }
    }

    // TensorPrimitives.Sigmoid's scalar equivalent: 1 / (1 + e^−x).
    private static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    /// <summary>Scalar reference in double.</summary>
    public static void ForwardReference(double[] g, double[] u, double[] h)
    {
        for (int i = 0; i < g.Length; i++)
        {
            h[i] = g[i] / (1 + Math.Exp(-g[i])) * u[i];
        }
    }

    /// <summary>Scalar reference in double of the backward (overwrites dg and du).</summary>
    public static void BackwardReference(double[] g, double[] u, double[] dh, double[] dg, double[] du)
    {
        for (int i = 0; i < g.Length; i++)
        {
            double s = 1 / (1 + Math.Exp(-g[i]));
            du[i] = dh[i] * g[i] * s;
            dg[i] = dh[i] * u[i] * s * (1 + g[i] * (1 - s));
        }
    }
}
