namespace Cria.Server.Engine;

/// <summary>What the planner needs to know of a running sequence; nothing here changes it.</summary>
internal interface IStepSequence
{
    /// <summary>Whether it is past its prompt (each step feeds it the token it sampled last).</summary>
    bool IsDecoding { get; }

    /// <summary>Whether it holds a context now (a preempted sequence waits for one).</summary>
    bool HasContext { get; }

    /// <summary>Positions its cache holds.</summary>
    int Position { get; }

    /// <summary>KV blocks its context holds.</summary>
    int BlockCount { get; }

    /// <summary>Prompt (or recompute) tokens still to feed.</summary>
    int PrefillRemaining { get; }
}

/// <summary>One sequence's part of a step: <see cref="Count"/> tokens at <see cref="Offset"/> of the step's token row.</summary>
/// <param name="Sequence">Index of the sequence in the list the plan was made from.</param>
/// <param name="Offset">Where its tokens start in the step's batch.</param>
/// <param name="Count">Tokens it feeds (1 when decoding).</param>
/// <param name="Decode">Whether it feeds its last sampled token (otherwise prompt tokens from where its prefill stands).</param>
internal readonly record struct PlannedChunk(int Sequence, int Offset, int Count, bool Decode);

/// <summary>
/// The plan of one engine step, made by <see cref="StepPlanner"/> as plain data before anything
/// changes (vLLM's <c>SchedulerOutput</c>): either the chunks to run in one forward pass, or — when
/// a decoding sequence needs KV blocks the pool does not have — one sequence to preempt first, after
/// which the step is planned again. Invariants, checked where the plan is made: each sequence appears
/// in at most one chunk; chunks cover [0, <see cref="Tokens"/>) in order; at most the planner's
/// sequence and token budgets. The buffer is reused step after step, so planning allocates nothing.
/// </summary>
internal sealed class StepPlan
{
    private readonly PlannedChunk[] _chunks;

    public StepPlan(int maxSequences) => _chunks = new PlannedChunk[maxSequences];

    /// <summary>Chunks to run, decode chunks first.</summary>
    public ReadOnlySpan<PlannedChunk> Chunks => _chunks.AsSpan(0, Count);

    public int Count { get; private set; }

    /// <summary>Tokens of the step (the chunks' counts summed).</summary>
    public int Tokens { get; private set; }

    /// <summary>The sequence to take off its blocks before planning again; -1: none.</summary>
    public int Preempt { get; private set; } = -1;

    /// <summary>Whether the plan has nothing to run and nothing to preempt.</summary>
    public bool IsIdle => Count == 0 && Preempt < 0;

    internal void Clear()
    {
        Count = 0;
        Tokens = 0;
        Preempt = -1;
    }

    internal bool IsFull => Count == _chunks.Length;

    internal void Add(int sequence, int count, bool decode)
    {
        for (int i = 0; i < Count; i++)
        {
            if (_chunks[i].Sequence == sequence)
            {
                throw new InvalidOperationException($"step plan: sequence {sequence} was planned twice");
            }
        }
        _chunks[Count++] = new PlannedChunk(sequence, Tokens, count, decode);
        Tokens += count;
    }

    internal void SetPreempt(int sequence)
    {
        Count = 0;
        Tokens = 0;
        Preempt = sequence;
    }
}
