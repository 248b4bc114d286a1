using System.Diagnostics.CodeAnalysis;
using System.Numerics.Tensors;
using Cria.Numerics.Quants;
using Cria.Numerics.Threading;

namespace Cria.Numerics.Kernels;

/// <summary>
/// Causal scaled dot-product attention with grouped-query heads (Vaswani et al. 2017 eq. 1; GQA,
/// Ainslie et al. 2023) for a batch of n consecutive tokens whose keys and values are already in
/// the cache. Shapes: q [n, heads·headDim]; keys and values [rows, kvHeads·headDim] (one layer, f32,
/// fp16 or Q8_0 rows); out [n, heads·headDim]. Token t sits at position start+t and sees cache
/// positions 0..start+t. A paged cache passes <c>rows</c>: the cache row holding each position
/// (else position p is row p).
/// <para>
/// Work items are (token, kv head) pairs: the keys and values of a block of 32 positions are
/// converted to floats once and serve every query head of the group (<see cref="AttentionRows"/>),
/// then <see cref="AttentionBlock"/> folds the block into each head's running softmax and output.
/// A token's result is the same whichever batch it came in and whichever thread ran it.
/// </para>
/// </summary>
public static unsafe class Attention
{
    /// <summary>Attention over an f32 cache (exact; twice the memory of fp16).</summary>
    public static void Run(ComputePool pool, ReadOnlySpan<float> q, ReadOnlySpan<float> keys, ReadOnlySpan<float> values,
        Span<float> output, int n, int start, int heads, int kvHeads, int headDim, ReadOnlySpan<int> rows = default)
    {
        ArgumentNullException.ThrowIfNull(pool);
        long kvDim = (long)kvHeads * headDim;
        long need = Check(q, output, n, start, heads, kvHeads, headDim, rows) * kvDim;
        if (keys.Length < need || values.Length < need)
        {
            ThrowShapes();
        }
        fixed (float* pq = q)
        fixed (float* pk = keys)
        fixed (float* pv = values)
        fixed (float* po = output)
        fixed (int* pr = rows)
        {
            AttentionJob job = AttentionJob.Rent(pool.ThreadCount, heads / kvHeads, headDim);
            job.Set(pq, po, rows.IsEmpty ? null : pr, start, heads, kvHeads, headDim, kvDim);
            job.K32 = pk;
            job.V32 = pv;
            Dispatch(pool, job, n * kvHeads);
        }
    }

    /// <summary>Attention over an fp16 cache (the default: half the memory traffic of f32).</summary>
    public static void Run(ComputePool pool, ReadOnlySpan<float> q, ReadOnlySpan<Half> keys, ReadOnlySpan<Half> values,
        Span<float> output, int n, int start, int heads, int kvHeads, int headDim, ReadOnlySpan<int> rows = default)
    {
        ArgumentNullException.ThrowIfNull(pool);
        long kvDim = (long)kvHeads * headDim;
        long need = Check(q, output, n, start, heads, kvHeads, headDim, rows) * kvDim;
        if (keys.Length < need || values.Length < need)
        {
            ThrowShapes();
        }
        fixed (float* pq = q)
        fixed (Half* pk = keys)
        fixed (Half* pv = values)
        fixed (float* po = output)
        fixed (int* pr = rows)
        {
            AttentionJob job = AttentionJob.Rent(pool.ThreadCount, heads / kvHeads, headDim);
            job.Set(pq, po, rows.IsEmpty ? null : pr, start, heads, kvHeads, headDim, kvDim);
            job.K16 = (ushort*)pk;
            job.V16 = (ushort*)pv;
            Dispatch(pool, job, n * kvHeads);
        }
    }

    /// <summary>
    /// Attention over a Q8_0 cache: each row is kvHeads·headDim/32 ggml Q8_0 blocks (fp16 scale,
    /// 32 int8; <see cref="Q8_0RowBytes"/> bytes), so each head is whole blocks: headDim must be a
    /// multiple of 32. Queries stay f32; keys and values are dequantized exactly (d·q) before use.
    /// </summary>
    public static void RunQ8_0(ComputePool pool, ReadOnlySpan<float> q, ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values,
        Span<float> output, int n, int start, int heads, int kvHeads, int headDim, ReadOnlySpan<int> rows = default)
    {
        ArgumentNullException.ThrowIfNull(pool);
        if (headDim % BlockQ8_0.BlockSize != 0)
        {
            throw new ArgumentException($"Attention: a Q8_0 cache needs a head size that is a multiple of {BlockQ8_0.BlockSize}, not {headDim}");
        }
        long rowBytes = Q8_0RowBytes(kvHeads * headDim);
        long need = Check(q, output, n, start, heads, kvHeads, headDim, rows) * rowBytes;
        if (keys.Length < need || values.Length < need)
        {
            ThrowShapes();
        }
        fixed (float* pq = q)
        fixed (byte* pk = keys)
        fixed (byte* pv = values)
        fixed (float* po = output)
        fixed (int* pr = rows)
        {
            AttentionJob job = AttentionJob.Rent(pool.ThreadCount, heads / kvHeads, headDim);
            job.Set(pq, po, rows.IsEmpty ? null : pr, start, heads, kvHeads, headDim, rowBytes);
            job.K8 = pk;
            job.V8 = pv;
            Dispatch(pool, job, n * kvHeads);
        }
    }

    /// <summary>Bytes of one Q8_0 cache row of <paramref name="kvDim"/> values (a multiple of 32).</summary>
    public static long Q8_0RowBytes(int kvDim) => (long)kvDim / BlockQ8_0.BlockSize * BlockQ8_0.TypeSize;

    /// <summary>
    /// Writes one cache row in Q8_0: the quantizer of Q8 activations, which is ggml's x86
    /// quantize_row_q8_0 (d = amax/127 as fp16, q = round-to-even(x·127/amax)), so the bytes are
    /// those llama.cpp writes into a q8_0 cache.
    /// </summary>
    /// <param name="x">[kvDim] floats, kvDim a multiple of 32.</param>
    /// <param name="row">[kvDim/32 × 34] bytes.</param>
    public static void QuantizeRowQ8_0(ReadOnlySpan<float> x, Span<byte> row)
    {
        if (x.Length % BlockQ8_0.BlockSize != 0 || row.Length != Q8_0RowBytes(x.Length))
        {
            throw new ArgumentException($"a Q8_0 cache row of {x.Length} values needs a multiple of {BlockQ8_0.BlockSize} values and {Q8_0RowBytes(x.Length)} bytes, got {row.Length}");
        }
        fixed (float* px = x)
        fixed (byte* pr = row)
        {
            for (int b = 0; b < x.Length / BlockQ8_0.BlockSize; b++)
            {
                byte* block = pr + (long)b * BlockQ8_0.TypeSize;
                (float d, _) = Dot.Q8Activations.QuantizeBlock(px + (long)b * BlockQ8_0.BlockSize, (sbyte*)(block + 2));
                *(Half*)block = (Half)d;
            }
        }
    }

    /// <summary>Validates the batch against q, output and the row table; returns the cache rows the attended positions need.</summary>
    private static long Check(ReadOnlySpan<float> q, Span<float> output, int n, int start, int heads, int kvHeads, int headDim, ReadOnlySpan<int> rows)
    {
        if (n < 0 || start < 0 || heads < 1 || kvHeads < 1 || headDim < 1 || heads % kvHeads != 0)
        {
            ThrowShapes();
        }
        long qDim = (long)heads * headDim;
        if (q.Length < n * qDim || output.Length < n * qDim)
        {
            ThrowShapes();
        }
        long needRows = (long)start + n;
        if (!rows.IsEmpty)
        {
            // Every row a position maps to must lie inside the cache (rows come from the KV pool; checked, not trusted).
            if (rows.Length < start + n)
            {
                throw new ArgumentException("Attention: the row table is shorter than the positions attended");
            }
            ReadOnlySpan<int> used = rows[..(start + n)];
            if (used.IsEmpty)
            {
                return 0;
            }
            if (TensorPrimitives.Min(used) < 0)
            {
                throw new ArgumentException("Attention: a negative cache row");
            }
            needRows = TensorPrimitives.Max(used) + 1L;
        }
        return needRows;
    }

    [DoesNotReturn]
    private static void ThrowShapes() => throw new ArgumentException("Attention: shapes do not match the batch and cache");

    private static void Dispatch(ComputePool pool, AttentionJob job, int items)
    {
        try
        {
            pool.For(job, items);
        }
        finally
        {
            job.Clear();
        }
    }

    private sealed class AttentionJob : ParallelJob
    {
        [ThreadStatic]
        private static AttentionJob? t_cached;

        public float* Q;
        public float* O;
        public float* K32;
        public float* V32;
        public ushort* K16;
        public ushort* V16;
        public byte* K8;
        public byte* V8;
        private int* _rows;
        private int _start;
        private int _kvHeads;
        private int _group;
        private int _headDim;
        private long _stride;   // one cache row: floats (f32), halves (fp16) or bytes (Q8_0)
        private float _scale;
        private float[][] _scratch = [];

        /// <summary>
        /// Per worker: keys and values of a block [2, Size, headDim], a row of zeros [headDim], the running
        /// outputs [group, headDim], the block's scores [group, Size], running maxima and sums [2, group].
        /// </summary>
        private static long ScratchFloats(int group, int headDim) =>
            (2L * AttentionBlock.Size + 1 + group) * headDim + (long)group * (AttentionBlock.Size + 2);

        public static AttentionJob Rent(int threads, int group, int headDim)
        {
            AttentionJob job = t_cached ??= new AttentionJob();
            long need = ScratchFloats(group, headDim);
            if (job._scratch.Length < threads || job._scratch[0].Length < need)
            {
                job._scratch = new float[threads][];
                for (int i = 0; i < threads; i++)
                {
                    job._scratch[i] = new float[need];
                }
            }
            return job;
        }

        public void Set(float* q, float* o, int* rows, int start, int heads, int kvHeads, int headDim, long stride)
        {
            Q = q;
            O = o;
            _rows = rows;
            _start = start;
            _kvHeads = kvHeads;
            _group = heads / kvHeads;
            _headDim = headDim;
            _stride = stride;
            _scale = 1f / MathF.Sqrt(headDim);
        }

        public void Clear()
        {
            Q = O = K32 = V32 = null;
            K16 = V16 = null;
            K8 = V8 = null;
            _rows = null;
        }

        public override void Execute(int begin, int end, int worker)
        {
            const int B = AttentionBlock.Size;
            int headDim = _headDim;
            int group = _group;
            long qDim = (long)_kvHeads * group * headDim;
            float** keys = stackalloc float*[B];
            float** values = stackalloc float*[B];
            fixed (float* scratch = _scratch[worker])
            {
                float* kf = scratch;                           // [B, headDim]
                float* vf = kf + (long)B * headDim;            // [B, headDim]
                float* zero = vf + (long)B * headDim;          // [headDim]
                float* acc = zero + headDim;                   // [group, headDim]
                float* s = acc + (long)group * headDim;        // [group, B]
                float* max = s + (long)group * B;              // [group]
                float* sum = max + group;                      // [group]
                new Span<float>(zero, headDim).Clear();
                for (int item = begin; item < end; item++)
                {
                    int t = item / _kvHeads;
                    int kvh = item % _kvHeads;
                    int length = _start + t + 1;
                    float* q = Q + t * qDim + (long)kvh * group * headDim;     // [group, headDim]
                    float* o = O + t * qDim + (long)kvh * group * headDim;
                    new Span<float>(acc, group * headDim).Clear();
                    new Span<float>(max, group).Fill(float.NegativeInfinity);
                    new Span<float>(sum, group).Clear();
                    for (int first = 0; first < length; first += B)
                    {
                        int count = Math.Min(B, length - first);
                        Load(kvh, first, count, kf, vf, keys, values);
                        for (int i = count; i < B && i % 8 != 0; i++)
                        {
                            keys[i] = zero; // scores go eight at a time; the extra ones are ignored
                        }
                        for (int g = 0; g < group; g++)
                        {
                            float* sg = s + g * B;
                            AttentionBlock.Scores(q + (long)g * headDim, keys, count, headDim, _scale, sg);
                            float c = AttentionBlock.Update(sg, count, ref max[g], ref sum[g]);
                            AttentionBlock.Mix(sg, values, count, headDim, c, acc + (long)g * headDim);
                        }
                    }
                    for (int g = 0; g < group; g++)
                    {
                        TensorPrimitives.Multiply(new ReadOnlySpan<float>(acc + (long)g * headDim, headDim), 1f / sum[g], new Span<float>(o + (long)g * headDim, headDim));
                    }
                }
            }
        }

        /// <summary>Points keys and values at float rows of positions [first, first + count) of kv head kvh.</summary>
        private void Load(int kvh, int first, int count, float* kf, float* vf, float** keys, float** values)
        {
            int headDim = _headDim;
            if (K32 is not null)
            {
                AttentionRows.PointF32(K32 + (long)kvh * headDim, _stride, _rows, first, count, keys);
                AttentionRows.PointF32(V32 + (long)kvh * headDim, _stride, _rows, first, count, values);
            }
            else if (K16 is not null)
            {
                AttentionRows.WidenF16(K16 + (long)kvh * headDim, _stride, _rows, first, count, headDim, kf, keys);
                AttentionRows.WidenF16(V16 + (long)kvh * headDim, _stride, _rows, first, count, headDim, vf, values);
            }
            else
            {
                long offset = Q8_0RowBytes(kvh * headDim);
                AttentionRows.DequantizeQ8_0(K8 + offset, _stride, _rows, first, count, headDim, kf, keys);
                AttentionRows.DequantizeQ8_0(V8 + offset, _stride, _rows, first, count, headDim, vf, values);
            }
        }
    }
}
