using Cria.Numerics.Kernels;

namespace Cria.Core.Training.Ops;

/// <summary>
/// RMSNorm over rows, forward and backward. y = x · r ⊙ w with r = 1/sqrt(mean(x²) + eps); the
/// weight is frozen, so the backward only gives the input gradient:
/// dx_j = r·w_j·dy_j − x_j · r³/n · Σ_i dy_i·w_i·x_i.
/// </summary>
internal static class RmsNormOp
{
    /// <summary>x [n, dim] → y [n, dim] with the inference kernel (bit-identical), and r [n] for the backward.</summary>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> y, Span<float> rstd, int n)
    {
        int dim = weight.Length;
        for (int t = 0; t < n; t++)
        {
            ReadOnlySpan<float> xt = x.Slice(t * dim, dim);
            RmsNorm.Run(xt, weight, eps, y.Slice(t * dim, dim));
            rstd[t] = Rstd(xt, eps);
        }
    }

    /// <summary>r = 1/sqrt(mean(x²) + eps), rounded as <see cref="RmsNorm"/> does.</summary>
    public static float Rstd(ReadOnlySpan<float> x, float eps)
    {
        double sum = 0;
        for (int i = 0; i < x.Length; i++)
        {
            sum += x[i] * x[i];
        }
        float mean = (float)(sum / x.Length);
        return 1.0f / MathF.Sqrt(mean + eps);
    }

    /// <summary>dx [n, dim] += the input gradient for dy [n, dim].</summary>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> rstd, ReadOnlySpan<float> dy, Span<float> dx, int n)
    {
        int dim = weight.Length;
        for (int t = 0; t < n; t++)
        {
            ReadOnlySpan<float> xt = x.Slice(t * dim, dim);
            ReadOnlySpan<float> dyt = dy.Slice(t * dim, dim);
            Span<float> dxt = dx.Slice(t * dim, dim);
            double dot = 0;
            for (int i = 0; i < dim; i++)
            {
                dot += dyt[i] * weight[i] * xt[i];
            }
            float r = rstd[t];
            float c = (float)(dot * r * r * r / dim);
            for (int i = 0; i < dim; i++)
            {
                dxt[i] += r * weight[i] * dyt[i] - c * xt[i];
            }
        }
    }

    /// <summary>Scalar reference in double: x [n, dim] → y [n, dim].</summary>
    public static void ForwardReference(double[] x, double[] weight, double eps, double[] y, int n)
    {
        int dim = weight.Length;
        for (int t = 0; t < n; t++)
        {
            double ss = 0;
            for (int i = 0; i < dim; i++)
            {
                ss += x[t * dim + i] * x[t * dim + i];
            }
            double r = 1.0 / Math.Sqrt(ss / dim + eps);
            for (int i = 0; i < dim; i++)
            {
                y[t * dim + i] = x[t * dim + i] * r * weight[i];
            }
        }
    }

    /// <summary>Scalar reference in double: dx [n, dim] += the input gradient for dy.</summary>
    public static void BackwardReference(double[] x, double[] weight, double eps, double[] dy, double[] dx, int n)
    {
        int dim = weight.Length;
        for (int t = 0; t < n; t++)
        {
            double ss = 0, dot = 0;
            for (int i = 0; i < dim; i++)
            {
                ss += x[t * dim + i] * x[t * dim + i];
                dot += dy[t * dim + i] * weight[i] * x[t * dim + i];
            }
            double r = 1.0 / Math.Sqrt(ss / dim + eps);
            for (int i = 0; i < dim; i++)
            {
                dx[t * dim + i] += r * weight[i] * dy[t * dim + i] - x[t * dim + i] * r * r * r * dot / dim;
            }
        }
    }
}
