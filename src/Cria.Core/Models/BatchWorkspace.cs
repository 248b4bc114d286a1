using Cria.Core.Models.Blocks;

namespace Cria.Core.Models;

/// <summary>
/// Tokens of one sequence in a multi-sequence batch: <see cref="Count"/> tokens at
/// [<see cref="Offset"/>, Offset+Count) of the batch, fed into <see cref="Context"/> at its position.
/// </summary>
public readonly record struct SequenceChunk(InferenceContext Context, int Offset, int Count);

/// <summary>
/// Scratch for <see cref="LlamaModel.ForwardBatch(BatchWorkspace, ReadOnlySpan{int}, ReadOnlySpan{SequenceChunk})"/>:
/// activations for up to <see cref="MaxTokens"/> tokens and output rows for up to
/// <see cref="MaxSequences"/> sequences, allocated once and reused every step.
/// </summary>
public sealed class BatchWorkspace
{
    public BatchWorkspace(LlamaModel model, int maxTokens, int maxSequences)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSequences, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxSequences, maxTokens);
        Act = new Activations(model.Config, maxTokens);
        MaxSequences = maxSequences;
        LastNormed = new float[maxSequences * model.Config.EmbeddingLength];
        Logits = new float[(long)maxSequences * model.VocabSize];
    }

    public int MaxTokens => Act.Capacity;

    public int MaxSequences { get; }

    internal Activations Act { get; }

    internal float[] LastNormed { get; }   // [sequences, dim] final-normed last rows

    internal float[] Logits { get; }       // [sequences, vocab]
}
