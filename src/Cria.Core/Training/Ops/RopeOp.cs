using Cria.Numerics.Kernels;

namespace Cria.Core.Training.Ops;

/// <summary>
/// Rotary position embedding, forward and backward. The forward is the inference kernel
/// (<see cref="Rope.Apply"/>); each rotated pair (a, b) goes through the rotation by θ, so the
/// backward is the rotation by −θ (its transpose): da = ga·cos + gb·sin, db = −ga·sin + gb·cos.
/// </summary>
internal static class RopeOp
{
    /// <summary>Rotates x [n, heads·headDim] in place; row t uses cos/sin [n, pairs] row t.</summary>
    public static void Forward(Span<float> x, int n, int heads, int headDim, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, RopeStyle style)
    {
        int pairs = cos.Length / Math.Max(n, 1);
        int width = heads * headDim;
        for (int t = 0; t < n; t++)
        {
            Rope.Apply(x.Slice(t * width, width), heads, headDim, cos.Slice(t * pairs, pairs), sin.Slice(t * pairs, pairs), style);
        }
    }

    /// <summary>Turns the gradient of the rotated x [n, heads·headDim] into the gradient of x before rotation, in place.</summary>
    public static void Backward(Span<float> dx, int n, int heads, int headDim, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, RopeStyle style)
    {
        int pairs = cos.Length / Math.Max(n, 1);
        int width = heads * headDim;
        for (int t = 0; t < n; t++)
        {
            ReadOnlySpan<float> c = cos.Slice(t * pairs, pairs);
            ReadOnlySpan<float> s = sin.Slice(t * pairs, pairs);
            for (int h = 0; h < heads; h++)
            {
                Span<float> v = dx.Slice(t * width + h * headDim, headDim);
                for (int i = 0; i < pairs; i++)
                {
                    int a = style == RopeStyle.Normal ? 2 * i : i;
                    int b = style == RopeStyle.Normal ? 2 * i + 1 : i + pairs;
                    float ga = v[a];
                    float gb = v[b];
                    v[a] = ga * c[i] + gb * s[i];
                    v[b] = -ga * s[i] + gb * c[i];
                }
            }
        }
    }

    /// <summary>Scalar reference in double: rotates x [n, heads·headDim] by the angles positions[t]·invFreq[i].</summary>
    public static void ForwardReference(double[] x, int n, int heads, int headDim, int[] positions, double[] invFreq, RopeStyle style, bool inverse = false)
    {
        int pairs = invFreq.Length;
        for (int t = 0; t < n; t++)
        {
            for (int h = 0; h < heads; h++)
            {
                int o = t * heads * headDim + h * headDim;
                for (int i = 0; i < pairs; i++)
                {
                    double theta = positions[t] * invFreq[i] * (inverse ? -1 : 1);
                    int a = o + (style == RopeStyle.Normal ? 2 * i : i);
                    int b = o + (style == RopeStyle.Normal ? 2 * i + 1 : i + pairs);
                    double v0 = x[a], v1 = x[b];
                    x[a] = v0 * Math.Cos(theta) - v1 * Math.Sin(theta);
                    x[b] = v0 * Math.Sin(theta) + v1 * Math.Cos(theta);
                }
            }
        }
    }

    /// <summary>Scalar reference in double of the backward: the rotation by −θ.</summary>
    public static void BackwardReference(double[] dx, int n, int heads, int headDim, int[] positions, double[] invFreq, RopeStyle style) =>
        ForwardReference(dx, n, heads, headDim, positions, invFreq, style, inverse: true);
}
