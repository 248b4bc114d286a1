using System.Numerics.Tensors;

namespace Cria.Numerics.Kernels;

/// <summary>RMSNorm (Zhang &amp; Sennrich 2019): y = x / sqrt(mean(x²) + eps) ⊙ w.</summary>
public static class RmsNorm
{
    public static void Run(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> y)
    {
        int n = weight.Length;
        if (x.Length < n || y.Length < n)
        {
            throw new ArgumentException("RmsNorm: x and y must be as long as the weight");
        }
        float ss = TensorPrimitives.SumOfSquares(x[..n]) / n + eps;
        float scale = 1f / MathF.Sqrt(ss);
        TensorPrimitives.Multiply(x[..n], scale, y[..n]);
        TensorPrimitives.Multiply(y[..n], weight, y[..n]);
    }
}
