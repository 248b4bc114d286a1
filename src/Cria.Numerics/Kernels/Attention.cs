using System.Numerics.Tensors;
using Cria.Numerics.Threading;

namespace Cria.Numerics.Kernels;

/// <summary>
/// Causal scaled dot-product attention with grouped-query heads (Vaswani et al. 2017 eq. 1; GQA,
/// Ainslie et al. 2023) for a batch of n consecutive tokens whose keys and values are already in
/// the cache. Shapes: q [n, heads·headDim]; keys and values [ctx, kvHeads·headDim] (one layer);
/// out [n, heads·headDim]. Token t sits at position start+t and sees cache positions 0..start+t.
/// A paged cache passes <c>rows</c>: the cache row holding each position (else position p is row p).
/// Work is split over (token, head) pairs.
/// </summary>
public static unsafe class Attention
{
    /// <summary>The same with an fp16 cache (the default: half the memory traffic of long contexts).</summary>
    public static void Run(ComputePool pool, ReadOnlySpan<float> q, ReadOnlySpan<Half> keys, ReadOnlySpan<Half> values,
        Span<float> output, int n, int start, int heads, int kvHeads, int headDim, ReadOnlySpan<int> rows = default)
    {
        ArgumentNullException.ThrowIfNull(pool);
        Check(q, keys.Length, values.Length, output, n, start, heads, kvHeads, headDim, rows);
        fixed (float* pq = q)
        fixed (Half* pk = keys)
        fixed (Half* pv = values)
        fixed (float* po = output)
        fixed (int* pr = rows)
        {
            AttentionJob job = AttentionJob.Rent(pool.ThreadCount, start + n, headDim);
            job.Set(pq, null, null, (ushort*)pk, (ushort*)pv, po, start, heads, kvHeads, headDim);
            job.Rows = rows.IsEmpty ? null : pr;
            // With grouped-query attention, widen each kv head's keys and values once and let
            // all the query heads of its group read the floats (work items: token × kv head).
            job.Grouped = heads > kvHeads && AttentionRows.Supported(headDim);
            if (job.Grouped)
            {
                job.EnsureWidened(pool.ThreadCount, start + n, heads / kvHeads);
            }
            pool.For(job, n * (job.Grouped ? kvHeads : heads));
            job.Clear();
        }
    }

    private static void Check(ReadOnlySpan<float> q, int keys, int values, Span<float> output, int n, int start, int heads, int kvHeads, int headDim,
        ReadOnlySpan<int> rows)
    {
        int qDim = heads * headDim;
        long kvDim = (long)kvHeads * headDim;
        long needRows = start + n;
        if (!rows.IsEmpty)
        {
            // Every row a position maps to must lie inside the cache (rows come from the KV pool; checked, not trusted).
            if (rows.Length < start + n)
            {
                throw new ArgumentException("Attention: the row table is shorter than the positions attended");
            }
            ReadOnlySpan<int> used = rows[..(start + n)];
            if (TensorPrimitives.Min(used) < 0)
            {
                throw new ArgumentException("Attention: a negative cache row");
            }
            needRows = TensorPrimitives.Max(used) + 1L;
        }
        long needKv = needRows * kvDim;
        if (heads % kvHeads != 0 || q.Length < (long)n * qDim || output.Length < (long)n * qDim || keys < needKv || values < needKv)
        {
            throw new ArgumentException("Attention: shapes do not match the batch and cache");
        }
    }

    public static void Run(ComputePool pool, ReadOnlySpan<float> q, ReadOnlySpan<float> keys, ReadOnlySpan<float> values,
        Span<float> output, int n, int start, int heads, int kvHeads, int headDim, ReadOnlySpan<int> rows = default)
    {
        ArgumentNullException.ThrowIfNull(pool);
        Check(q, keys.Length, values.Length, output, n, start, heads, kvHeads, headDim, rows);
        fixed (float* pq = q)
        fixed (float* pk = keys)
        fixed (float* pv = values)
        fixed (float* po = output)
        fixed (int* pr = rows)
        {
            AttentionJob job = AttentionJob.Rent(pool.ThreadCount, start + n, headDim);
            job.Set(pq, pk, pv, null, null, po, start, heads, kvHeads, headDim);
            job.Rows = rows.IsEmpty ? null : pr;
            pool.For(job, n * heads);
            job.Clear();
        }
    }

    private sealed class AttentionJob : ParallelJob
    {
        [ThreadStatic]
        private static AttentionJob? t_cached;

        public float* Q;
        public float* K;
        public float* V;
        public ushort* K16;
        public ushort* V16;
        public float* O;
        public int* Rows;
        public int Start;
        public int Heads;
        public int KvHeads;
        public int HeadDim;
        public float Scale;
        public bool Grouped;
        private float[][] _scores = [];
        private float[][] _keys = [];

        /// <summary>Per-worker scratch for the scores of one group of heads: [group, length].</summary>
        public void EnsureWidened(int threads, int length, int group)
        {
            long need = (long)length * group;
            if (_keys.Length < threads || _keys[0].Length < need)
            {
                long size = Math.Max(need, _keys.Length > 0 ? _keys[0].Length * 2L : 0);
                _keys = new float[threads][];
                for (int i = 0; i < threads; i++)
                {
                    _keys[i] = new float[size];
                }
            }
        }

        private void ExecuteGrouped(int begin, int end, int worker)
        {
            int headDim = HeadDim;
            int qDim = Heads * headDim;
            long kvDim = (long)KvHeads * headDim;
            int group = Heads / KvHeads;
            fixed (float* scratch = _keys[worker])
            {
                for (int item = begin; item < end; item++)
                {
                    int t = item / KvHeads;
                    int kvh = item % KvHeads;
                    int length = Start + t + 1;
                    ushort* k16 = K16 + kvh * headDim;
                    ushort* v16 = V16 + kvh * headDim;
                    float* q = Q + (long)t * qDim + kvh * group * headDim;
                    float* o = O + (long)t * qDim + kvh * group * headDim;
                    int g = 0;
                    for (; g + 4 <= group; g += 4)
                    {
                        float* s = scratch + (long)g * length;
                        AttentionRows.Scores4(q + g * headDim, q + (g + 1) * headDim, q + (g + 2) * headDim, q + (g + 3) * headDim,
                            k16, kvDim, Rows, length, headDim, Scale, s, s + length, s + 2L * length, s + 3L * length);
                    }
                    for (; g < group; g++)
                    {
                        AttentionRows.Scores(q + g * headDim, k16, kvDim, Rows, length, headDim, Scale, scratch + (long)g * length);
                    }
                    for (g = 0; g < group; g++)
                    {
                        Softmax.Run(new Span<float>(scratch + (long)g * length, length));
                    }
                    for (g = 0; g + 2 <= group; g += 2)
                    {
                        AttentionRows.Mix2(scratch + (long)g * length, scratch + (long)(g + 1) * length, v16, kvDim, Rows, length, headDim,
                            o + g * headDim, o + (g + 1) * headDim);
                    }
                    for (; g < group; g++)
                    {
                        AttentionRows.Mix(scratch + (long)g * length, v16, kvDim, Rows, length, headDim, o + g * headDim);
                    }
                }
            }
        }

        public static AttentionJob Rent(int threads, int length, int headDim)
        {
            AttentionJob job = t_cached ??= new AttentionJob();
            if (job._scores.Length < threads || job._scores[0].Length < Math.Max(length, headDim))
            {
                // Grow geometrically so a growing context reallocates O(log n) times, not per token.
                int size = Math.Max(Math.Max(length, headDim), Math.Max(256, job._scores.Length > 0 ? job._scores[0].Length * 2 : 0));
                job._scores = new float[threads][];
                for (int i = 0; i < threads; i++)
                {
                    job._scores[i] = new float[size];
                }
            }
            return job;
        }

        public void Set(float* q, float* k, float* v, ushort* k16, ushort* v16, float* o, int start, int heads, int kvHeads, int headDim)
        {
            Q = q;
            K = k;
            V = v;
            K16 = k16;
            V16 = v16;
            O = o;
            Start = start;
            Heads = heads;
            KvHeads = kvHeads;
            HeadDim = headDim;
            Scale = 1f / MathF.Sqrt(headDim);
        }

        public void Clear()
        {
            Grouped = false;
            Q = K = V = O = null;
            K16 = V16 = null;
            Rows = null;
        }

        public override void Execute(int begin, int end, int worker)
        {
            if (Grouped)
            {
                ExecuteGrouped(begin, end, worker);
                return;
            }
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
                float* qp = Q + (long)t * qDim + h * headDim;
                var qh = new ReadOnlySpan<float>(qp, headDim);
                Span<float> scores = _scores[worker].AsSpan(0, length);
                long off = kvh * headDim;
                if (K16 is null)
                {
                    for (int p = 0; p < length; p++)
                    {
                        scores[p] = TensorPrimitives.Dot(qh, new ReadOnlySpan<float>(K + AttentionRows.Row(Rows, p) * (long)kvDim + off, headDim)) * Scale;
                    }
                }
                else if (AttentionRows.Supported(headDim))
                {
                    fixed (float* ps = scores)
                    {
                        AttentionRows.Scores(qp, K16 + off, kvDim, Rows, length, headDim, Scale, ps);
                    }
                }
                else
                {
                    for (int p = 0; p < length; p++)
                    {
                        scores[p] = Dot.DotF16.RunF16(K16 + AttentionRows.Row(Rows, p) * (long)kvDim + off, qp, headDim) * Scale;
                    }
                }
                Softmax.Run(scores);
                float* op = O + (long)t * qDim + h * headDim;
                var oh = new Span<float>(op, headDim);
                oh.Clear();
                if (V16 is null)
                {
                    for (int p = 0; p < length; p++)
                    {
                        TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(V + AttentionRows.Row(Rows, p) * (long)kvDim + off, headDim), scores[p], oh, oh);
                    }
                }
                else if (AttentionRows.Supported(headDim))
                {
                    fixed (float* ps = scores)
                    {
                        AttentionRows.Mix(ps, V16 + off, kvDim, Rows, length, headDim, op);
                    }
                }
                else
                {
                    for (int p = 0; p < length; p++)
                    {
                        Dot.DotF16.AxpyF16(V16 + AttentionRows.Row(Rows, p) * (long)kvDim + off, scores[p], op, headDim);
                    }
                }
            }
        }
    }
}
