using Cria.Core.Models;

namespace Cria.Core.Tests.Models;

/// <summary>
/// <see cref="LlamaModel.Embed"/> is mean pooling of the output-normed hidden states, L2-normalized.
/// The reference takes another path to the same states: one <see cref="LlamaModel.Forward"/> over the
/// whole text with every position's logits requested, which leaves each position's normed hidden
/// state in the context's <c>Xb</c> rows; the mean is taken in double here.
/// </summary>
public sealed class EmbedTests(Stories260KFixture fixture) : IClassFixture<Stories260KFixture>
{
    private LlamaModel Model => fixture.Model.Model;

    private int[] Tokens(string text) => fixture.Model.Tokenizer.Encode(text, addSpecial: true);

    [Fact]
    public void Pooled_vector_is_the_normalized_mean_of_normed_hidden_states()
    {
        int[] tokens = Tokens("Once upon a time, there was a little cat who liked to play in the sun.");
        int dim = Model.Config.EmbeddingLength;
        Assert.True(tokens.Length > 8);

        // Reference: one batch over all positions.
        InferenceContext whole = Model.CreateContext(64, maxBatch: tokens.Length, cacheType: KvCacheType.F32);
        var logits = new float[tokens.Length * Model.VocabSize];
        Model.Forward(whole, tokens, logits);
        var mean = new double[dim];
        for (int t = 0; t < tokens.Length; t++)
        {
            for (int i = 0; i < dim; i++)
            {
                mean[i] += whole.Act.Xb[t * dim + i] / tokens.Length;
            }
        }
        double norm = Math.Sqrt(mean.Sum(v => v * v));
        Assert.True(norm > 0);

        // Embed in batches of 3, so the pooling crosses batch boundaries (with a ragged last batch).
        InferenceContext batched = Model.CreateContext(64, maxBatch: 3, cacheType: KvCacheType.F32);
        var pooled = new float[dim];
        Model.Embed(batched, tokens, pooled);

        for (int i = 0; i < dim; i++)
        {
            Assert.Equal(mean[i] / norm, pooled[i], 1e-5);
        }
        double length = Math.Sqrt(pooled.Sum(v => (double)v * v));
        Assert.Equal(1.0, length, 1e-5);
        Assert.Equal(tokens.Length, batched.Position);
    }

    [Fact]
    public void Embedding_is_deterministic_and_restarts_the_context()
    {
        int dim = Model.Config.EmbeddingLength;
        InferenceContext ctx = Model.CreateContext(64, cacheType: KvCacheType.F32);
        var first = new float[dim];
        var second = new float[dim];
        var other = new float[dim];
        Model.Embed(ctx, Tokens("The dog ran to the park."), first);
        Model.Embed(ctx, Tokens("A bird sang in the tree."), other);
        Model.Embed(ctx, Tokens("The dog ran to the park."), second);
        Assert.Equal(first, second);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public void Bad_inputs_are_refused()
    {
        int dim = Model.Config.EmbeddingLength;
        InferenceContext ctx = Model.CreateContext(8, cacheType: KvCacheType.F32);
        Assert.Throws<ArgumentException>(() => Model.Embed(ctx, [], new float[dim]));
        Assert.Throws<ArgumentException>(() => Model.Embed(ctx, new int[9], new float[dim]));
        Assert.Throws<ArgumentException>(() => Model.Embed(ctx, [1, 2], new float[dim + 1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Model.Embed(ctx, [1, Model.VocabSize], new float[dim]));
    }
}
