using System.Numerics.Tensors;
using Cria.Numerics.Threading;

namespace Cria.Numerics.Kernels;

/// <summary>
/// Causal scaled dot-product attention with grouped-query heads (Vaswani et al. 2017 eq. 1; GQA,
/// Ainslie et al. 2023) for a batch of n consecutive tokens whose keys and values are already in
/// the cache. Shapes: q [n, heads·headDim]; keys and values [ctx, kvHeads·headDim] (one layer);
/// out [n, heads·headDim]. Token t sits at position start+t and sees cache positions 0..start+t.
/// Work is split over (token, head) pairs.
/// </summary>
public static unsafe class Attention
{
    public static void Run(ComputePool pool, ReadOnlySpan<float> q, ReadOnlySpan<float> keys, ReadOnlySpan<float> values,
        Span<float> output, int n, int start, int heads, int kvHeads, int headDim)
    {
        ArgumentNullException.ThrowIfNull(pool);
        int qDim = heads * headDim;
        int kvDim = kvHeads * headDim;
        long needKv = (long)(start + n) * kvDim;
        if (heads % kvHeads != 0 || q.Length < (long)n * qDim || output.Length < (long)n * qDim || keys.Length < needKv || values.Length < needKv)
        {
            throw new ArgumentException("Attention: shapes do not match the batch and cache");
        }
        fixed (float* pq = q)
        fixed (float* pk = keys)
        fixed (float* pv = values)
        fixed (float* po = output)
        {
            AttentionJob job = AttentionJob.Rent(pool.ThreadCount, start + n);
            job.Q = pq;
            job.K = pk;
            job.V = pv;
            job.O = po;
            job.Start = start;
            job.Heads = heads;
            job.KvHeads = kvHeads;
            job.HeadDim = headDim;
            job.Scale = 1f / MathF.Sqrt(headDim);
            pool.For(job, n * heads);
            job.Q = job.K = job.V = job.O = null;
        }
    }

    private sealed class AttentionJob : ParallelJob
    {
        [ThreadStatic]
        private static AttentionJob? t_cached;

        public float* Q;
        public float* K;
        public float* V;
        public float* O;
        public int Start;
        public int Heads;
        public int KvHeads;
        public int HeadDim;
        public float Scale;
        private float[][] _scores = [];

        public static AttentionJob Rent(int threads, int length)
        {
            AttentionJob job = t_cached ??= new AttentionJob();
            if (job._scores.Length < threads || job._scores[0].Length < length)
            {
                int size = Math.Max(length, 256);
                job._scores = new float[threads][];
                for (int i = 0; i < threads; i++)
                {
                    job._scores[i] = new float[size];
                }
            }
            return job;
        }

        public override void Execute(int begin, int end, int worker)
        {
            int headDim = HeadDim;
            int qDim = Heads * headDim;
            int kvDim = KvHeads * headDim;
            int group = Heads / KvHeads;
            for (int item = begin; item < end; item++)
            {
                int t = item / Heads;
                int h = item % Heads;
                int kvh = h / group;
                int length = Start + t + 1;
                var qh = new ReadOnlySpan<float>(Q + (long)t * qDim + h * headDim, headDim);
                Span<float> scores = _scores[worker].AsSpan(0, length);
                for (int p = 0; p < length; p++)
                {
                    scores[p] = TensorPrimitives.Dot(qh, new ReadOnlySpan<float>(K + (long)p * kvDim + kvh * headDim, headDim)) * Scale;
                }
                Softmax.Run(scores);
                var oh = new Span<float>(O + (long)t * qDim + h * headDim, headDim);
                oh.Clear();
                for (int p = 0; p < length; p++)
                {
                    TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(V + (long)p * kvDim + kvh * headDim, headDim), scores[p], oh, oh);
                }
            }
        }
    }
}
