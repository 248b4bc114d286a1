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
            RunLayers(ctx, tokens.Slice(done, n));
            for (int t = 0; t < n; t++)
            {
                Span<float> xb = ctx.Xb.AsSpan(t * dim, dim);
                RmsNorm.Run(ctx.X.AsSpan(t * dim, dim), Weights.OutputNorm, Config.RmsEpsilon, xb);
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
        RunLayers(s, tokens);

        // Output: all positions when asked, else only the last one of the last batch.
        if (!allLogits.IsEmpty)
        {
            for (int t = 0; t < n; t++)
            {
                RmsNorm.Run(s.X.AsSpan(t * dim, dim), Weights.OutputNorm, c.RmsEpsilon, s.Xb.AsSpan(t * dim, dim));
            }
            MatMul.Run(Pool, Weights.Output, s.Xb, allLogits, n);
            if (last)
            {
                allLogits.Slice((n - 1) * VocabSize, VocabSize).CopyTo(s.Logits);
            }
        }
        else if (last)
        {
            RmsNorm.Run(s.X.AsSpan((n - 1) * dim, dim), Weights.OutputNorm, c.RmsEpsilon, s.Xb.AsSpan(0, dim));
            MatMul.Run(Pool, Weights.Output, s.Xb.AsSpan(0, dim), s.Logits, 1);
        }
    }

    /// <summary>
    /// Embeds <paramref name="tokens"/> at the context's position and runs every block over them,
    /// leaving the final residual stream (before the output norm) in <c>s.X</c> [n, dim].
    /// </summary>
    private void RunLayers(InferenceContext s, ReadOnlySpan<int> tokens)
    {
        ModelConfig c = Config;
        int n = tokens.Length;
        int dim = c.EmbeddingLength;
        int qDim = c.QDim;
        int kvDim = c.KvDim;
        int ff = c.FeedForwardLength;
        int start = s.Position;

        int pairs = _invFreq.Length;
        for (int t = 0; t < n; t++)
        {
            Dequantize.Row(Weights.TokenEmbedding.Type, Weights.TokenEmbedding.Row(tokens[t]), s.X.AsSpan(t * dim, dim));
            Rope.Angles(start + t, _invFreq, s.RopeCos.AsSpan(t * pairs, pairs), s.RopeSin.AsSpan(t * pairs, pairs));
        }

        for (int l = 0; l < c.BlockCount; l++)
        {
            LayerWeights w = Weights.Layers[l];

            // Attention block.
            for (int t = 0; t < n; t++)
            {
                RmsNorm.Run(s.X.AsSpan(t * dim, dim), w.AttnNorm, c.RmsEpsilon, s.Xb.AsSpan(t * dim, dim));
            }
            MatMul.Run(Pool, s.Xb, n, w.Wq, s.Q, w.Wk, s.K, w.Wv, s.V);
            for (int t = 0; t < n; t++)
            {
                Span<float> q = s.Q.AsSpan(t * qDim, qDim);
                Span<float> k = s.K.AsSpan(t * kvDim, kvDim);
                Span<float> v = s.V.AsSpan(t * kvDim, kvDim);
                if (w.Bq is not null)
                {
                    Add(q, w.Bq);
                    Add(k, w.Bk!);
                    Add(v, w.Bv!);
                }
                ReadOnlySpan<float> cos = s.RopeCos.AsSpan(t * pairs, pairs);
                ReadOnlySpan<float> sin = s.RopeSin.AsSpan(t * pairs, pairs);
                Rope.Apply(q, c.HeadCount, c.HeadDim, cos, sin, c.RopeStyle);
                Rope.Apply(k, c.HeadCountKv, c.HeadDim, cos, sin, c.RopeStyle);
                if (s.Keys is not null)
                {
                    k.CopyTo(s.Keys[l].AsSpan((start + t) * kvDim, kvDim));
                    v.CopyTo(s.Values![l].AsSpan((start + t) * kvDim, kvDim));
                }
                else
                {
                    TensorPrimitives.ConvertToHalf(k, s.Keys16![l].AsSpan((start + t) * kvDim, kvDim));
                    TensorPrimitives.ConvertToHalf(v, s.Values16![l].AsSpan((start + t) * kvDim, kvDim));
                }
            }
            if (s.Keys is not null)
            {
                Attention.Run(Pool, s.Q, s.Keys[l], s.Values![l], s.Att, n, start, c.HeadCount, c.HeadCountKv, c.HeadDim);
            }
            else
            {
                Attention.Run(Pool, s.Q, s.Keys16![l], s.Values16![l], s.Att, n, start, c.HeadCount, c.HeadCountKv, c.HeadDim);
            }
            MatMul.Run(Pool, w.Wo, s.Att, s.Xb, n);
            Add(s.X.AsSpan(0, n * dim), s.Xb.AsSpan(0, n * dim));

            // Feed-forward block.
            for (int t = 0; t < n; t++)
            {
                RmsNorm.Run(s.X.AsSpan(t * dim, dim), w.FfnNorm, c.RmsEpsilon, s.Xb.AsSpan(t * dim, dim));
            }
            MatMul.Run(Pool, s.Xb, n, w.Gate, s.Hb, w.Up, s.Hb2);
            SwiGlu.Run(s.Hb.AsSpan(0, n * ff), s.Hb2.AsSpan(0, n * ff));
            MatMul.Run(Pool, w.Down, s.Hb, s.Xb, n);
            Add(s.X.AsSpan(0, n * dim), s.Xb.AsSpan(0, n * dim));
        }
        s.Position = start + n;
    }

    private static void Add(Span<float> x, ReadOnlySpan<float> y) => TensorPrimitives.Add(x, y, x);

    /// <summary>
    /// θ_i = base^(−2i/d) for each rotated pair, divided by the linear scaling factor, or by
    /// rope_freqs[i] for llama3-style scaling (as llama.cpp applies freq_factors).
    /// </summary>
    private static float[] RopeFrequencies(ModelConfig c, float[]? factors)
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
