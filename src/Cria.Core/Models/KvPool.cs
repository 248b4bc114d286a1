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
/// Storage per layer: keys and values [blocks × BlockSize, kvDim] row-major, f16 or f32.
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
    private long _lookups;
    private long _hits;

    public KvPool(ModelConfig config, int blocks, KvCacheType cacheType = KvCacheType.F16, int blockSize = DefaultBlockSize)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfLessThan(blocks, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        long rows = (long)blocks * blockSize;
        long length = rows * config.KvDim;
        if (length > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(blocks), $"{blocks} blocks of {blockSize} positions need a KV cache larger than one array per layer can hold");
        }
        BlockSize = blockSize;
        BlockCount = blocks;
        KvDim = config.KvDim;
        CacheType = cacheType;
        if (cacheType == KvCacheType.F32)
        {
            Keys = new float[config.BlockCount][];
            Values = new float[config.BlockCount][];
        }
        else
        {
            Keys16 = new Half[config.BlockCount][];
            Values16 = new Half[config.BlockCount][];
        }
        for (int l = 0; l < config.BlockCount; l++)
        {
            if (cacheType == KvCacheType.F32)
            {
                Keys![l] = new float[length];
                Values![l] = new float[length];
            }
            else
            {
                Keys16![l] = new Half[length];
                Values16![l] = new Half[length];
            }
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

    internal float[][]? Keys { get; }
    internal float[][]? Values { get; }
    internal Half[][]? Keys16 { get; }
    internal Half[][]? Values16 { get; }

    /// <summary>Bytes the pool holds.</summary>
    public long Bytes => 2L * (Keys?.Length ?? Keys16!.Length) * BlockCount * BlockSize * KvDim * (CacheType == KvCacheType.F32 ? 4 : 2);

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
        int length = rows * KvDim;
        for (int l = 0; l < (Keys?.Length ?? Keys16!.Length); l++)
        {
            if (Keys is not null)
            {
                Keys[l].AsSpan(from * BlockSize * KvDim, length).CopyTo(Keys[l].AsSpan(to * BlockSize * KvDim));
                Values![l].AsSpan(from * BlockSize * KvDim, length).CopyTo(Values[l].AsSpan(to * BlockSize * KvDim));
            }
            else
            {
                Keys16![l].AsSpan(from * BlockSize * KvDim, length).CopyTo(Keys16[l].AsSpan(to * BlockSize * KvDim));
                Values16![l].AsSpan(from * BlockSize * KvDim, length).CopyTo(Values16[l].AsSpan(to * BlockSize * KvDim));
            }
        }
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
