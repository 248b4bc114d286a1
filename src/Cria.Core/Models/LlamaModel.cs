using System.Numerics.Tensors;

using Cria.Core.Gguf;
using Cria.Core.Models.Blocks;
using Cria.Numerics.Kernels;
using Cria.Numerics.Threading;

namespace Cria.Core.Models;

/// <summary>
/// The Llama-family decoder (Touvron et al. 2023): token embedding, N blocks of
/// [RMSNorm → GQA attention with RoPE and KV cache → residual, RMSNorm → SwiGLU MLP → residual],
/// final RMSNorm and the output projection. Covers GGUF "llama" (Llama 1–3.x, TinyLlama, Mistral)
/// and "qwen2" (QKV biases, NeoX RoPE). This file is the wiring; the blocks (Blocks/) hold the ops,
/// each an explicit kernel call, so the training code can mirror them with a backward pass.
/// </summary>
public sealed class LlamaModel : IDisposable
{
    private readonly GgufFile? _owner;
    private readonly RotaryEmbedding _rope;
    private readonly SelfAttention _attention;
    private readonly FeedForward _feedForward;

    public LlamaModel(ModelConfig config, LlamaWeights weights, ComputePool pool, GgufFile? owner = null)
    {
        Config = config ?? throw new ArgumentNullException(nameof(config));
        Weights = weights ?? throw new ArgumentNullException(nameof(weights));
        Pool = pool ?? throw new ArgumentNullException(nameof(pool));
        _owner = owner;
        _rope = new RotaryEmbedding(config, weights.RopeFreqFactors);
        _attention = new SelfAttention(config, Pool);
        _feedForward = new FeedForward(config, Pool);
    }

    public ModelConfig Config { get; }

    public LlamaWeights Weights { get; }

    public ComputePool Pool { get; }

    public int VocabSize => Weights.VocabSize;

    /// <summary>Loads the model part of an open GGUF file; the model takes ownership of the file.</summary>
    public static LlamaModel Load(GgufFile file, ComputePool? pool = null)
    {
        ModelConfig config = ModelConfig.FromGguf(file);
        LlamaWeights weights = LlamaWeights.Bind(file, config);
        return new LlamaModel(config, weights, pool ?? ComputePool.Shared, file);
    }

    /// <summary>A fresh per-sequence state for up to <paramref name="contextLength"/> tokens.</summary>
    public InferenceContext CreateContext(int contextLength = 0, int maxBatch = 64, KvCacheType cacheType = KvCacheType.F16)
    {
        int ctx = contextLength > 0 ? contextLength : Config.ContextLength;
        return new InferenceContext(Config, VocabSize, ctx, Math.Min(maxBatch, ctx), cacheType);
    }

    /// <summary>
    /// Feeds <paramref name="tokens"/> at the context's current position, in batches, and leaves the
    /// last position's logits in <see cref="InferenceContext.Logits"/>. When <paramref name="allLogits"/>
    /// is given ([tokens, vocab]) the logits of every position are written there too.
    /// </summary>
    public void Forward(InferenceContext ctx, ReadOnlySpan<int> tokens, Span<float> allLogits = default)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        if (tokens.IsEmpty)
        {
            return;
        }
        if (ctx.Position + tokens.Length > ctx.ContextLength)
        {
            throw new ArgumentException($"{ctx.Position} + {tokens.Length} tokens exceed the context of {ctx.ContextLength}");
        }
        if (!allLogits.IsEmpty && allLogits.Length < (long)tokens.Length * VocabSize)
        {
            throw new ArgumentException("allLogits must hold [tokens, vocab] floats", nameof(allLogits));
        }
        ForwardChecks.Vocabulary(tokens, VocabSize);
        ForwardChecks.Adapters(ctx, Config);
        for (int done = 0; done < tokens.Length;)
        {
            int n = Math.Min(ctx.MaxBatch, tokens.Length - done);
            Span<float> chunkLogits = allLogits.IsEmpty ? default : allLogits.Slice(done * VocabSize, n * VocabSize);
            ForwardChunk(ctx, tokens.Slice(done, n), chunkLogits, last: done + n == tokens.Length);
            done += n;
        }
    }

    /// <summary>
    /// One forward pass over tokens of several sequences at once (continuous batching): the weights
    /// are read once for the whole batch. <paramref name="tokens"/> holds each chunk's tokens at
    /// [Offset, Offset+Count); a chunk's tokens go into its context at the context's position. Every
    /// chunk's context gets the logits of its last token in <see cref="InferenceContext.Logits"/>. The
    /// kernels are batch-invariant, so each sequence's logits are bit-identical to running it alone.
    /// </summary>
    public void ForwardBatch(BatchWorkspace workspace, ReadOnlySpan<int> tokens, ReadOnlySpan<SequenceChunk> chunks)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        if (chunks.IsEmpty)
        {
            return;
        }
        ForwardChecks.Batch(workspace, tokens, chunks, Config, VocabSize);
        Activations a = workspace.Act;
        RunLayers(new TokenBatch(a, tokens, chunks));

        // Logits of each sequence's last token: normed rows [sequences, dim] → [sequences, vocab].
        int dim = Config.EmbeddingLength;
        float[] normed = workspace.LastNormed;
        float[] logits = workspace.Logits;
        for (int i = 0; i < chunks.Length; i++)
        {
            int last = chunks[i].Offset + chunks[i].Count - 1;
            RmsNorm.Run(a.X.AsSpan(last * dim, dim), Weights.OutputNorm, Config.RmsEpsilon, normed.AsSpan(i * dim, dim));
        }
        MatMul.Run(Pool, Weights.Output, normed.AsSpan(0, chunks.Length * dim), logits.AsSpan(0, chunks.Length * VocabSize), chunks.Length);
        for (int i = 0; i < chunks.Length; i++)
        {
            logits.AsSpan(i * VocabSize, VocabSize).CopyTo(chunks[i].Context.Logits);
        }
    }

    /// <summary>
    /// A sentence embedding: starts the context over, feeds <paramref name="tokens"/> in batches,
    /// applies the final RMSNorm to every position's hidden state, averages them (mean pooling) and
    /// L2-normalizes the mean into <paramref name="pooled"/> [dim]. The context is left holding the tokens.
    /// </summary>
    public void Embed(InferenceContext ctx, ReadOnlySpan<int> tokens, Span<float> pooled)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        int dim = Config.EmbeddingLength;
        if (tokens.IsEmpty)
        {
            throw new ArgumentException("at least one token is needed to embed", nameof(tokens));
        }
        if (tokens.Length > ctx.ContextLength)
        {
            throw new ArgumentException($"{tokens.Length} tokens exceed the context of {ctx.ContextLength}", nameof(tokens));
        }
        if (pooled.Length != dim)
        {
            throw new ArgumentException($"pooled must hold the embedding width of {dim} floats", nameof(pooled));
        }
        ForwardChecks.Vocabulary(tokens, VocabSize);
        ctx.Reset();
        pooled.Clear();
        Activations a = ctx.Act;
        for (int done = 0; done < tokens.Length;)
        {
            int n = Math.Min(ctx.MaxBatch, tokens.Length - done);
            ReadOnlySpan<SequenceChunk> one = [new SequenceChunk(ctx, 0, n)];
            RunLayers(new TokenBatch(a, tokens.Slice(done, n), one));
            for (int t = 0; t < n; t++)
            {
                Span<float> xb = a.Xb.AsSpan(t * dim, dim);
                RmsNorm.Run(a.X.AsSpan(t * dim, dim), Weights.OutputNorm, Config.RmsEpsilon, xb);
                TensorPrimitives.Add(pooled, xb, pooled);
            }
            done += n;
        }
        TensorPrimitives.Divide(pooled, tokens.Length, pooled);
        float norm = TensorPrimitives.Norm(pooled);
        if (norm > 0)
        {
            TensorPrimitives.Divide(pooled, norm, pooled);
        }
    }

    /// <summary>
    /// Up to <see cref="InferenceContext.MaxBatch"/> tokens of one sequence; the logits of every
    /// position into <paramref name="allLogits"/> [n, vocab] when given, and those of the last into the
    /// context when <paramref name="last"/> (the last chunk of a prompt).
    /// </summary>
    private void ForwardChunk(InferenceContext ctx, ReadOnlySpan<int> tokens, Span<float> allLogits, bool last)
    {
        int n = tokens.Length;
        int dim = Config.EmbeddingLength;
        Activations a = ctx.Act;
        ReadOnlySpan<SequenceChunk> one = [new SequenceChunk(ctx, 0, n)];
        RunLayers(new TokenBatch(a, tokens, one));

        if (!allLogits.IsEmpty)
        {
            for (int t = 0; t < n; t++)
            {
                RmsNorm.Run(a.X.AsSpan(t * dim, dim), Weights.OutputNorm, Config.RmsEpsilon, a.Xb.AsSpan(t * dim, dim));
            }
            MatMul.Run(Pool, Weights.Output, a.Xb, allLogits, n);
            if (last)
            {
                allLogits.Slice((n - 1) * VocabSize, VocabSize).CopyTo(ctx.Logits);
            }
        }
        else if (last)
        {
            RmsNorm.Run(a.X.AsSpan((n - 1) * dim, dim), Weights.OutputNorm, Config.RmsEpsilon, a.Xb.AsSpan(0, dim));
            MatMul.Run(Pool, Weights.Output, a.Xb.AsSpan(0, dim), ctx.Logits, 1);
        }
    }

    /// <summary>
    /// The decoder over one batch, leaving the final residual stream (before the output norm) in
    /// x [n, dim]: each layer is x += Attention(RMSNorm(x)), then x += SwiGLU(RMSNorm(x)).
    /// </summary>
    private void RunLayers(in TokenBatch b)
    {
        b.ReserveCache();   // no KV block left fails here, before any work
        b.Embed(Weights.Embeddings);
        _rope.Angles(b);
        for (int l = 0; l < Config.BlockCount; l++)
        {
            LayerWeights w = Weights.Layers[l];
            b.Norm(w.AttnNorm, Config.RmsEpsilon);   // xb = RMSNorm(x)
            _attention.Forward(b, l, w);             // xb = Attention(xb); layer l's keys and values cached
            b.AddResidual();                         // x += xb
            b.Norm(w.FfnNorm, Config.RmsEpsilon);    // xb = RMSNorm(x)
            _feedForward.Forward(b, l, w);           // xb = SwiGLU(xb)
            b.AddResidual();                         // x += xb
        }
        b.Commit();         // positions advance, histories grow, full blocks are published
    }

    public void Dispose()
    {
        foreach (var buffer in Weights.Owned)
        {
            buffer.Dispose();
        }
        _owner?.Dispose();
    }
}
