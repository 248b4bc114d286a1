namespace Cria.Core.Models;

/// <summary>
/// The argument checks of a model's forward entry points, made before any work so a bad call
/// changes no context: token ids in the vocabulary, adapters made for the model, chunks that tile
/// the batch.
/// </summary>
internal static class ForwardChecks
{
    private static readonly LoraTarget[] s_loraTargets = Enum.GetValues<LoraTarget>();

    public static void Vocabulary(ReadOnlySpan<int> tokens, int vocabSize)
    {
        foreach (int t in tokens)
        {
            if ((uint)t >= (uint)vocabSize)
            {
                throw new ArgumentOutOfRangeException(nameof(tokens), $"token id {t} is outside the vocabulary of {vocabSize}");
            }
        }
    }

    /// <summary>Adapters must have been made for this model's shapes (they are checked against a config at load; this catches another model's).</summary>
    public static void Adapters(InferenceContext ctx, ModelConfig config)
    {
        foreach (ActiveAdapter active in ctx.Adapters)
        {
            LoraAdapter adapter = active.Adapter;
            if (adapter.LayerCount != config.BlockCount)
            {
                throw new ArgumentException($"adapter {adapter.Name} has {adapter.LayerCount} layers; the model has {config.BlockCount}");
            }
            for (int l = 0; l < adapter.LayerCount; l++)
            {
                foreach (LoraTarget target in s_loraTargets)
                {
                    if (adapter.Get(l, target) is { } m && (m.Out, m.In) != LoraAdapter.Shape(config, target))
                    {
                        throw new ArgumentException($"adapter {adapter.Name} does not fit this model at {LoraAdapter.TensorName(l, target)}");
                    }
                }
            }
        }
    }

    /// <summary>
    /// A multi-sequence batch: it fits the workspace, its chunks cover the tokens in order (each at
    /// least one token, each sequence once) and fit their contexts, and every context's adapters fit.
    /// </summary>
    public static void Batch(BatchWorkspace workspace, ReadOnlySpan<int> tokens, ReadOnlySpan<SequenceChunk> chunks, ModelConfig config, int vocabSize)
    {
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
        Vocabulary(tokens, vocabSize);
        foreach (SequenceChunk chunk in chunks)
        {
            Adapters(chunk.Context, config);
        }
    }
}
