using System.Numerics.Tensors;

using Cria.Core.Gguf;
using Cria.Numerics.Kernels;
using Cria.Numerics.Quants;
using Cria.Numerics.Threading;

namespace Cria.Core.Models;

/// <summary>
/// The Llama-family decoder (Touvron et al. 2023): token embedding, N blocks of
/// [RMSNorm → GQA attention with RoPE and KV cache → residual, RMSNorm → SwiGLU MLP → residual],
/// final RMSNorm and the output projection. Covers GGUF "llama" (Llama 1–3.x, TinyLlama, Mistral)
/// and "qwen2" (QKV biases, NeoX RoPE). Each op is an explicit call, so the training code can
/// mirror it with a backward pass.
/// </summary>
public sealed class LlamaModel : IDisposable
{
    private static readonly LoraTarget[] s_loraTargets = Enum.GetValues<LoraTarget>();

    private readonly GgufFile? _owner;
    private readonly float[] _invFreq;   // [ropeDims/2] angular frequency per rotated pair

    public LlamaModel(ModelConfig config, LlamaWeights weights, ComputePool pool, GgufFile? owner = null)
    {
        Config = config ?? throw new ArgumentNullException(nameof(config));
        Weights = weights ?? throw new ArgumentNullException(nameof(weights));
        Pool = pool ?? throw new ArgumentNullException(nameof(pool));
        _owner = owner;
        _invFreq = RopeFrequencies(config, weights.RopeFreqFactors);
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
        CheckVocabulary(tokens);
        CheckAdapters(ctx);
        for (int done = 0; done < tokens.Length;)
        {
            int n = Math.Min(ctx.MaxBatch, tokens.Length - done);
            Span<float> chunkLogits = allLogits.IsEmpty ? default : allLogits.Slice(done * VocabSize, n * VocabSize);
            ForwardBatch(ctx, tokens.Slice(done, n), chunkLogits, last: done + n == tokens.Length);
            done += n;
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
        CheckVocabulary(tokens);
        ctx.Reset();
        pooled.Clear();
        for (int done = 0; done < tokens.Length;)
        {
            int n = Math.Min(ctx.MaxBatch, tokens.Length - done);
            ReadOnlySpan<SequenceChunk> one = [new SequenceChunk(ctx, 0, n)];
            RunLayers(ctx.Act, tokens.Slice(done, n), one);
            for (int t = 0; t < n; t++)
            {
                Span<float> xb = ctx.Act.Xb.AsSpan(t * dim, dim);
                RmsNorm.Run(ctx.Act.X.AsSpan(t * dim, dim), Weights.OutputNorm, Config.RmsEpsilon, xb);
                Add(pooled, xb);
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

    /// <summary>Adapters must have been made for this model's shapes (they are checked against a config at load; this catches another model's).</summary>
    private void CheckAdapters(InferenceContext ctx)
    {
        foreach (ActiveAdapter active in ctx.Adapters)
        {
            LoraAdapter adapter = active.Adapter;
            if (adapter.LayerCount != Config.BlockCount)
            {
                throw new ArgumentException($"adapter {adapter.Name} has {adapter.LayerCount} layers; the model has {Config.BlockCount}");
            }
            for (int l = 0; l < adapter.LayerCount; l++)
            {
                foreach (LoraTarget target in s_loraTargets)
                {
                    if (adapter.Get(l, target) is { } m && (m.Out, m.In) != LoraAdapter.Shape(Config, target))
                    {
                        throw new ArgumentException($"adapter {adapter.Name} does not fit this model at {LoraAdapter.TensorName(l, target)}");
                    }
                }
            }
        }
    }

    private void CheckVocabulary(ReadOnlySpan<int> tokens)
    {
        foreach (int t in tokens)
        {
            if ((uint)t >= (uint)VocabSize)
            {
                throw new ArgumentOutOfRangeException(nameof(tokens), $"token id {t} is outside the vocabulary of {VocabSize}");
            }
        }
    }

    private void ForwardBatch(InferenceContext s, ReadOnlySpan<int> tokens, Span<float> allLogits, bool last)
    {
        ModelConfig c = Config;
        int n = tokens.Length;
        int dim = c.EmbeddingLength;
        Activations a = s.Act;
        ReadOnlySpan<SequenceChunk> one = [new SequenceChunk(s, 0, n)];
        RunLayers(a, tokens, one);

        // Output: all positions when asked, else only the last one of the last batch.
        if (!allLogits.IsEmpty)
        {
            for (int t = 0; t < n; t++)
            {
                RmsNorm.Run(a.X.AsSpan(t * dim, dim), Weights.OutputNorm, c.RmsEpsilon, a.Xb.AsSpan(t * dim, dim));
            }
            MatMul.Run(Pool, Weights.Output, a.Xb, allLogits, n);
            if (last)
            {
                allLogits.Slice((n - 1) * VocabSize, VocabSize).CopyTo(s.Logits);
            }
        }
        else if (last)
        {
            RmsNorm.Run(a.X.AsSpan((n - 1) * dim, dim), Weights.OutputNorm, c.RmsEpsilon, a.Xb.AsSpan(0, dim));
            MatMul.Run(Pool, Weights.Output, a.Xb.AsSpan(0, dim), s.Logits, 1);
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
        if (chunks.Length > workspace.MaxSequences || tokens.Length > workspace.Act.Capacity)
        {
            throw new ArgumentException($"the batch has {chunks.Length} sequences and {tokens.Length} tokens; the workspace holds {workspace.MaxSequences} and {workspace.Act.Capacity}");
        }
        int next = 0;
        for (int i = 0; i < chunks.Length; i++)
        {
            SequenceChunk chunk = chunks[i];
            ArgumentNullException.ThrowIfNull(chunk.Context, nameof(chunks));
            if (chunk.Offset != next || chunk.Count < 1)
            {
                throw new ArgumentException("chunks must cover the tokens in order, each with at least one token", nameof(chunks));
            }
            if (chunk.Context.Position + chunk.Count > chunk.Context.ContextLength)
            {
                throw new ArgumentException($"chunk {i}: {chunk.Context.Position} + {chunk.Count} tokens exceed the context of {chunk.Context.ContextLength}");
            }
            for (int j = 0; j < i; j++)
            {
                if (chunks[j].Context == chunk.Context)
                {
                    throw new ArgumentException("a sequence may appear in one chunk of a batch only", nameof(chunks));
                }
            }
            next += chunk.Count;
        }
        if (next != tokens.Length)
        {
            throw new ArgumentException("chunks must cover every token", nameof(chunks));
        }
        CheckVocabulary(tokens);
        foreach (SequenceChunk chunk in chunks)
        {
            CheckAdapters(chunk.Context);
        }

        ModelConfig c = Config;
        int dim = c.EmbeddingLength;
        Activations a = workspace.Act;
        RunLayers(a, tokens, chunks);
        float[] normed = workspace.LastNormed;   // [sequences, dim]
        float[] logits = workspace.Logits;       // [sequences, vocab]
        for (int i = 0; i < chunks.Length; i++)
        {
            int last = chunks[i].Offset + chunks[i].Count - 1;
            RmsNorm.Run(a.X.AsSpan(last * dim, dim), Weights.OutputNorm, c.RmsEpsilon, normed.AsSpan(i * dim, dim));
        }
        MatMul.Run(Pool, Weights.Output, normed.AsSpan(0, chunks.Length * dim), logits.AsSpan(0, chunks.Length * VocabSize), chunks.Length);
        for (int i = 0; i < chunks.Length; i++)
        {
            logits.AsSpan(i * VocabSize, VocabSize).CopyTo(chunks[i].Context.Logits);
        }
    }

    /// <summary>
    /// Embeds <paramref name="tokens"/> and runs every block over them, leaving the final residual
    /// stream (before the output norm) in <c>a.X</c> [n, dim]. Each chunk's tokens sit at its context's
    /// position onward; their keys and values go into that context's cache, and attention reads it.
    /// </summary>
    private void RunLayers(Activations a, ReadOnlySpan<int> tokens, ReadOnlySpan<SequenceChunk> chunks)
    {
        ModelConfig c = Config;
        int n = tokens.Length;
        int dim = c.EmbeddingLength;
        int qDim = c.QDim;
        int kvDim = c.KvDim;
        int ff = c.FeedForwardLength;

        int pairs = _invFreq.Length;
        // Cache blocks first, for every chunk: running out of KV blocks fails the step before any work.
        foreach (SequenceChunk chunk in chunks)
        {
            chunk.Context.Reserve(chunk.Context.Position + chunk.Count);
        }
        foreach (SequenceChunk chunk in chunks)
        {
            int start = chunk.Context.Position;
            for (int i = 0; i < chunk.Count; i++)
            {
                int t = chunk.Offset + i;
                Weights.Embeddings.Lookup(tokens[t], a.X.AsSpan(t * dim, dim));
                Rope.Angles(start + i, _invFreq, a.RopeCos.AsSpan(t * pairs, pairs), a.RopeSin.AsSpan(t * pairs, pairs));
            }
        }

        for (int l = 0; l < c.BlockCount; l++)
        {
            LayerWeights w = Weights.Layers[l];

            // Attention block.
            for (int t = 0; t < n; t++)
            {
                RmsNorm.Run(a.X.AsSpan(t * dim, dim), w.AttnNorm, c.RmsEpsilon, a.Xb.AsSpan(t * dim, dim));
            }
            MatMul.Run(Pool, a.Xb.AsSpan(0, n * dim), n, w.Wq, a.Q, w.Wk, a.K, w.Wv, a.V);
            ApplyLora(chunks, l, LoraTarget.Q, a.Xb, a.Q);
            ApplyLora(chunks, l, LoraTarget.K, a.Xb, a.K);
            ApplyLora(chunks, l, LoraTarget.V, a.Xb, a.V);
            foreach (SequenceChunk chunk in chunks)
            {
                InferenceContext s = chunk.Context;
                int start = s.Position;
                for (int i = 0; i < chunk.Count; i++)
                {
                    int t = chunk.Offset + i;
                    Span<float> q = a.Q.AsSpan(t * qDim, qDim);
                    Span<float> k = a.K.AsSpan(t * kvDim, kvDim);
                    Span<float> v = a.V.AsSpan(t * kvDim, kvDim);
                    if (w.Bq is not null)
                    {
                        Add(q, w.Bq);
                        Add(k, w.Bk!);
                        Add(v, w.Bv!);
                    }
                    ReadOnlySpan<float> cos = a.RopeCos.AsSpan(t * pairs, pairs);
                    ReadOnlySpan<float> sin = a.RopeSin.AsSpan(t * pairs, pairs);
                    Rope.Apply(q, c.HeadCount, c.HeadDim, cos, sin, c.RopeStyle);
                    Rope.Apply(k, c.HeadCountKv, c.HeadDim, cos, sin, c.RopeStyle);
                    s.Pool.Write(l, s.Rows[start + i], k, v);
                }
                ReadOnlySpan<float> qs = a.Q.AsSpan(chunk.Offset * qDim, chunk.Count * qDim);
                Span<float> att = a.Att.AsSpan(chunk.Offset * qDim, chunk.Count * qDim);
                s.Pool.Attend(Pool, l, c, qs, att, chunk.Count, start, s.Rows);
            }
            MatMul.Run(Pool, w.Wo, a.Att.AsSpan(0, n * qDim), a.Xb, n);
            ApplyLora(chunks, l, LoraTarget.O, a.Att, a.Xb);
            Add(a.X.AsSpan(0, n * dim), a.Xb.AsSpan(0, n * dim));

            // Feed-forward block.
            for (int t = 0; t < n; t++)
            {
                RmsNorm.Run(a.X.AsSpan(t * dim, dim), w.FfnNorm, c.RmsEpsilon, a.Xb.AsSpan(t * dim, dim));
            }
            MatMul.Run(Pool, a.Xb.AsSpan(0, n * dim), n, w.Gate, a.Hb, w.Up, a.Hb2);
            ApplyLora(chunks, l, LoraTarget.Gate, a.Xb, a.Hb);
            ApplyLora(chunks, l, LoraTarget.Up, a.Xb, a.Hb2);
            SwiGlu.Run(a.Hb.AsSpan(0, n * ff), a.Hb2.AsSpan(0, n * ff));
            MatMul.Run(Pool, w.Down, a.Hb.AsSpan(0, n * ff), a.Xb, n);
            ApplyLora(chunks, l, LoraTarget.Down, a.Hb, a.Xb);
            Add(a.X.AsSpan(0, n * dim), a.Xb.AsSpan(0, n * dim));
        }
        foreach (SequenceChunk chunk in chunks)
        {
            InferenceContext s = chunk.Context;
            int from = s.Position;
            s.Position += chunk.Count;
            for (int i = 0; i < chunk.Count; i++)
            {
                s.History.Add(tokens[chunk.Offset + i]);
            }
            if (s.SharesPool)
            {
                s.PublishFullBlocks(from);
            }
        }
    }

    private static void Add(Span<float> x, ReadOnlySpan<float> y) => TensorPrimitives.Add(x, y, x);

    /// <summary>
    /// y += Σ scale · B·A·x over each chunk's adapters for one matrix (LoRA, Hu et al. 2021 eq. 3):
    /// x [n, in] is the matrix's input and y [n, out] its output, for the chunk's tokens only — so
    /// sequences with different adapters share one batch.
    /// </summary>
    private void ApplyLora(ReadOnlySpan<SequenceChunk> chunks, int layer, LoraTarget target, float[] x, float[] y)
    {
        foreach (SequenceChunk chunk in chunks)
        {
            IReadOnlyList<ActiveAdapter> adapters = chunk.Context.Adapters;
            for (int i = 0; i < adapters.Count; i++)
            {
                if (adapters[i].Adapter.Get(layer, target) is not { } m)
                {
                    continue;
                }
                float scale = adapters[i].Scale * LoraAdapter.ScaleOf(adapters[i].Adapter.Alpha, m.Rank);
                m.Apply(x.AsSpan(chunk.Offset * m.In, chunk.Count * m.In), y.AsSpan(chunk.Offset * m.Out, chunk.Count * m.Out), chunk.Count, scale);
            }
        }
    }

    /// <summary>
    /// θ_i = base^(−2i/d) for each rotated pair, divided by the linear scaling factor, or by
    /// rope_freqs[i] for llama3-style scaling (as llama.cpp applies freq_factors).
    /// </summary>
    internal static float[] RopeFrequencies(ModelConfig c, float[]? factors)
    {
        int pairs = c.RopeDimensions / 2;
        var f = new float[pairs];
        for (int i = 0; i < pairs; i++)
        {
            double theta = Math.Pow(c.RopeFreqBase, -2.0 * i / c.RopeDimensions);
            if (c.RopeScaling == RopeScaling.Linear)
            {
                theta /= c.RopeScalingFactor;
            }
            if (factors is not null)
            {
                theta /= factors[i];
            }
            f[i] = (float)theta;
        }
        return f;
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
