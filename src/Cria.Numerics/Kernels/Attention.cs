using System.Diagnostics.CodeAnalysis;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

using Cria.Numerics.Quants;
using Cria.Numerics.Threading;

namespace Cria.Numerics.Kernels;

/// <summary>
/// Causal scaled dot-product attention with grouped-query heads (Vaswani et al. 2017 eq. 1; GQA,
/// Ainslie et al. 2023) for a batch of n consecutive tokens whose keys and values are already in
/// the cache. Shapes: q [n, heads·headDim]; out [n, heads·headDim]; keys and values of one layer
/// [kvHeads, capacity, headDim] in f32, fp16 or Q8_0 — head-major, so the rows one kv head reads
/// are contiguous and stream from memory (a row-major cache would make each head read a short
/// piece of every row; at long contexts that costs more than the arithmetic). The capacity is what
/// the spans hold. Token t sits at position start+t and sees cache positions 0..start+t. A paged
/// cache passes <c>rows</c>: the cache row holding each position (else position p is row p).
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
        Span<float> output, int n, int start, int heads, int kvHeads, int headDim, ReadOnlySpan<int> rows = default) =>
        RunCache(pool, q, MemoryMarshal.AsBytes(keys), MemoryMarshal.AsBytes(values), CacheKind.F32, (long)headDim * sizeof(float),
            output, n, start, heads, kvHeads, headDim, rows);

    /// <summary>Attention over an fp16 cache (the default: half the memory traffic of f32).</summary>
    public static void Run(ComputePool pool, ReadOnlySpan<float> q, ReadOnlySpan<Half> keys, ReadOnlySpan<Half> values,
        Span<float> output, int n, int start, int heads, int kvHeads, int headDim, ReadOnlySpan<int> rows = default) =>
        RunCache(pool, q, MemoryMarshal.AsBytes(keys), MemoryMarshal.AsBytes(values), CacheKind.F16, (long)headDim * sizeof(ushort),
            output, n, start, heads, kvHeads, headDim, rows);

    /// <summary>
    /// Attention over a Q8_0 cache: each head's row is headDim/32 ggml Q8_0 blocks (fp16 scale,
    /// 32 int8; <see cref="Q8_0RowBytes"/> bytes), so headDim must be a multiple of 32. Queries stay
    /// f32; keys and values are dequantized exactly (d·q) before use.
    /// </summary>
    public static void RunQ8_0(ComputePool pool, ReadOnlySpan<float> q, ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values,
        Span<float> output, int n, int start, int heads, int kvHeads, int headDim, ReadOnlySpan<int> rows = default)
    {
        if (headDim % BlockQ8_0.BlockSize != 0)
        {
            throw new ArgumentException($"Attention: a Q8_0 cache needs a head size that is a multiple of {BlockQ8_0.BlockSize}, not {headDim}");
        }
        RunCache(pool, q, keys, values, CacheKind.Q8_0, Q8_0RowBytes(headDim), output, n, start, heads, kvHeads, headDim, rows);
    }

    /// <summary>The three cache types as bytes: one head's row of one position is <paramref name="rowBytes"/> long.</summary>
    private static void RunCache(ComputePool pool, ReadOnlySpan<float> q, ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values, CacheKind kind, long rowBytes,
        Span<float> output, int n, int start, int heads, int kvHeads, int headDim, ReadOnlySpan<int> rows)
    {
        ArgumentNullException.ThrowIfNull(pool);
        long capacity = Check(q, keys.Length, values.Length, rowBytes, output, n, start, heads, kvHeads, headDim, rows);
        fixed (float* pq = q)
        fixed (byte* pk = keys)
        fixed (byte* pv = values)
        fixed (float* po = output)
        fixed (int* pr = rows)
        {
            AttentionJob job = AttentionJob.Rent(pool.ThreadCount, heads / kvHeads, headDim);
            job.Set(pq, po, rows.IsEmpty ? null : pr, pk, pv, kind, rowBytes, capacity, n, start, heads, kvHeads, headDim);
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

    /// <summary>
    /// Validates the batch against q, output, the cache and the row table; returns the cache's capacity
    /// in rows per kv head (keys and values each hold kvHeads × capacity rows of <paramref name="rowLength"/> elements).
    /// </summary>
    private static long Check(ReadOnlySpan<float> q, long keys, long values, long rowLength, Span<float> output, int n, int start, int heads, int kvHeads,
        int headDim, ReadOnlySpan<int> rows)
    {
        if (n < 0 || start < 0 || heads < 1 || kvHeads < 1 || headDim < 1 || heads % kvHeads != 0)
        {
            ThrowShapes();
        }
        long qDim = (long)heads * headDim;
        if (q.Length < n * qDim || output.Length < n * qDim || keys != values || keys % (kvHeads * rowLength) != 0)
        {
            ThrowShapes();
        }
        long capacity = keys / (kvHeads * rowLength);
        long needRows = (long)start + n;
        if (!rows.IsEmpty)
        {
            // Every row a position maps to must lie inside the cache (rows come from the KV pool; checked, not trusted).
            if (rows.Length < start + n)
            {
                throw new ArgumentException("Attention: the row table is shorter than the positions attended");
            }
            ReadOnlySpan<int> used = rows[..(start + n)];
            if (!used.IsEmpty && TensorPrimitives.Min(used) < 0)
            {
                throw new ArgumentException("Attention: a negative cache row");
            }
            needRows = used.IsEmpty ? 0 : TensorPrimitives.Max(used) + 1L;
        }
        if (needRows > capacity)
        {
            ThrowShapes();
        }
        return capacity;
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

    private enum CacheKind
    {
        F32,
        F16,
        Q8_0,
    }

    private sealed class AttentionJob : ParallelJob
    {
#pragma warning disable IDE1006 // [ThreadStatic] fields take dotnet/runtime's t_ prefix, which .editorconfig cannot express
        [ThreadStatic]
        private static AttentionJob? t_cached;
#pragma warning restore IDE1006

        private float* _q;
        private float* _o;
        private byte* _keys;
        private byte* _values;
        private int* _rows;
        private CacheKind _kind;
        private long _rowBytes;    // one position's keys (or values) of one kv head
        private long _headStride;  // from one kv head's rows to the next: capacity × rowBytes
        private int _start;
        private int _n;
        private int _kvHeads;
        private int _group;
        private int _headDim;
        private float _scale;
        private float[][] _scratch = [];

        /// <summary>
        /// Per worker: keys and values of a block [2, Size, headDim], the running outputs [group, headDim],
        /// interleaved query pairs [group, headDim], the block's scores [group, Size], running maxima and sums [2, group].
        /// </summary>
        private static long ScratchFloats(int group, int headDim) =>
            (2L * AttentionBlock.Size + 2L * group) * headDim + (long)group * (AttentionBlock.Size + 2);

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

        public void Set(float* q, float* o, int* rows, byte* keys, byte* values, CacheKind kind, long rowBytes, long capacity, int n, int start, int heads,
            int kvHeads, int headDim)
        {
            _q = q;
            _o = o;
            _rows = rows;
            _keys = keys;
            _values = values;
            _kind = kind;
            _rowBytes = rowBytes;
            _headStride = capacity * rowBytes;
            _start = start;
            _n = n;
            _kvHeads = kvHeads;
            _group = heads / kvHeads;
            _headDim = headDim;
            _scale = 1f / MathF.Sqrt(headDim);
        }

        public void Clear()
        {
            _q = _o = null;
            _keys = _values = null;
            _rows = null;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Execute(int begin, int end, int worker)
        {
#pragma warning disable IDE1006 // B: the block size, as the shapes below name it
            const int B = AttentionBlock.Size;
#pragma warning restore IDE1006
            int headDim = _headDim;
            int group = _group;
            long qDim = (long)_kvHeads * group * headDim;
            bool paired = AttentionBlock.Paired(headDim);
            fixed (float* scratch = _scratch[worker])
            {
                float* kf = scratch;                           // [B, headDim]
                float* vf = kf + (long)B * headDim;            // [B, headDim]
                float* acc = vf + (long)B * headDim;           // [group, headDim]
                float* q2 = acc + (long)group * headDim;       // [group / 2, 2 × headDim]
                float* s = q2 + (long)group * headDim;         // [group, B]
                float* max = s + (long)group * B;              // [group]
                float* sum = max + group;                      // [group]
                for (int item = begin; item < end; item++)
                {
                    // Last token first: the longest items are claimed first, so the threads finish together.
                    int t = _n - 1 - item / _kvHeads;
                    int kvh = item % _kvHeads;
                    int length = _start + t + 1;
                    float* q = _q + t * qDim + (long)kvh * group * headDim;     // [group, headDim]
                    float* o = _o + t * qDim + (long)kvh * group * headDim;
                    new Span<float>(acc, group * headDim).Clear();
                    new Span<float>(max, group).Fill(float.NegativeInfinity);
                    new Span<float>(sum, group).Clear();
                    for (int g = 0; paired && g + 2 <= group; g += 2)
                    {
                        AttentionBlock.Interleave(q + (long)g * headDim, q + (long)(g + 1) * headDim, headDim, q2 + (long)g * headDim);
                    }
                    for (int first = 0; first < length; first += B)
                    {
                        int count = Math.Min(B, length - first);
                        Load(kvh, first, count, kf, vf);
                        int g = 0;
                        for (; g + 2 <= group; g += 2)
                        {
                            float* s0 = s + g * B, s1 = s0 + B;
                            float c0, c1;
                            if (paired)
                            {
                                AttentionBlock.Scores2(q2 + (long)g * headDim, kf, count, headDim, _scale, s0, s1);
                                AttentionBlock.Update2(s0, s1, count, max + g, sum + g, out c0, out c1);
                            }
                            else
                            {
                                AttentionBlock.Scores(q + (long)g * headDim, kf, count, headDim, _scale, s0);
                                AttentionBlock.Scores(q + (long)(g + 1) * headDim, kf, count, headDim, _scale, s1);
                                c0 = AttentionBlock.Update(s0, count, ref max[g], ref sum[g]);
                                c1 = AttentionBlock.Update(s1, count, ref max[g + 1], ref sum[g + 1]);
                            }
                            AttentionBlock.Mix2(s0, s1, vf, count, headDim, c0, c1, acc + (long)g * headDim, acc + (long)(g + 1) * headDim);
                        }
                        if (g < group)
                        {
                            float* sg = s + g * B;
                            AttentionBlock.Scores(q + (long)g * headDim, kf, count, headDim, _scale, sg);
                            float c = AttentionBlock.Update(sg, count, ref max[g], ref sum[g]);
                            AttentionBlock.Mix(sg, vf, count, headDim, c, acc + (long)g * headDim);
                        }
                    }
                    for (int g = 0; g < group; g++)
                    {
                        TensorPrimitives.Multiply(new ReadOnlySpan<float>(acc + (long)g * headDim, headDim), 1f / sum[g], new Span<float>(o + (long)g * headDim, headDim));
                    }
                }
            }
        }

        /// <summary>Keys and values of positions [first, first + count) of kv head kvh as float rows in kf and vf.</summary>
        private void Load(int kvh, int first, int count, float* kf, float* vf)
        {
            int headDim = _headDim;
            byte* k = _keys + kvh * _headStride;
            byte* v = _values + kvh * _headStride;
            switch (_kind)
            {
                case CacheKind.F32:
                    AttentionRows.CopyF32(k, _rowBytes, _rows, first, count, headDim, kf);
                    AttentionRows.CopyF32(v, _rowBytes, _rows, first, count, headDim, vf);
                    break;
                case CacheKind.F16:
                    AttentionRows.WidenF16(k, _rowBytes, _rows, first, count, headDim, kf);
                    AttentionRows.WidenF16(v, _rowBytes, _rows, first, count, headDim, vf);
                    break;
                default:
                    AttentionRows.DequantizeQ8_0(k, _rowBytes, _rows, first, count, headDim, kf);
                    AttentionRows.DequantizeQ8_0(v, _rowBytes, _rows, first, count, headDim, vf);
                    break;
            }
        }
    }
}
