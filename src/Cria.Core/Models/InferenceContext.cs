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
        X = new float[maxBatch * dim];
        Xb = new float[maxBatch * dim];
        Q = new float[maxBatch * config.QDim];
        K = new float[maxBatch * config.KvDim];
        V = new float[maxBatch * config.KvDim];
        Att = new float[maxBatch * config.QDim];
        Hb = new float[maxBatch * config.FeedForwardLength];
        Hb2 = new float[maxBatch * config.FeedForwardLength];
        Logits = new float[vocabSize];
        RopeCos = new float[maxBatch * (config.RopeDimensions / 2)];
        RopeSin = new float[maxBatch * (config.RopeDimensions / 2)];
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
    internal float[] X { get; }     // residual stream [maxBatch, dim]
    internal float[] Xb { get; }    // normed input / block output [maxBatch, dim]
    internal float[] Q { get; }     // [maxBatch, qDim]
    internal float[] K { get; }     // [maxBatch, kvDim]
    internal float[] V { get; }     // [maxBatch, kvDim]
    internal float[] Att { get; }   // attention output [maxBatch, qDim]
    internal float[] Hb { get; }    // gate / SwiGLU [maxBatch, ff]
    internal float[] Hb2 { get; }   // up [maxBatch, ff]
    internal float[] RopeCos { get; }   // [maxBatch, ropeDims/2] for the positions of the batch
    internal float[] RopeSin { get; }

    /// <summary>Logits of the last position fed, [vocab].</summary>
    public float[] Logits { get; }

    /// <summary>Forgets every token (the next forward starts at position 0).</summary>
    public void Reset() => Position = 0;

    /// <summary>Drops the cache back to <paramref name="position"/> tokens (e.g. to reuse a shared prefix).</summary>
    public void Truncate(int position)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(position, Position);
        Position = position;
    }
}
