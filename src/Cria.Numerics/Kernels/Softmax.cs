namespace Cria.Numerics.Kernels;

/// <summary>Numerically stable softmax in place: subtract the max, exponentiate, normalize.</summary>
public static class Softmax
{
    public static void Run(Span<float> x)
    {
        if (x.IsEmpty)
        {
            return;
        }
        float max = x[0];
        for (int i = 1; i < x.Length; i++)
        {
            if (x[i] > max)
            {
                max = x[i];
            }
        }
        float sum = 0f;
        for (int i = 0; i < x.Length; i++)
        {
            float e = MathF.Exp(x[i] - max);
            x[i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int i = 0; i < x.Length; i++)
        {
            x[i] *= inv;
        }
    }
}
