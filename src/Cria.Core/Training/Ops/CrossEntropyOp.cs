using System.Numerics.Tensors;

using Cria.Numerics.Threading;

namespace Cria.Core.Training.Ops;

/// <summary>
/// Softmax cross-entropy over the vocabulary, forward and backward in one pass per row:
/// loss = logsumexp(z) − z[y]; dz = w·(softmax(z) − onehot(y)), written over the logits.
/// Rows run in parallel; each row's loss lands in its own slot, summed afterwards in row order.
/// </summary>
internal sealed class CrossEntropyOp
{
    private readonly RowJob _job = new();

    /// <summary>
    /// logits [rows, vocab] → per-row losses [rows]; when <paramref name="gradScale"/> is given the
    /// logits are replaced by the gradient of gradScale · Σ losses.
    /// </summary>
    public void Run(ComputePool pool, float[] logits, int vocab, ReadOnlySpan<int> targets, float[] losses, float? gradScale)
    {
        _job.Logits = logits;
        _job.Vocab = vocab;
        _job.Targets = targets.ToArray();
        _job.Losses = losses;
        _job.GradScale = gradScale;
        pool.For(_job, targets.Length);
        _job.Logits = _job.Losses = [];
    }

    private sealed class RowJob : ParallelJob
    {
        public float[] Logits = [], Losses = [];
        public int[] Targets = [];
        public int Vocab;
        public float? GradScale;

        public override void Execute(int start, int end, int worker)
        {
            for (int row = start; row < end; row++)
            {
                Span<float> z = Logits.AsSpan(row * Vocab, Vocab);
                int y = Targets[row];
                float max = TensorPrimitives.Max(z);
                float target = z[y];
                TensorPrimitives.Subtract(z, max, z);
                TensorPrimitives.Exp(z, z);
                float sum = TensorPrimitives.Sum(z);
                Losses[row] = max + MathF.Log(sum) - target;
                if (GradScale is float w)
                {
                    TensorPrimitives.Multiply(z, w / sum, z);
                    z[y] -= w;
                }
            }
        }
    }

    /// <summary>Scalar reference in double: Σ over rows of the loss, and dz = w·(softmax − onehot) when dz is given.</summary>
    public static double Reference(double[] logits, int vocab, int[] targets, double w, double[]? dz)
    {
        double total = 0;
        for (int row = 0; row < targets.Length; row++)
        {
            double max = double.NegativeInfinity;
            for (int i = 0; i < vocab; i++)
            {
                max = Math.Max(max, logits[row * vocab + i]);
            }
            double sum = 0;
            for (int i = 0; i < vocab; i++)
            {
                sum += Math.Exp(logits[row * vocab + i] - max);
            }
            double lse = max + Math.Log(sum);
            total += lse - logits[row * vocab + targets[row]];
            if (dz is not null)
            {
                for (int i = 0; i < vocab; i++)
                {
                    dz[row * vocab + i] = w * (Math.Exp(logits[row * vocab + i] - lse) - (i == targets[row] ? 1 : 0));
                }
            }
        }
        return total;
    }
}
