namespace Cria.Core.Models;

/// <summary>Element type of the KV cache.</summary>
public enum KvCacheType
{
    /// <summary>fp16 (the default, as llama.cpp): half the memory and bandwidth of f32.</summary>
    F16,

    /// <summary>f32: exact, twice the memory.</summary>
    F32,
}

/// <summary>
/// The per-sequence state of a model: the KV cache and every activation buffer, allocated once,
/// so a decode step allocates nothing. Invariant: cache rows [0, <see cref="Position"/>) hold the
/// keys and values of the tokens fed so far, in order.
/// Shapes: Keys[l], Values[l] are [ctx, kvDim] row-major; activations are [maxBatch, width].
/// </summary>
public sealed class InferenceContext
{
    public InferenceContext(ModelConfig config, int vocabSize, int contextLength, int maxBatch, KvCacheType cacheType = KvCacheType.F16)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        ContextLength = contextLength;
        MaxBatch = maxBatch;
        int dim = config.EmbeddingLength;
        CacheType = cacheType;
        long cacheLength = (long)contextLength * config.KvDim;
        if (cacheLength > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(contextLength), $"a context of {contextLength} tokens needs a KV cache larger than one array per layer can hold");
        }
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
                Keys![l] = new float[cacheLength];
                Values![l] = new float[cacheLength];
            }
            else
            {
                Keys16![l] = new Half[cacheLength];
                Values16![l] = new Half[cacheLength];
            }
        }
        Act = new Activations(config, maxBatch);
        History = new List<int>(contextLength); // full capacity up front: appending never allocates
        Logits = new float[vocabSize];
    }

    public int ContextLength { get; }

    public int MaxBatch { get; }

    /// <summary>Tokens already in the cache.</summary>
    public int Position { get; internal set; }

    public KvCacheType CacheType { get; }

    /// <summary>Bytes held by the KV cache.</summary>
    public long CacheBytes => (Keys?.Sum(k => (long)k.Length * 4) ?? 0) * 2 + (Keys16?.Sum(k => (long)k.Length * 2) ?? 0) * 2;

    internal float[][]? Keys { get; }
    internal float[][]? Values { get; }
    internal Half[][]? Keys16 { get; }
    internal Half[][]? Values16 { get; }
    /// <summary>Activation buffers for batches of this sequence alone ([maxBatch, width] each).</summary>
    internal Activations Act { get; }

    /// <summary>Logits of the last position fed, [vocab].</summary>
    public float[] Logits { get; }

    /// <summary>
    /// The token ids whose keys and values the cache holds, positions [0, Position) in order (so a new
    /// prompt can reuse the longest prefix it shares with them, see <see cref="Truncate"/>).
    /// </summary>
    public List<int> History { get; }

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
        Reset();
    }

    /// <summary>Forgets every token (the next forward starts at position 0).</summary>
    public void Reset()
    {
        Position = 0;
        History.Clear();
    }

    /// <summary>Drops the cache back to <paramref name="position"/> tokens (e.g. to reuse a shared prefix).</summary>
    public void Truncate(int position)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(position, Position);
        Position = position;
        if (History.Count > position)
        {
            History.RemoveRange(position, History.Count - position);
        }
    }
}

/// <summary>
/// The activation buffers of one forward pass over up to <see cref="Capacity"/> tokens, allocated once.
/// Shapes are [capacity, width] row-major; token t of the batch uses row t.
/// </summary>
internal sealed class Activations
{
    public Activations(ModelConfig config, int capacity)
    {
        Capacity = capacity;
        int dim = config.EmbeddingLength;
        X = new float[capacity * dim];
        Xb = new float[capacity * dim];
        Q = new float[capacity * config.QDim];
        K = new float[capacity * config.KvDim];
        V = new float[capacity * config.KvDim];
        Att = new float[capacity * config.QDim];
        Hb = new float[capacity * config.FeedForwardLength];
        Hb2 = new float[capacity * config.FeedForwardLength];
        RopeCos = new float[capacity * (config.RopeDimensions / 2)];
        RopeSin = new float[capacity * (config.RopeDimensions / 2)];
    }

    public int Capacity { get; }
    public float[] X { get; }     // residual stream [capacity, dim]
    public float[] Xb { get; }    // normed input / block output [capacity, dim]
    public float[] Q { get; }     // [capacity, qDim]
    public float[] K { get; }     // [capacity, kvDim]
    public float[] V { get; }     // [capacity, kvDim]
    public float[] Att { get; }   // attention output [capacity, qDim]
    public float[] Hb { get; }    // gate / SwiGLU [capacity, ff]
    public float[] Hb2 { get; }   // up [capacity, ff]
    public float[] RopeCos { get; }   // [capacity, ropeDims/2] for the positions of the batch
    public float[] RopeSin { get; }
}
