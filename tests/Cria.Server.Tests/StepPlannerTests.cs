using Cria.Server.Engine;

namespace Cria.Server.Tests;

/// <summary>
/// The engine's planning alone, without a model: plain sequences (position, blocks held, prompt left)
/// and a number of free blocks in, a plan out — token and sequence budgets, decode before prefill,
/// oldest first, preemption when decoding runs out of blocks, prefix hits counted as blocks held, and
/// that planning changes nothing.
/// </summary>
public sealed class StepPlannerTests
{
    private const int BlockSize = 32;

    private sealed record Seq(bool IsDecoding, int Position, int BlockCount, int PrefillRemaining, bool HasContext = true) : IStepSequence;

    private static Seq Decoding(int position) => new(true, position, (position + BlockSize - 1) / BlockSize, 0);

    private static Seq Prompt(int tokens, int cached = 0) => new(false, cached, (cached + BlockSize - 1) / BlockSize, tokens - cached);

    private static StepPlan Plan(IReadOnlyList<Seq> running, int freeBlocks, int stepTokens = 128, int maxSequences = 8)
    {
        var plan = new StepPlan(maxSequences);
        new StepPlanner(stepTokens, maxSequences, BlockSize).Plan(running, freeBlocks, plan);
        return plan;
    }

    private static void AssertCovers(StepPlan plan)
    {
        int next = 0;
        var seen = new HashSet<int>();
        foreach (PlannedChunk chunk in plan.Chunks)
        {
            Assert.Equal(next, chunk.Offset);
            Assert.True(chunk.Count >= 1);
            Assert.True(seen.Add(chunk.Sequence), $"sequence {chunk.Sequence} planned twice");
            next += chunk.Count;
        }
        Assert.Equal(next, plan.Tokens);
    }

    [Fact]
    public void Every_decoding_sequence_gets_one_token_then_prompts_get_what_is_left_oldest_first()
    {
        Seq[] running = [Decoding(40), Prompt(100), Decoding(70), Prompt(300)];
        StepPlan plan = Plan(running, freeBlocks: 100);
        AssertCovers(plan);
        Assert.Equal(-1, plan.Preempt);
        Assert.Equal([(0, 1, true), (2, 1, true), (1, 100, false), (3, 26, false)],
            plan.Chunks.ToArray().Select(c => (c.Sequence, c.Count, c.Decode)));
        Assert.Equal(128, plan.Tokens);
    }

    [Fact]
    public void The_sequence_budget_caps_the_plan_and_decoders_come_first()
    {
        Seq[] running = [Prompt(10), Decoding(5), Decoding(6), Decoding(7)];
        StepPlan plan = Plan(running, freeBlocks: 100, maxSequences: 3);
        AssertCovers(plan);
        Assert.Equal([1, 2, 3], plan.Chunks.ToArray().Select(c => c.Sequence));
    }

    [Fact]
    public void A_prompt_chunk_never_takes_more_blocks_than_are_free()
    {
        // Two free blocks: 64 positions for a prompt starting at 0.
        StepPlan plan = Plan([Prompt(500)], freeBlocks: 2);
        Assert.Equal(64, Assert.Single(plan.Chunks.ToArray()).Count);
        // A partial block the sequence holds counts: 10 cached positions in one block, plus one free block.
        plan = Plan([Prompt(500, cached: 10)], freeBlocks: 1);
        Assert.Equal(54, Assert.Single(plan.Chunks.ToArray()).Count);
    }

    [Fact]
    public void A_prefix_hit_is_counted_as_blocks_held_so_only_the_rest_is_fed()
    {
        // 96 of 100 prompt tokens were found in the pool (three whole blocks attached): four to feed, in the fourth block.
        StepPlan plan = Plan([Prompt(100, cached: 96)], freeBlocks: 1);
        PlannedChunk chunk = Assert.Single(plan.Chunks.ToArray());
        Assert.Equal(4, chunk.Count);
        Assert.False(chunk.Decode);
    }

    [Fact]
    public void A_decoder_that_needs_a_block_preempts_the_newest_other_sequence()
    {
        // Sequence 0 fills its block at position 64 and needs a new one; none is free.
        Seq[] running = [Decoding(64), Decoding(10), Prompt(50, cached: 0) with { BlockCount = 1 }];
        StepPlan plan = Plan(running, freeBlocks: 0);
        Assert.Equal(2, plan.Preempt);
        Assert.Equal(0, plan.Count);
        // Without anyone to take blocks from, it waits, and the others still run.
        plan = Plan([Decoding(10), Decoding(64)], freeBlocks: 0);
        Assert.Equal(-1, plan.Preempt);
        Assert.Equal([0], plan.Chunks.ToArray().Select(c => c.Sequence));
    }

    [Fact]
    public void When_nothing_fits_the_newest_after_the_first_is_preempted()
    {
        Seq[] running = [Prompt(100) with { BlockCount = 0 }, Prompt(100) with { BlockCount = 0 }, Prompt(100) with { BlockCount = 0 }];
        StepPlan plan = Plan(running, freeBlocks: 0);
        Assert.Equal(2, plan.Preempt);
        // Alone, a sequence is never preempted: it waits.
        plan = Plan([Prompt(100) with { BlockCount = 0 }], freeBlocks: 0);
        Assert.True(plan.IsIdle);
    }

    [Fact]
    public void Sequences_without_a_context_are_skipped_and_never_chosen_to_preempt()
    {
        Seq[] running = [Decoding(64), Decoding(10) with { HasContext = false }];
        StepPlan plan = Plan(running, freeBlocks: 0);
        Assert.Equal(-1, plan.Preempt);
        Assert.Equal(0, plan.Count);
    }

    [Fact]
    public void Planning_changes_nothing_and_the_same_input_gives_the_same_plan()
    {
        Seq[] running = [Decoding(31), Prompt(200, cached: 64), Decoding(95), Prompt(40)];
        Seq[] before = [.. running];
        StepPlan first = Plan(running, freeBlocks: 5);
        StepPlan second = Plan(running, freeBlocks: 5);
        Assert.Equal(before, running);
        Assert.Equal(first.Chunks.ToArray(), second.Chunks.ToArray());
        AssertCovers(first);
    }

    [Fact]
    public void Fairness_over_many_steps_every_prompt_finishes_and_decoders_never_wait()
    {
        // Simulate: the plan is committed by hand (prompts advance, decoders grow), 8 sequences, a small step budget.
        var running = new List<Seq> { Decoding(3), Prompt(300), Prompt(20), Decoding(100), Prompt(90), Prompt(5), Decoding(7), Prompt(200) };
        var plan = new StepPlan(8);
        var planner = new StepPlanner(64, 8, BlockSize);
        int steps = 0;
        while (running.Any(s => !s.IsDecoding) && steps++ < 100)
        {
            planner.Plan(running, freeBlocks: 1000, plan);
            Assert.All(running.Select((s, i) => (s, i)).Where(x => x.s.IsDecoding), x => Assert.Contains(plan.Chunks.ToArray(), c => c.Sequence == x.i));
            foreach (PlannedChunk c in plan.Chunks)
            {
                Seq s = running[c.Sequence];
                int position = s.Position + c.Count;
                int left = s.PrefillRemaining - (c.Decode ? 0 : c.Count);
                running[c.Sequence] = new Seq(s.IsDecoding || left == 0, position, (position + BlockSize - 1) / BlockSize, left);
            }
        }
        Assert.True(steps < 100);
        Assert.All(running, s => Assert.True(s.IsDecoding));
    }
}
