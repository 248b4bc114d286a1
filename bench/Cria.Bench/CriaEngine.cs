using Cria.Core.Inference;
using Cria.Core.Models;
using Cria.Numerics.Threading;

namespace Cria.Bench;

/// <summary>Cria through its public API: <see cref="LocalModel"/>, one <see cref="InferenceContext"/>, its own compute pool.</summary>
internal sealed class CriaEngine : IEngine
{
    private readonly ComputePool _pool;
    private readonly InferenceContext _ctx;

    public CriaEngine(string path, int threads, int contextLength, int maxBatch, KvCacheType cacheType)
    {
        _pool = new ComputePool(threads);
        Local = LocalModel.Load(path, _pool);
        _ctx = Local.Model.CreateContext(contextLength, maxBatch, cacheType);
    }

    public string Name => "cria";

    public LocalModel Local { get; }

    public int VocabSize => Local.Model.VocabSize;

    /// <summary>The token that replaces the first one of each perplexity chunk, or -1 when the vocabulary adds none.</summary>
    public int PerplexityBos => Local.Tokenizer.AddBos ? Local.Tokenizer.BosId : -1;

    public int[] Tokenize(string text, bool addSpecial) => Local.Tokenizer.Encode(text, addSpecial, parseSpecial: false);

    public void Reset() => _ctx.Reset();

    public ReadOnlySpan<float> Feed(scoped ReadOnlySpan<int> tokens)
    {
        Local.Model.Forward(_ctx, tokens);
        return _ctx.Logits;
    }

    public void Dispose()
    {
        Local.Dispose();
        _pool.Dispose();
    }
}
