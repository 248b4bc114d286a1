using System.Diagnostics;

using Cria.Core.Inference;
using Cria.Core.Models;

namespace Cria.Server.Engine;

/// <summary>
/// Continuous batching for one loaded model: a single engine thread steps every running sequence
/// through one forward pass at a time, so the weights are read once per step for all of them, and
/// their KV caches are blocks of the model's one <see cref="KvPool"/>.
/// <para>
/// Invariants of <see cref="Schedule"/> (in the spirit of vLLM's <c>schedule()</c>): each step,
/// every sequence that is decoding contributes exactly one token; prompts are prefilled in chunks,
/// oldest first, with the token budget that decoding leaves (so a long prompt never stalls running
/// streams for more than one chunk); a step never holds more than <see cref="StepTokens"/> tokens,
/// more sequences than the workspace, or more new KV blocks than the pool can give. When decoding
/// needs blocks the pool does not have, the most recently admitted other sequence is preempted: its
/// blocks go back (its full ones stay findable by content) and it waits to be recomputed from its
/// prompt and the tokens it already generated — its output stream simply pauses. A sequence holds
/// one context from admission until it ends — finished, cancelled or failed — and then gives it back
/// exactly once, on this thread. Admission is bounded outside (the scheduler's slots).
/// </para>
/// </summary>
internal sealed class BatchEngine : IDisposable
{
    /// <summary>Tokens one step may hold: decode tokens plus prefill chunks.</summary>
    public const int StepTokens = 128;

    private readonly ServedModel _model;
    private readonly TimeSpan _pieceDelay;
    private readonly Lock _lock = new();
    private readonly Queue<GenerationRun> _incoming = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly List<GenerationRun> _running = [];
    private readonly BatchWorkspace _workspace;
    private readonly int[] _tokens = new int[StepTokens];
    private readonly SequenceChunk[] _chunks;
    private readonly GenerationRun[] _chunkRuns;
    private Thread? _thread;
    private volatile bool _stopping;

    public BatchEngine(ServedModel model, int maxSequences, TimeSpan pieceDelay)
    {
        _model = model;
        _pieceDelay = pieceDelay;
        int sequences = Math.Clamp(maxSequences, 1, StepTokens);
        _workspace = new BatchWorkspace(model.Local.Model, StepTokens, sequences);
        _chunks = new SequenceChunk[sequences];
        _chunkRuns = new GenerationRun[sequences];
    }

    /// <summary>Sequences decoding or prefilling now (a momentary reading).</summary>
    public int Running
    {
        get
        {
            lock (_lock)
            {
                return _running.Count + _incoming.Count;
            }
        }
    }

    /// <summary>Hands a run to the engine thread, starting it on first use.</summary>
    public void Submit(GenerationRun run)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            _incoming.Enqueue(run);
            if (_thread is null)
            {
                _thread = new Thread(Loop) { IsBackground = true, Name = $"cria-engine-{_model.Name}" };
                _thread.Start();
            }
        }
        _signal.Release();
    }

    private void Loop()
    {
        while (!_stopping)
        {
            Admit();
            int chunks = Schedule(out int tokens);
            if (chunks == 0)
            {
                _signal.Wait(TimeSpan.FromMilliseconds(100));
                continue;
            }
            try
            {
                _model.Local.Model.ForwardBatch(_workspace, _tokens.AsSpan(0, tokens), _chunks.AsSpan(0, chunks));
            }
            catch (KvPoolExhaustedException)
            {
                // Blocks are reserved before any work, so nothing ran: undo the prompt progress and make room.
                for (int i = 0; i < chunks; i++)
                {
                    if (!_chunkRuns[i].IsDecoding)
                    {
                        _chunkRuns[i].Prefilled -= _chunks[i].Count;
                    }
                }
                PreemptOne(0);
                continue;
            }
            catch (Exception e)
            {
                // A failed step fails every sequence in it; the engine goes on with the next requests.
                for (int i = 0; i < chunks; i++)
                {
                    End(_chunkRuns[i], e);
                }
                continue;
            }
            for (int i = 0; i < chunks; i++)
            {
                Advance(_chunkRuns[i], _chunks[i].Context);
            }
            if (_pieceDelay > TimeSpan.Zero)
            {
                Thread.Sleep(_pieceDelay);
            }
        }
        // Stopping: whatever is still here ends as cancelled.
        lock (_lock)
        {
            _running.AddRange(_incoming);
            _incoming.Clear();
        }
        foreach (GenerationRun run in _running.ToList())
        {
            run.Sequence?.Finish(FinishReason.Cancelled);
            End(run, null);
        }
    }

    /// <summary>Gives each new (or preempted) run a context, attaching the cached blocks of its prefix.</summary>
    private void Admit()
    {
        while (true)
        {
            GenerationRun? run;
            lock (_lock)
            {
                if (!_incoming.TryDequeue(out run))
                {
                    return;
                }
            }
            try
            {
                run.Begin(_model.RentContext(run.Adapters));
                _running.Add(run);
            }
            catch (Exception e)
            {
                End(run, e);
            }
        }
    }

    /// <summary>
    /// Takes the most recently admitted running sequence after index <paramref name="after"/> (those
    /// before it may already be in this step) off its blocks, to be recomputed later; false if there is none.
    /// </summary>
    private bool PreemptOne(int after)
    {
        for (int i = _running.Count - 1; i > after; i--)
        {
            GenerationRun victim = _running[i];
            if (victim.Context is null)
            {
                continue;
            }
            _running.RemoveAt(i);
            InferenceContext ctx = victim.Context;
            victim.Preempt();
            _model.ReturnContext(ctx);
            _model.OnPreempted();
            lock (_lock)
            {
                // Back to the front: it was running, it resumes before newer requests.
                var rest = _incoming.ToArray();
                _incoming.Clear();
                _incoming.Enqueue(victim);
                foreach (GenerationRun r in rest)
                {
                    _incoming.Enqueue(r);
                }
            }
            return true;
        }
        return false;
    }

    /// <summary>Fills <see cref="_tokens"/>/<see cref="_chunks"/> for the next step; returns the chunk count.</summary>
    private int Schedule(out int used)
    {
        int count = 0;
        used = 0;
        // Cancelled sequences leave first; they take no part in the step.
        for (int i = _running.Count - 1; i >= 0; i--)
        {
            GenerationRun run = _running[i];
            if (run.CancelRequested)
            {
                run.Sequence!.Finish(FinishReason.Cancelled);
                End(run, null);
            }
        }
        KvPool pool = _model.KvPool;
        int available = pool.AvailableBlocks;
        // Decoding sequences: one token each; a sequence that needs a block the pool does not have
        // preempts the newest other one (repeatedly, if one is not enough).
        for (int i = 0; i < _running.Count && count < _chunks.Length; i++)
        {
            GenerationRun run = _running[i];
            if (!run.IsDecoding)
            {
                continue;
            }
            InferenceContext ctx = run.Context!;
            int need = ctx.BlocksNeeded(ctx.Position + 1);
            while (need > available && PreemptOne(i))
            {
                available = pool.AvailableBlocks - Reserved(count);
            }
            if (need > available)
            {
                continue; // alone and still no room: wait for blocks (cannot happen when the pool holds one full context)
            }
            available -= need;
            _tokens[used] = run.NextToken;
            _chunks[count] = new SequenceChunk(ctx, used, 1);
            _chunkRuns[count++] = run;
            used++;
        }
        // Prefilling sequences, oldest first, with what is left of the token and block budgets.
        foreach (GenerationRun run in _running)
        {
            if (run.IsDecoding || count == _chunks.Length || used == StepTokens)
            {
                continue;
            }
            InferenceContext ctx = run.Context!;
            int bs = pool.BlockSize;
            int room = (ctx.BlockCount + available) * bs - ctx.Position;
            int take = Math.Min(Math.Min(run.Feed.Length - run.Prefilled, StepTokens - used), room);
            if (take <= 0)
            {
                continue;
            }
            available -= ctx.BlocksNeeded(ctx.Position + take);
            run.Feed.AsSpan(run.Prefilled, take).CopyTo(_tokens.AsSpan(used));
            _chunks[count] = new SequenceChunk(ctx, used, take);
            _chunkRuns[count++] = run;
            run.Prefilled += take;
            used += take;
        }
        if (count == 0 && _running.Count > 1)
        {
            // Every sequence is waiting for blocks: make room by recomputing the newest later.
            PreemptOne(0);
        }
        return count;
    }

    /// <summary>New blocks the chunks scheduled so far will take.</summary>
    private int Reserved(int chunks)
    {
        int blocks = 0;
        for (int i = 0; i < chunks; i++)
        {
            InferenceContext ctx = _chunks[i].Context;
            blocks += ctx.BlocksNeeded(ctx.Position + _chunks[i].Count);
        }
        return blocks;
    }

    /// <summary>After a step: a sequence whose prompt is done (or that was decoding) samples its next token.</summary>
    private void Advance(GenerationRun run, InferenceContext ctx)
    {
        if (!run.IsDecoding && run.Prefilled < run.Feed.Length)
        {
            return; // more prompt to go
        }
        run.OnPromptDone();
        try
        {
            SequenceDecoder sequence = run.Sequence!;
            if (sequence.Next(ctx.Logits) is { } step)
            {
                run.OnStep(step);
                if (!sequence.Finished && ctx.Position >= ctx.ContextLength)
                {
                    sequence.Finish(FinishReason.Length);
                }
            }
            if (sequence.Finished)
            {
                if (sequence.Flush() is { } tail)
                {
                    run.OnStep(tail);
                }
                End(run, null);
            }
        }
        catch (Exception e)
        {
            End(run, e);
        }
    }

    private void End(GenerationRun run, Exception? error)
    {
        _running.Remove(run);
        if (run.Context is { } ctx)
        {
            _model.ReturnContext(ctx);
        }
        run.Complete(error);
    }

    public void Dispose()
    {
        Thread? thread;
        lock (_lock)
        {
            _stopping = true;
            thread = _thread;
        }
        _signal.Release();
        if (thread is not null && thread != Thread.CurrentThread)
        {
            thread.Join(TimeSpan.FromSeconds(30));
        }
        _signal.Dispose();
        Debug.Assert(_running.Count == 0 || thread is null);
    }
}
