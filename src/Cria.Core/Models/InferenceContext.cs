using System.Diagnostics;

using Cria.Core.Models.Blocks;
using Cria.Numerics.Threading;

namespace Cria.Core.Models;

/// <summary>Element type of the KV cache.</summary>
public enum KvCacheType
{
    /// <summary>fp16 (the default, as llama.cpp): half the memory and bandwidth of f32.</summary>
    F16,

    /// <summary>f32: exact, twice the memory.</summary>
    F32,

    /// <summary>
    /// ggml Q8_0 blocks per row (fp16 scale + 32 int8: 34 bytes per 32 values), about half the memory
    /// of fp16; needs a head size that is a multiple of 32.
    /// </summary>
    Q8_0,
}

/// <summary>
/// The per-sequence state of a model: its KV cache (blocks of a <see cref="KvPool"/> — a private pool
/// sized to the context, or one shared by all the sequences a server runs), the tokens it holds, its
/// adapters and activation buffers, allocated once, so a decode step allocates nothing.
/// Invariant: positions [0, <see cref="Position"/>) hold the keys and values of <see cref="History"/>,
/// in order, at the pool rows of the row table; the context holds exactly the blocks those
/// positions need (plus at most the block the next position goes into), and writes only to blocks
/// it alone holds. The history is the first Position entries of one token array, so the two cannot
/// disagree, and both change only here: a forward pass reserves (<see cref="Reserve"/>), stores each
/// layer's keys and values (<see cref="Store"/>) and attends (<see cref="Attend"/>) at the old
/// position, then commits (<see cref="Commit"/>).
/// Shapes: pool storage [kvHeads, rows, headDim] per layer (see <see cref="KvPool"/>); activations [maxBatch, width].
/// </summary>
public sealed class InferenceContext
{
    private readonly List<int> _blocks = [];
    private readonly int[] _rows;      // [contextLength] pool row of each position (valid below blocks × blockSize)
    private readonly int[] _tokens;    // [contextLength] token id at each position (valid below Position)
    private readonly bool _ownsPool;

    /// <summary>A sequence with a private cache of <paramref name="contextLength"/> positions.</summary>
    public InferenceContext(ModelConfig config, int vocabSize, int contextLength, int maxBatch, KvCacheType cacheType = KvCacheType.F16)
        : this(config, vocabSize, contextLength, maxBatch, PrivatePool(config, contextLength, cacheType), ownsPool: true)
    {
    }

    /// <summary>A sequence whose cache blocks come from a shared pool, as it needs them.</summary>
    public InferenceContext(ModelConfig config, int vocabSize, int contextLength, int maxBatch, KvPool pool)
        : this(config, vocabSize, contextLength, maxBatch, pool, ownsPool: false)
    {
    }

    private InferenceContext(ModelConfig config, int vocabSize, int contextLength, int maxBatch, KvPool pool, bool ownsPool)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        if (pool.KvDim != config.KvDim)
        {
            throw new ArgumentException("the KV pool was made for another model", nameof(pool));
        }
        ContextLength = contextLength;
        MaxBatch = maxBatch;
        Pool = pool;
        _ownsPool = ownsPool;
        CacheType = pool.CacheType;
        _rows = new int[contextLength];
        Act = new Activations(config, maxBatch);
        _tokens = new int[contextLength];
        _blocks.Capacity = (contextLength + pool.BlockSize - 1) / pool.BlockSize;
        Logits = new float[vocabSize];
    }

    private static KvPool PrivatePool(ModelConfig config, int contextLength, KvCacheType cacheType)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, 1);
        KvPool.CheckCacheType(config, cacheType);
        if (contextLength * KvPool.RowLength(config, cacheType) > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(contextLength), $"a context of {contextLength} tokens needs a KV cache larger than one array per layer can hold");
        }
        int blockSize = Math.Min(KvPool.DefaultBlockSize, contextLength);
        return new KvPool(config, (contextLength + blockSize - 1) / blockSize, cacheType, blockSize);
    }

    /// <summary>Where this sequence's cache blocks come from.</summary>
    public KvPool Pool { get; }

    /// <summary>Whether the pool is shared with other sequences (then full blocks are published for prefix reuse).</summary>
    public bool SharesPool => !_ownsPool;

    /// <summary>Blocks this sequence holds.</summary>
    public int BlockCount => _blocks.Count;

    public int ContextLength { get; }

    public int MaxBatch { get; }

    /// <summary>Tokens already in the cache.</summary>
    public int Position { get; private set; }

    public KvCacheType CacheType { get; }

    /// <summary>Bytes of the KV cache this sequence holds (a private pool: all of it).</summary>
    public long CacheBytes => _ownsPool ? Pool.Bytes : Pool.Bytes / Pool.BlockCount * _blocks.Count;

    /// <summary>
    /// Makes positions [Position, <paramref name="end"/>) writable: new blocks from the pool, and a copy
    /// of a shared block that the next position would write into (copy-on-write).
    /// </summary>
    /// <exception cref="KvPoolExhaustedException">The pool has no block left; nothing is changed.</exception>
    internal void Reserve(int end)
    {
        int bs = Pool.BlockSize;
        int first = Position / bs;
        if (!_ownsPool && Position % bs != 0 && first < _blocks.Count && !Pool.IsExclusive(_blocks[first]))
        {
            int copy = Pool.Allocate();
            Pool.CopyRows(_blocks[first], copy, Position % bs);
            Pool.Release(_blocks[first]);
            SetBlock(first, copy);
        }
        int need = (end + bs - 1) / bs;
        int had = _blocks.Count;
        try
        {
            while (_blocks.Count < need)
            {
                _blocks.Add(Pool.Allocate());
                SetRows(_blocks.Count - 1);
            }
        }
        catch (KvPoolExhaustedException)
        {
            while (_blocks.Count > had)
            {
                Pool.Release(_blocks[^1]);
                _blocks.RemoveAt(_blocks.Count - 1);
            }
            throw;
        }
    }

    /// <summary>Blocks needed to grow to <paramref name="end"/> positions that this sequence does not hold yet.</summary>
    public int BlocksNeeded(int end) => Math.Max(0, (end + Pool.BlockSize - 1) / Pool.BlockSize - _blocks.Count);

    /// <summary>
    /// Stores the keys and values of one layer ([kvDim] each, after RoPE) at <paramref name="position"/>,
    /// which <see cref="Reserve"/> made writable.
    /// </summary>
    internal void Store(int layer, int position, ReadOnlySpan<float> k, ReadOnlySpan<float> v) =>
        Pool.Write(layer, _rows[position], k, v);

    /// <summary>
    /// Attention of the <paramref name="n"/> tokens being fed (q [n, qDim], at positions Position..Position+n−1,
    /// their keys and values stored) over this sequence's cache of one layer; output [n, qDim].
    /// </summary>
    internal void Attend(ComputePool pool, int layer, ModelConfig config, ReadOnlySpan<float> q, Span<float> output, int n) =>
        Pool.Attend(pool, layer, config, q, output, n, Position, _rows);

    /// <summary>
    /// After a forward pass stored every layer's keys and values of <paramref name="tokens"/> at positions
    /// [Position, Position + n): they become part of the sequence — the position advances, the history
    /// grows, and the blocks that became full are published for prefix reuse when the pool is shared.
    /// </summary>
    internal void Commit(ReadOnlySpan<int> tokens)
    {
        int from = Position;
        Debug.Assert(from + tokens.Length <= _blocks.Count * Pool.BlockSize, "commit of positions that were never reserved");
        tokens.CopyTo(_tokens.AsSpan(from));
        Position = from + tokens.Length;
        if (!_ownsPool)
        {
            PublishFullBlocks(from);
        }
    }

    /// <summary>The blocks that became full since <paramref name="from"/> are published for prefix reuse.</summary>
    private void PublishFullBlocks(int from)
    {
        int bs = Pool.BlockSize;
        if (from / bs >= Position / bs)
        {
            return; // no block became full in this step (the usual decode step)
        }
        int salt = Pool.SaltOf(AdaptersKey);
        for (int b = from / bs; b < Position / bs; b++)
        {
            Pool.Publish(_blocks[b], b == 0 ? -1 : _blocks[b - 1], salt, _tokens.AsSpan(b * bs, bs));
        }
    }

    /// <summary>
    /// Attaches the longest run of cached full blocks that begin <paramref name="prompt"/> (keeping at least
    /// its last token to feed); the context must be empty. Returns the positions attached.
    /// </summary>
    public int AttachCachedPrefix(ReadOnlySpan<int> prompt)
    {
        if (Position != 0 || _blocks.Count != 0)
        {
            throw new InvalidOperationException("attach a cached prefix to an empty context only");
        }
        int bs = Pool.BlockSize;
        int salt = Pool.SaltOf(AdaptersKey);
        int limit = Math.Min(prompt.Length - 1, ContextLength) / bs;
        for (int b = 0; b < limit; b++)
        {
            int block = Pool.TryTake(b == 0 ? -1 : _blocks[b - 1], salt, prompt.Slice(b * bs, bs));
            if (block < 0)
            {
                break;
            }
            _blocks.Add(block);
            SetRows(b);
        }
        Position = _blocks.Count * bs;
        prompt[..Position].CopyTo(_tokens);
        return Position;
    }

    private void SetBlock(int index, int block)
    {
        _blocks[index] = block;
        SetRows(index);
    }

    private void SetRows(int index)
    {
        int bs = Pool.BlockSize;
        int first = _blocks[index] * bs;
        int end = Math.Min(ContextLength, (index + 1) * bs);
        for (int p = index * bs; p < end; p++)
        {
            _rows[p] = first + p - index * bs;
        }
    }

    private void ReleaseBlocksFrom(int keep)
    {
        while (_blocks.Count > keep)
        {
            Pool.Release(_blocks[^1]);
            _blocks.RemoveAt(_blocks.Count - 1);
        }
    }

    /// <summary>Identifies the adapter set in the prefix cache (a cache made under other adapters is never reused).</summary>
    internal string AdaptersKey { get; private set; } = "";

    /// <summary>Activation buffers for batches of this sequence alone ([maxBatch, width] each).</summary>
    internal Activations Act { get; }

    /// <summary>Logits of the last position fed, [vocab].</summary>
    public float[] Logits { get; }

    /// <summary>
    /// The token ids whose keys and values the cache holds, positions [0, Position) in order (so a new
    /// prompt can reuse the longest prefix it shares with them, see <see cref="Truncate"/>).
    /// </summary>
    public ReadOnlySpan<int> History => _tokens.AsSpan(0, Position);

    /// <summary>The LoRA adapters applied to this sequence (none by default).</summary>
    public IReadOnlyList<ActiveAdapter> Adapters { get; private set; } = [];

    /// <summary>
    /// Sets the adapters for what is fed next. A cache computed under other adapters is not valid
    /// under these, so changing them forgets every token.
    /// </summary>
    public void SetAdapters(IReadOnlyList<ActiveAdapter>? adapters)
    {
        adapters ??= [];
        if (adapters.SequenceEqual(Adapters))
        {
            return;
        }
        Adapters = [.. adapters];
        AdaptersKey = string.Join("|", Adapters.Select(a => $"{a.Adapter.Name}#{System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(a.Adapter)}:{a.Scale}"));
        Reset();
    }

    /// <summary>Forgets every token (the next forward starts at position 0).</summary>
    public void Reset()
    {
        Position = 0;
        ReleaseBlocksFrom(0);
    }

    /// <summary>Drops the cache back to <paramref name="position"/> tokens (e.g. to reuse a shared prefix).</summary>
    public void Truncate(int position)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(position, Position);
        Position = position;
        ReleaseBlocksFrom((position + Pool.BlockSize - 1) / Pool.BlockSize);
    }
}
