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
        // Sum in float like llama2.c (and ggml, which sums in float for f32 rows per element).
        float ss = 0f;
        for (int i = 0; i < n; i++)
        {
            ss += x[i] * x[i];
        }
        ss /= n;
        ss += eps;
        float scale = 1f / MathF.Sqrt(ss);
        for (int i = 0; i < n; i++)
        {
            y[i] = weight[i] * (scale * x[i]);
        }
    }
}
