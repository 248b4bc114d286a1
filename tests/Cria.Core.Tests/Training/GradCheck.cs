namespace Cria.Core.Tests.Training;

/// <summary>Central finite differences in float64 and the comparisons the gradient tests share.</summary>
internal static class GradCheck
{
    /// <summary>∂f/∂x_i ≈ (f(x + h·e_i) − f(x − h·e_i)) / 2h for every i (x is restored).</summary>
    public static double[] Numeric(Func<double> f, double[] x, double h = 1e-5)
    {
        var g = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            g[i] = Numeric(f, x, i, h);
        }
        return g;
    }

    public static double Numeric(Func<double> f, double[] x, int i, double h = 1e-5)
    {
        double keep = x[i];
        x[i] = keep + h;
        double up = f();
        x[i] = keep - h;
        double down = f();
        x[i] = keep;
        return (up - down) / (2 * h);
    }

    /// <summary>Every element within rel·max(1, |expected|) — relative for large values, absolute near zero.</summary>
    public static void Close(double[] expected, double[] actual, double rel, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double tol = rel * Math.Max(1, Math.Abs(expected[i]));
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol, $"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R} (tolerance {tol:G3})");
        }
    }

    public static void Close(double[] expected, float[] actual, double rel, string what) =>
        Close(expected, actual.Select(v => (double)v).ToArray(), rel, what);

    public static double[] Random(Random rng, int n, double scale = 1) =>
        Enumerable.Range(0, n).Select(_ => (rng.NextDouble() * 2 - 1) * scale).ToArray();

    public static float[] ToFloat(double[] x) => x.Select(v => (float)v).ToArray();

    public static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++)
        {
            s += a[i] * b[i];
        }
        return s;
    }
}
