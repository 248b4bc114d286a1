using Cria.Numerics.Kernels;
using Cria.Numerics.Memory;
using Cria.Numerics.Threading;

namespace Cria.Core.Training.Ops;

/// <summary>
/// A frozen linear layer y = x·Wᵀ, forward and backward. The forward keeps W in its stored type
/// (quantized W meet 8-bit activations, as in inference); the backward gives only
/// the input gradient dx = dy·W (<see cref="InputGradient"/>: W dequantized panel by panel, never
/// copied whole). W gets no gradient: it is frozen. The straight-through reading of the quantized
/// forward (the backward treats it as exact) is QLoRA's.
/// Shapes: x, dx [n, in]; y, dy [n, out]; W [out, in].
/// </summary>
internal static class FrozenLinearOp
{
    /// <summary>
    /// y = x·Wᵀ through <see cref="PanelMatMul"/> with the activations rounded as the inference matmul
    /// rounds them for W's type (8-bit blocks for Q4_0/Q8_0/Q4_K/Q6_K), so training logits equal
    /// inference logits up to float summation order, at about twice MatMul's speed on training batches.
    /// </summary>
    public static void Forward(ComputePool pool, WeightMatrix w, float[] x, float[] y, int n) =>
        PanelMatMul.Run(pool, w, x.AsSpan(0, n * w.Cols), y.AsSpan(0, n * w.Rows), n, likeMatMul: true);

    /// <summary>Two or three matrices over one input (gate and up; q, k and v).</summary>
    public static void Forward(ComputePool pool, float[] x, int n, WeightMatrix w0, float[] y0, WeightMatrix w1, float[] y1, WeightMatrix? w2 = null, float[]? y2 = null)
    {
        Forward(pool, w0, x, y0, n);
        Forward(pool, w1, x, y1, n);
        if (w2 is { } m2)
        {
            Forward(pool, m2, x, y2!, n);
        }
    }

    /// <summary>dx (+)= dy·W.</summary>
    public static void Backward(ComputePool pool, WeightMatrix w, float[] dy, float[] dx, int n, bool accumulate) =>
        InputGradient.Run(pool, w, dy.AsSpan(0, n * w.Rows), dx.AsSpan(0, n * w.Cols), n, accumulate);

    /// <summary>Scalar reference in double: y [n, out] = x·Wᵀ with W [out, in] as doubles.</summary>
    public static void ForwardReference(double[] w, int outDim, int inDim, double[] x, double[] y, int n)
    {
        for (int t = 0; t < n; t++)
        {
            for (int o = 0; o < outDim; o++)
            {
                double s = 0;
                for (int i = 0; i < inDim; i++)
                {
                    s += w[o * inDim + i] * x[t * inDim + i];
                }
                y[t * outDim + o] = s;
            }
        }
    }

    /// <summary>Scalar reference in double of the backward: dx [n, in] += dy·W.</summary>
    public static void BackwardReference(double[] w, int outDim, int inDim, double[] dy, double[] dx, int n)
    {
        for (int t = 0; t < n; t++)
        {
            for (int o = 0; o < outDim; o++)
            {
                for (int i = 0; i < inDim; i++)
                {
                    dx[t * inDim + i] += dy[t * outDim + o] * w[o * inDim + i];
                }
            }
        }
    }
}
