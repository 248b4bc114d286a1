using System.Numerics.Tensors;

using Cria.Numerics.Kernels;
using Cria.Numerics.Quants;
using Cria.Numerics.Threading;

namespace Cria.Core.Models;

/// <summary>The KV pool has no block left for a sequence that needs one.</summary>
public sealed class KvPoolExhaustedException(string message) : InvalidOperationException(message);

/// <summary>
/// A paged KV cache (Kwon et al. 2023, "PagedAttention"): fixed-size blocks of <see cref="BlockSize"/>
/// positions in one pool per model, handed to sequences as they grow. Full blocks are remembered by
/// content — (previous block, its generation, the block's tokens, the adapters) — so a later sequence
/// with the same prefix attaches them instead of computing them again (vLLM's automatic prefix caching).
/// <para>
/// Invariants: a block is in exactly one state — in use (reference count ≥ 1: attached to that many
/// sequences), cached (count 0, full, findable by content, evictable least recently used first) or free;
/// a block with more than one reference is full and never written (sequences write only to blocks
/// they alone hold); a block's generation changes whenever it is reused for other content, so a
/// child remembered under an old parent can never be found again. All methods are thread-safe.
/// </para>
/// Storage per layer: keys and values [kvHeads, blocks × BlockSize, headDim], head-major (each kv
/// head's rows contiguous, so attention streams them), in f16, f32 or Q8_0 (each head's row headDim/32
/// ggml blocks).
/// </summary>
public sealed class KvPool
{
    public const int DefaultBlockSize = 32;

    private readonly Lock _lock = new();
    private readonly int[] _refs;
    private readonly int[] _generation;
    private readonly BlockKey?[] _keyOf;             // content key of a cached or shared full block
    private readonly Dictionary<BlockKey, int> _cache = [];
    private readonly LinkedList<int> _lru = new();    // cached blocks with count 0, least recent first
    private readonly LinkedListNode<int>?[] _lruNode;
    private readonly Stack<int> _free = new();
    private readonly Dictionary<string, int> _adapterSalts = new(StringComparer.Ordinal);
    private readonly int _layers;
    private readonly int _kvHeads;
    private readonly long _capacity;                // rows: blocks × block size
    private readonly int _headRow;                  // elements of one kv head's row: headDim floats or halves, or its Q8_0 bytes
    private readonly float[][]? _keys32, _values32; // [layer][kvHeads × rows × headDim], by cache type: one pair is set
    private readonly Half[][]? _keys16, _values16;
    private readonly byte[][]? _keys8, _values8;     // [layer][kvHeads × rows × headDim/32 × 34]
    private long _lookups;
    private long _hits;

    public KvPool(ModelConfig config, int blocks, KvCacheType cacheType = KvCacheType.F16, int blockSize = DefaultBlockSize)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfLessThan(blocks, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        CheckCacheType(config, cacheType);
        long rows = (long)blocks * blockSize;
        if (rows * RowLength(config, cacheType) > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(blocks), $"{blocks} blocks of {blockSize} positions need a KV cache larger than one array per layer can hold");
        }
        BlockSize = blockSize;
        BlockCount = blocks;
        KvDim = config.KvDim;
        CacheType = cacheType;
        _layers = config.BlockCount;
        _kvHeads = config.HeadCountKv;
        _capacity = rows;
        _headRow = (int)(RowLength(config, cacheType) / _kvHeads);
        int length = (int)(rows * RowLength(config, cacheType));
        switch (cacheType)
        {
            case KvCacheType.F32:
                _keys32 = Layers<float>(_layers, length);
                _values32 = Layers<float>(_layers, length);
                break;
            case KvCacheType.F16:
                _keys16 = Layers<Half>(_layers, length);
                _values16 = Layers<Half>(_layers, length);
                break;
            default:
                _keys8 = Layers<byte>(_layers, length);
                _values8 = Layers<byte>(_layers, length);
                break;
        }
        _refs = new int[blocks];
        _generation = new int[blocks];
        _keyOf = new BlockKey?[blocks];
        _lruNode = new LinkedListNode<int>?[blocks];
        for (int b = blocks - 1; b >= 0; b--)
        {
            _free.Push(b);
        }
    }

    public int BlockSize { get; }

    public int BlockCount { get; }

    public int KvDim { get; }

    public KvCacheType CacheType { get; }

    /// <summary>Bytes of one position's keys (or values) in one layer: kvDim × 4 (f32), × 2 (f16), or kvDim/32 × 34 (Q8_0).</summary>
    public long RowBytes => (long)_kvHeads * _headRow * (CacheType switch { KvCacheType.F32 => 4, KvCacheType.F16 => 2, _ => 1 });

    /// <summary>Bytes the pool holds.</summary>
    public long Bytes => 2L * _layers * BlockCount * BlockSize * RowBytes;

    /// <summary>Elements one position takes in a layer's array: kvDim floats or halves, or the bytes of kvDim/32 Q8_0 blocks.</summary>
    internal static long RowLength(ModelConfig config, KvCacheType cacheType) =>
        cacheType == KvCacheType.Q8_0 ? Attention.Q8_0RowBytes(config.KvDim) : config.KvDim;

    /// <summary>A Q8_0 cache quantizes each head in blocks of 32 values, so the head size must be a multiple of 32.</summary>
    /// <exception cref="NotSupportedException">The model cannot use this cache type; the message names its head size.</exception>
    public static void CheckCacheType(ModelConfig config, KvCacheType cacheType)
    {
        if (!Enum.IsDefined(cacheType))
        {
            throw new ArgumentOutOfRangeException(nameof(cacheType), $"unknown KV cache type {cacheType}");
        }
        if (cacheType == KvCacheType.Q8_0 && config.HeadDim % BlockQ8_0.BlockSize != 0)
        {
            throw new NotSupportedException(
                $"a Q8_0 KV cache stores each attention head in blocks of {BlockQ8_0.BlockSize} values; this model's head size is {config.HeadDim} (use f16 or f32)");
        }
    }

    /// <summary>
    /// Stores one position's keys and values ([kvDim] each, after RoPE) of one layer at pool row
    /// <paramref name="row"/>, in the cache type; each kv head's part goes to that head's rows.
    /// </summary>
    internal void Write(int layer, int row, ReadOnlySpan<float> k, ReadOnlySpan<float> v)
    {
        int headDim = KvDim / _kvHeads;
        for (int h = 0; h < _kvHeads; h++)
        {
            int at = checked((int)((h * _capacity + row) * _headRow));
            ReadOnlySpan<float> kh = k.Slice(h * headDim, headDim), vh = v.Slice(h * headDim, headDim);
            switch (CacheType)
            {
                case KvCacheType.F32:
                    kh.CopyTo(_keys32![layer].AsSpan(at, headDim));
                    vh.CopyTo(_values32![layer].AsSpan(at, headDim));
                    break;
                case KvCacheType.F16:
                    TensorPrimitives.ConvertToHalf(kh, _keys16![layer].AsSpan(at, headDim));
                    TensorPrimitives.ConvertToHalf(vh, _values16![layer].AsSpan(at, headDim));
                    break;
                default:
                    Attention.QuantizeRowQ8_0(kh, _keys8![layer].AsSpan(at, _headRow));
                    Attention.QuantizeRowQ8_0(vh, _values8![layer].AsSpan(at, _headRow));
                    break;
            }
        }
    }

    /// <summary>
    /// Attention of n consecutive tokens of one sequence (at positions start..start+n−1, q [n, qDim]) over
    /// this layer's cache, whose positions sit at pool rows <paramref name="rows"/>; out [n, qDim].
    /// </summary>
    internal void Attend(ComputePool pool, int layer, ModelConfig config, ReadOnlySpan<float> q, Span<float> output, int n, int start, ReadOnlySpan<int> rows)
    {
        switch (CacheType)
        {
            case KvCacheType.F32:
                Attention.Run(pool, q, _keys32![layer], _values32![layer], output, n, start, config.HeadCount, config.HeadCountKv, config.HeadDim, rows);
                break;
            case KvCacheType.F16:
                Attention.Run(pool, q, _keys16![layer], _values16![layer], output, n, start, config.HeadCount, config.HeadCountKv, config.HeadDim, rows);
                break;
            default:
                Attention.RunQ8_0(pool, q, _keys8![layer], _values8![layer], output, n, start, config.HeadCount, config.HeadCountKv, config.HeadDim, rows);
                break;
        }
    }

    /// <summary>Blocks a sequence could get now: free plus cached (evictable).</summary>
    public int AvailableBlocks
    {
        get
        {
            lock (_lock)
            {
                return _free.Count + _lru.Count;
            }
        }
    }

    /// <summary>Blocks held by sequences now.</summary>
    public int BlocksInUse
    {
        get
        {
            lock (_lock)
            {
                return BlockCount - _free.Count - _lru.Count;
            }
        }
    }

    /// <summary>Full blocks looked up for reuse, and how many were found.</summary>
    public (long Lookups, long Hits) PrefixStats
    {
        get
        {
            lock (_lock)
            {
                return (_lookups, _hits);
            }
        }
    }

    /// <summary>A small number naming an adapter set, mixed into the first block's key (a cache made under other adapters is not reused).</summary>
    internal int SaltOf(string adaptersKey)
    {
        lock (_lock)
        {
            if (!_adapterSalts.TryGetValue(adaptersKey, out int salt))
            {
                salt = _adapterSalts.Count;
                _adapterSalts[adaptersKey] = salt;
            }
            return salt;
        }
    }

    /// <summary>A block for a sequence to write: a free one, else the least recently used cached one (forgotten).</summary>
    internal int Allocate()
    {
        lock (_lock)
        {
            int block;
            if (_free.Count > 0)
            {
                block = _free.Pop();
            }
            else if (_lru.First is { } oldest)
            {
                block = oldest.Value;
                _lru.RemoveFirst();
                _lruNode[block] = null;
                Forget(block);
            }
            else
            {
                throw new KvPoolExhaustedException($"the KV cache has no free block ({BlockCount} blocks of {BlockSize} positions, all in use)");
            }
            _generation[block]++;
            _refs[block] = 1;
            return block;
        }
    }

    /// <summary>Gives a sequence's hold on a block back; an unreferenced full block stays findable until evicted.</summary>
    internal void Release(int block)
    {
        lock (_lock)
        {
            if (_refs[block] <= 0)
            {
                throw new InvalidOperationException($"KV block {block} released more often than taken");
            }
            if (--_refs[block] > 0)
            {
                return;
            }
            if (_keyOf[block] is not null)
            {
                _lruNode[block] = _lru.AddLast(block);
            }
            else
            {
                _free.Push(block);
            }
        }
    }

    /// <summary>Records a block that a sequence has filled, under its content key, so later prompts can attach it.</summary>
    internal void Publish(int block, int parent, int salt, ReadOnlySpan<int> tokens)
    {
        lock (_lock)
        {
            if (_keyOf[block] is not null)
            {
                return;
            }
            var key = new BlockKey(parent, parent >= 0 ? _generation[parent] : salt, HashTokens(tokens), [.. tokens]);
            if (_cache.TryAdd(key, block))
            {
                _keyOf[block] = key;
            }
        }
    }

    /// <summary>The cached block holding <paramref name="tokens"/> after <paramref name="parent"/> (−1: the first block), taken (count + 1); −1 if none.</summary>
    internal int TryTake(int parent, int salt, ReadOnlySpan<int> tokens)
    {
        lock (_lock)
        {
            _lookups++;
            var probe = new BlockKey(parent, parent >= 0 ? _generation[parent] : salt, HashTokens(tokens), [.. tokens]);
            if (!_cache.TryGetValue(probe, out int block))
            {
                return -1;
            }
            _hits++;
            if (_refs[block]++ == 0 && _lruNode[block] is { } node)
            {
                _lru.Remove(node);
                _lruNode[block] = null;
            }
            return block;
        }
    }

    /// <summary>Whether only one sequence holds the block (so it may be written).</summary>
    internal bool IsExclusive(int block)
    {
        lock (_lock)
        {
            return _refs[block] == 1;
        }
    }

    /// <summary>Copies the first <paramref name="rows"/> positions of one block into another, every layer (copy-on-write).</summary>
    internal void CopyRows(int from, int to, int rows)
    {
        int length = rows * _headRow;
        for (int l = 0; l < _layers; l++)
        {
            for (int h = 0; h < _kvHeads; h++)
            {
                int src = checked((int)((h * _capacity + (long)from * BlockSize) * _headRow));
                int dst = checked((int)((h * _capacity + (long)to * BlockSize) * _headRow));
                switch (CacheType)
                {
                    case KvCacheType.F32:
                        _keys32![l].AsSpan(src, length).CopyTo(_keys32[l].AsSpan(dst));
                        _values32![l].AsSpan(src, length).CopyTo(_values32[l].AsSpan(dst));
                        break;
                    case KvCacheType.F16:
                        _keys16![l].AsSpan(src, length).CopyTo(_keys16[l].AsSpan(dst));
                        _values16![l].AsSpan(src, length).CopyTo(_values16[l].AsSpan(dst));
                        break;
                    default:
                        _keys8![l].AsSpan(src, length).CopyTo(_keys8[l].AsSpan(dst));
                        _values8![l].AsSpan(src, length).CopyTo(_values8[l].AsSpan(dst));
                        break;
                }
            }
        }
    }

    private static T[][] Layers<T>(int layers, int length)
    {
        var a = new T[layers][];
        for (int l = 0; l < layers; l++)
        {
            a[l] = new T[length];
        }
        return a;
    }

    private void Forget(int block)
    {
        if (_keyOf[block] is { } key)
        {
            _cache.Remove(key);
            _keyOf[block] = null;
        }
    }

    private static int HashTokens(ReadOnlySpan<int> tokens)
    {
        var hash = new HashCode();
        foreach (int t in tokens)
        {
            hash.Add(t);
        }
        return hash.ToHashCode();
    }

    /// <summary>A full block's content: its parent (and the parent's generation, or the adapter salt for the first block) and its tokens, compared exactly.</summary>
    private sealed class BlockKey(int parent, int parentGeneration, int hash, int[] tokens) : IEquatable<BlockKey>
    {
        public int Parent { get; } = parent;

        public int ParentGeneration { get; } = parentGeneration;

        public int Hash { get; } = hash;

        public int[] Tokens { get; } = tokens;

        public bool Equals(BlockKey? other) =>
            other is not null && other.Parent == Parent && other.ParentGeneration == ParentGeneration && other.Hash == Hash && other.Tokens.AsSpan().SequenceEqual(Tokens);

        public override bool Equals(object? obj) => Equals(obj as BlockKey);

        public override int GetHashCode() => HashCode.Combine(Parent, ParentGeneration, Hash);
    }
}
