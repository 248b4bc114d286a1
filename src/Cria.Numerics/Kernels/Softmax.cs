using System.Numerics.Tensors;

namespace Cria.Numerics.Kernels;

/// <summary>Numerically stable softmax in place: subtract the max, exponentiate, normalize (vectorized).</summary>
public static class Softmax
{
    public static void Run(Span<float> x)
    {
        if (x.IsEmpty)
        {
            return;
        }
        float max = TensorPrimitives.Max(x);
        TensorPrimitives.Subtract(x, max, x);
        TensorPrimitives.Exp(x, x);
        float sum = TensorPrimitives.Sum(x);
        TensorPrimitives.Multiply(x, 1f / sum, x);
    }
}
