namespace Cria.Numerics.Tests.Quants;

/// <summary>The kinds of rows the round-trip tests quantize.</summary>
public enum DataShape
{
    /// <summary>N(0, 1).</summary>
    Gaussian,

    /// <summary>N(0, 1e-6): scales near the bottom of fp16's normal range.</summary>
    Tiny,

    /// <summary>N(0, 1e4).</summary>
    Large,

    /// <summary>Each 256-element span has its own σ from {1e-3, 0.02, 1, 30}.</summary>
    MixedScales,

    /// <summary>N(0, 1) with every 64th element blown up 25×, like the outlier channels of LLM weights.</summary>
    Outliers,

    /// <summary>−|N(0, 1)|: every element negative.</summary>
    NegativeOnly,

    /// <summary>N(0, 1) with every other 256-element span all zeros.</summary>
    ZeroSpans,
}

/// <summary>Seeded test rows and the error measure the round-trip bounds are stated in.</summary>
internal static class QuantTestData
{
    /// <summary>A row of <paramref name="n"/> values of the given shape; the same seed gives the same row.</summary>
    public static float[] Row(DataShape shape, int n, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n];
        ReadOnlySpan<float> sigmas = [1e-3f, 0.02f, 1f, 30f];
        for (int i = 0; i < n; i++)
        {
            float g = Gaussian(rng);
            x[i] = shape switch
            {
                DataShape.Gaussian => g,
                DataShape.Tiny => g * 1e-3f,
                DataShape.Large => g * 100f,
                DataShape.MixedScales => g * sigmas[(i / 256) % sigmas.Length],
                DataShape.Outliers => i % 64 == 17 ? g * 25f : g,
                DataShape.NegativeOnly => -MathF.Abs(g),
                DataShape.ZeroSpans => (i / 256) % 2 == 1 ? 0f : g,
                _ => throw new ArgumentOutOfRangeException(nameof(shape)),
            };
        }
        return x;
    }

    /// <summary>RMS(x − y) / RMS(x), accumulated in double.</summary>
    public static double RelativeRmsError(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        double err = 0;
        double sum = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double diff = (double)x[i] - y[i];
            err += diff * diff;
            sum += (double)x[i] * x[i];
        }
        return sum == 0 ? Math.Sqrt(err) : Math.Sqrt(err / sum);
    }

    /// <summary>Box–Muller: one standard normal sample.</summary>
    private static float Gaussian(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble(); // (0, 1]: keeps the log finite
        double u2 = rng.NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
    }
}
