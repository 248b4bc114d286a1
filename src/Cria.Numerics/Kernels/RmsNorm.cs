using System.Numerics.Tensors;

namespace Cria.Numerics.Kernels;

/// <summary>
/// RMSNorm (Zhang &amp; Sennrich 2019): y = x · 1/sqrt(mean(x²) + eps) ⊙ w. Rounded as ggml's
/// rms_norm does it (float squares summed in double, the mean and scale in float, the weight
/// applied as a separate multiply), so activations match llama.cpp's bit for bit before the
/// 8-bit activation quantizers — where a 1-ulp difference moves values across rounding ties.
/// </summary>
public static class RmsNorm
{
    public static void Run(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> y)
    {
        int n = weight.Length;
        if (x.Length < n || y.Length < n)
        {
            throw new ArgumentException("RmsNorm: x and y must be as long as the weight");
        }
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            sum += x[i] * x[i];
        }
        float mean = (float)(sum / n);
        float scale = 1.0f / MathF.Sqrt(mean + eps);
        TensorPrimitives.Multiply(x[..n], scale, y[..n]);
        TensorPrimitives.Multiply(y[..n], weight, y[..n]);
    }
}
