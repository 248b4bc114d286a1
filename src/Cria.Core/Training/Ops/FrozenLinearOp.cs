using Cria.Numerics;
using Cria.Numerics.Kernels;
using Cria.Numerics.Memory;
using Cria.Numerics.Threading;

namespace Cria.Core.Training.Ops;

/// <summary>
/// A frozen linear layer y = x·Wᵀ, forward and backward. The forward keeps W in its stored type
/// (quantized W meet 8-bit activations, as in inference; see <see cref="IsFloat"/>); the backward gives only
/// the input gradient dx = dy·W (<see cref="InputGradient"/>: W dequantized panel by panel, never
/// copied whole). W gets no gradient: it is frozen. The straight-through reading of the quantized
/// forward (the backward treats it as exact) is QLoRA's.
/// Shapes: x, dx [n, in]; y, dy [n, out]; W [out, in].
/// </summary>
internal static class FrozenLinearOp
{
    public static void Forward(ComputePool pool, WeightMatrix w, float[] x, float[] y, int n)
    {
        if (IsFloat(w))
        {
            PanelMatMul.Run(pool, w, x.AsSpan(0, n * w.Cols), y.AsSpan(0, n * w.Rows), n);
        }
        else
        {
            MatMul.Run(pool, w, x.AsSpan(0, n * w.Cols), y.AsSpan(0, n * w.Rows), n);
        }
    }

    /// <summary>Two or three matrices over one input (gate and up; q, k and v): one fused matmul for quantized weights.</summary>
    public static void Forward(ComputePool pool, float[] x, int n, WeightMatrix w0, float[] y0, WeightMatrix w1, float[] y1, WeightMatrix? w2 = null, float[]? y2 = null)
    {
        if (IsFloat(w0) || IsFloat(w1) || (w2 is { } f && IsFloat(f)))
        {
            Forward(pool, w0, x, y0, n);
            Forward(pool, w1, x, y1, n);
            if (w2 is { } m2)
            {
                Forward(pool, m2, x, y2!, n);
            }
        }
        else if (w2 is { } m2)
        {
            MatMul.Run(pool, x.AsSpan(0, n * w0.Cols), n, w0, y0, w1, y1, m2, y2);
        }
        else
        {
            MatMul.Run(pool, x.AsSpan(0, n * w0.Cols), n, w0, y0, w1, y1);
        }
    }

    /// <summary>
    /// Float weights run through <see cref="PanelMatMul"/> (float activations, register-blocked: about twice
    /// MatMul's speed on training batches, the same values up to summation order); quantized weights keep
    /// MatMul's 8-bit activations, so the training forward equals inference (with float activations a
    /// tiny Q4_0 model's logits move by ~7e-3).
    /// </summary>
    private static bool IsFloat(WeightMatrix w) => w.Type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16;

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
