using System.Numerics.Tensors;

using Cria.Numerics.Kernels;

namespace Cria.Core.Models.Blocks;

/// <summary>
/// The tokens of one forward pass, the sequences they belong to and the buffers they run in — what
/// every block takes. Chunk i's tokens are rows [Offset, Offset+Count) of every buffer and go into
/// its context at the context's position; the chunks cover the tokens in order. The steps here are
/// the same for every architecture: cache reservation, embedding lookup, the pre-norm and the
/// residual add, and the commit that makes the tokens part of their sequences.
/// </summary>
internal readonly ref struct TokenBatch
{
    public TokenBatch(Activations act, ReadOnlySpan<int> tokens, ReadOnlySpan<SequenceChunk> chunks)
    {
        Act = act;
        Tokens = tokens;
        Chunks = chunks;
    }

    public Activations Act { get; }

    public ReadOnlySpan<int> Tokens { get; }             // [n]

    public ReadOnlySpan<SequenceChunk> Chunks { get; }   // [sequences]

    public int Count => Tokens.Length;

    /// <summary>
    /// Cache blocks for every chunk's new positions, before any work: running out of KV blocks
    /// (<see cref="KvPoolExhaustedException"/>) fails the step with no context advanced.
    /// </summary>
    public void ReserveCache()
    {
        foreach (SequenceChunk chunk in Chunks)
        {
            chunk.Context.Reserve(chunk.Context.Position + chunk.Count);
        }
    }

    /// <summary>x[t] = embedding row of token t; x [n, dim].</summary>
    public void Embed(EmbeddingTable embeddings)
    {
        int dim = Act.Dim;
        for (int t = 0; t < Count; t++)
        {
            embeddings.Lookup(Tokens[t], Act.X.AsSpan(t * dim, dim));
        }
    }

    /// <summary>xb = RMSNorm(x) ⊙ weight, row by row (Zhang &amp; Sennrich 2019); x, xb [n, dim].</summary>
    public void Norm(ReadOnlySpan<float> weight, float eps)
    {
        int dim = Act.Dim;
        for (int t = 0; t < Count; t++)
        {
            RmsNorm.Run(Act.X.AsSpan(t * dim, dim), weight, eps, Act.Xb.AsSpan(t * dim, dim));
        }
    }

    /// <summary>x += xb: a block's output joins the residual stream; [n, dim].</summary>
    public void AddResidual()
    {
        Span<float> x = Act.X.AsSpan(0, Count * Act.Dim);
        TensorPrimitives.Add(x, Act.Xb.AsSpan(0, Count * Act.Dim), x);
    }

    /// <summary>
    /// After every layer stored its keys and values: each chunk's tokens become part of its sequence
    /// (<see cref="InferenceContext.Commit"/>).
    /// </summary>
    public void Commit()
    {
        foreach (SequenceChunk chunk in Chunks)
        {
            chunk.Context.Commit(Tokens.Slice(chunk.Offset, chunk.Count));
        }
    }
}
