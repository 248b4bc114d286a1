namespace Cria.Server.Engine;

/// <summary>
/// Decides what the next engine step runs, from a read-only view of the running sequences (oldest
/// first) and the pool's free blocks; it changes nothing, so a step that fails leaves nothing to undo.
/// <para>
/// Invariants of a plan (in the spirit of vLLM's <c>schedule()</c>): every decoding sequence that has
/// room contributes exactly one token, oldest first; prompts are prefilled in chunks, oldest first,
/// with the token budget decoding leaves (so a long prompt never stalls running streams for more than
/// one chunk); a plan never holds more than <see cref="StepTokens"/> tokens, more sequences than
/// <see cref="MaxSequences"/>, or more new KV blocks than are free. When a decoding sequence needs a
/// block that is not free, the plan is instead to preempt the most recently admitted sequence after it
/// that holds a context (its blocks go back; it is recomputed later); when nothing at all fits and
/// several sequences wait, the newest after the first is preempted.
/// </para>
/// </summary>
internal sealed class StepPlanner(int stepTokens, int maxSequences, int blockSize)
{
    public int StepTokens { get; } = stepTokens;

    public int MaxSequences { get; } = maxSequences;

    public int BlockSize { get; } = blockSize;

    /// <summary>Fills <paramref name="plan"/> for the sequences in <paramref name="running"/> (admission order) with <paramref name="freeBlocks"/> free.</summary>
    public void Plan<T>(IReadOnlyList<T> running, int freeBlocks, StepPlan plan)
        where T : IStepSequence
    {
        plan.Clear();
        int available = freeBlocks;
        for (int i = 0; i < running.Count && !plan.IsFull; i++)
        {
            T seq = running[i];
            if (!seq.IsDecoding || !seq.HasContext)
            {
                continue;
            }
            int need = BlocksNeeded(seq, seq.Position + 1);
            if (need > available)
            {
                int victim = NewestWithContext(running, after: i);
                if (victim >= 0)
                {
                    plan.SetPreempt(victim);
                    return;
                }
                continue; // alone and still no room: it waits for blocks (cannot happen while the pool holds one whole context)
            }
            available -= need;
            plan.Add(i, 1, decode: true);
        }
        for (int i = 0; i < running.Count && !plan.IsFull && plan.Tokens < StepTokens; i++)
        {
            T seq = running[i];
            if (seq.IsDecoding || !seq.HasContext)
            {
                continue;
            }
            int room = (seq.BlockCount + available) * BlockSize - seq.Position;
            int take = Math.Min(Math.Min(seq.PrefillRemaining, StepTokens - plan.Tokens), room);
            if (take <= 0)
            {
                continue;
            }
            available -= BlocksNeeded(seq, seq.Position + take);
            plan.Add(i, take, decode: false);
        }
        if (plan.Count == 0 && running.Count > 1 && NewestWithContext(running, after: 0) is var newest and >= 0)
        {
            plan.SetPreempt(newest); // every sequence waits for blocks: make room by recomputing the newest later
        }
    }

    private int BlocksNeeded(IStepSequence seq, int end) => Math.Max(0, (end + BlockSize - 1) / BlockSize - seq.BlockCount);

    private static int NewestWithContext<T>(IReadOnlyList<T> running, int after)
        where T : IStepSequence
    {
        for (int i = running.Count - 1; i > after; i--)
        {
            if (running[i].HasContext)
            {
                return i;
            }
        }
        return -1;
    }
}
