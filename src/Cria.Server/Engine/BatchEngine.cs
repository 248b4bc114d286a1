using System.Diagnostics;

using Cria.Core.Inference;
using Cria.Core.Models;

using Microsoft.Extensions.Logging;

namespace Cria.Server.Engine;

/// <summary>
/// Continuous batching for one loaded model: a single engine thread steps every running sequence
/// through one forward pass at a time, so the weights are read once per step for all of them, and
/// their KV caches are blocks of the model's one <see cref="KvPool"/>.
/// <para>
/// One step: cancelled sequences leave; new (and preempted) ones get a context; the
/// <see cref="StepPlanner"/> plans the step as data (changing nothing); a planned preemption is
/// applied and the step planned again; the planned chunks run in one forward pass; only after it
/// succeeds does each sequence commit its progress and sample. A sequence holds one context from
/// admission until it ends — finished, cancelled or failed — and then gives it back exactly once, on
/// this thread. A failure fails only the sequence at fault (as vLLM aborts only the offending request):
/// when a batched pass throws, each chunk is run again alone and only those that fail again end with
/// an error. Nothing escapes the thread: a defect in the loop itself fails the sequences of that step,
/// is logged, and the loop goes on. Admission is bounded outside (the generation slots).
/// </para>
/// </summary>
internal sealed partial class BatchEngine : IDisposable
{
    /// <summary>Called before a forward pass with the runs in it; what it throws is that pass's failure.</summary>
    internal delegate void PassHook(ReadOnlySpan<GenerationRun> runs);

    /// <summary>Tokens one step may hold: decode tokens plus prefill chunks.</summary>
    public const int StepTokens = 128;

    private readonly ServedModel _model;
    private readonly TimeSpan _pieceDelay;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly LinkedList<GenerationRun> _incoming = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly List<GenerationRun> _running = [];
    private readonly BatchWorkspace _workspace;
    private readonly StepPlanner _planner;
    private readonly StepPlan _plan;
    private readonly int[] _tokens = new int[StepTokens];
    private readonly SequenceChunk[] _chunks;
    private readonly GenerationRun[] _chunkRuns;
    private Thread? _thread;
    private volatile bool _stopping;
    private long _steps;
    private int _inFlight; // chunks of the pass being run (for the defect path), 0 between passes

    public BatchEngine(ServedModel model, int maxSequences, TimeSpan pieceDelay, ILogger? logger = null)
    {
        _model = model;
        _pieceDelay = pieceDelay;
        _logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        int sequences = Math.Clamp(maxSequences, 1, StepTokens);
        _workspace = new BatchWorkspace(model.Local.Model, StepTokens, sequences);
        _planner = new StepPlanner(StepTokens, sequences, model.KvPool.BlockSize);
        _plan = new StepPlan(sequences);
        _chunks = new SequenceChunk[sequences];
        _chunkRuns = new GenerationRun[sequences];
    }

    /// <summary>Tests: runs before every forward pass (batched or alone), to make passes with a chosen sequence fail.</summary>
    internal PassHook? BeforeForward { get; set; }

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

    /// <summary>Forward passes run so far (for tests: a cancelled sequence must leave within one).</summary>
    public long Steps => Interlocked.Read(ref _steps);

    /// <summary>Hands a run to the engine thread, starting it on first use.</summary>
    public void Submit(GenerationRun run)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            _incoming.AddLast(run);
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
            bool worked;
            try
            {
                worked = Step();
            }
            catch (Exception e)
            {
                // A defect in the engine itself, not in one sequence: fail the step's sequences (all of
                // them when it failed before a plan existed) so the loop cannot spin on it, and go on.
                LogStepFailed(_logger, e, _model.Name);
                FailAfterDefect(e);
                worked = true;
            }
            if (!worked)
            {
                _signal.Wait(TimeSpan.FromMilliseconds(100));
            }
        }
        // Stopping: whatever is still here ends as cancelled.
        lock (_lock)
        {
            _running.AddRange(_incoming);
            _incoming.Clear();
        }
        foreach (GenerationRun run in _running.ToArray())
        {
            run.Sequence?.Finish(FinishReason.Cancelled);
            End(run, null);
        }
    }

    /// <summary>One step; false when there was nothing to run.</summary>
    private bool Step()
    {
        EndCancelled();
        Admit();
        // Each preemption takes one sequence out of the running list, so this ends.
        _planner.Plan(_running, _model.KvPool.AvailableBlocks, _plan);
        while (_plan.Preempt >= 0)
        {
            Preempt(_plan.Preempt);
            _planner.Plan(_running, _model.KvPool.AvailableBlocks, _plan);
        }
        if (_plan.Count == 0)
        {
            return false;
        }
        Run(_plan);
        if (_pieceDelay > TimeSpan.Zero)
        {
            Thread.Sleep(_pieceDelay);
        }
        return true;
    }

    /// <summary>Cancelled sequences leave first; they take no part in the step.</summary>
    private void EndCancelled()
    {
        for (int i = _running.Count - 1; i >= 0; i--)
        {
            GenerationRun run = _running[i];
            if (run.CancelRequested)
            {
                run.Sequence?.Finish(FinishReason.Cancelled);
                End(run, null);
            }
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
                if (_incoming.First is not { } first)
                {
                    return;
                }
                run = first.Value;
                _incoming.RemoveFirst();
            }
            try
            {
                run.Begin(_model.RentContext(run.Adapters));
                _running.Add(run);
                if (run.Sequence!.Finished)
                {
                    // Over before its first token (a grammar that matches only the empty text): a normal, empty end.
                    End(run, null);
                }
            }
            catch (Exception e)
            {
                End(run, e);
            }
        }
    }

    /// <summary>Takes a sequence off its blocks (its full ones stay findable by content); it waits at the front to be recomputed.</summary>
    private void Preempt(int index)
    {
        GenerationRun victim = _running[index];
        _running.RemoveAt(index);
        if (victim.Preempt() is { } ctx)
        {
            _model.ReturnContext(ctx);
        }
        _model.OnPreempted();
        lock (_lock)
        {
            _incoming.AddFirst(victim); // it was running: it resumes before newer requests
        }
    }

    /// <summary>Runs the plan's chunks in one forward pass, then commits each; a failure is narrowed down to the chunks at fault.</summary>
    private void Run(StepPlan plan)
    {
        int count = plan.Count;
        ReadOnlySpan<PlannedChunk> planned = plan.Chunks;
        for (int i = 0; i < count; i++)
        {
            PlannedChunk p = planned[i];
            GenerationRun run = _running[p.Sequence];
            if (p.Decode)
            {
                _tokens[p.Offset] = run.NextToken;
            }
            else
            {
                run.Feed.AsSpan(run.Prefilled, p.Count).CopyTo(_tokens.AsSpan(p.Offset));
            }
            _chunks[i] = new SequenceChunk(run.Context!, p.Offset, p.Count);
            _chunkRuns[i] = run;
        }
        _inFlight = count;
        Interlocked.Increment(ref _steps);
        try
        {
            BeforeForward?.Invoke(_chunkRuns.AsSpan(0, count));
            _model.Local.Model.ForwardBatch(_workspace, _tokens.AsSpan(0, plan.Tokens), _chunks.AsSpan(0, count));
        }
        catch (KvPoolExhaustedException)
        {
            // Blocks are reserved before any work and nothing was committed: make room and plan again.
            if (!PreemptNewest())
            {
                RunAlone(count);
            }
            _inFlight = 0;
            return;
        }
        catch (Exception) when (count > 1)
        {
            RunAlone(count);
            _inFlight = 0;
            return;
        }
        catch (Exception e)
        {
            End(_chunkRuns[0], e);
            _inFlight = 0;
            return;
        }
        for (int i = 0; i < count; i++)
        {
            Commit(_chunkRuns[i], _chunks[i]);
        }
        _inFlight = 0;
    }

    /// <summary>After a batched pass failed: each chunk again, alone; those that fail again end with their error, the others go on.</summary>
    private void RunAlone(int count)
    {
        for (int i = 0; i < count; i++)
        {
            GenerationRun run = _chunkRuns[i];
            SequenceChunk chunk = _chunks[i];
            try
            {
                var alone = new SequenceChunk(chunk.Context, 0, chunk.Count);
                BeforeForward?.Invoke(_chunkRuns.AsSpan(i, 1));
                _model.Local.Model.ForwardBatch(_workspace, _tokens.AsSpan(chunk.Offset, chunk.Count), new ReadOnlySpan<SequenceChunk>(in alone));
            }
            catch (KvPoolExhaustedException)
            {
                continue; // nothing ran for it; it is planned again next step
            }
            catch (Exception e)
            {
                End(run, e);
                continue;
            }
            Commit(run, chunk);
        }
    }

    /// <summary>After the pool ran out mid-reservation: the newest sequence after the first gives its blocks back; false if there is none.</summary>
    private bool PreemptNewest()
    {
        for (int i = _running.Count - 1; i > 0; i--)
        {
            if (_running[i].Context is not null)
            {
                Preempt(i);
                return true;
            }
        }
        return false;
    }

    /// <summary>After a successful pass: the chunk's progress counts, and a sequence whose prompt is done (or that was decoding) samples its next token.</summary>
    private void Commit(GenerationRun run, SequenceChunk chunk)
    {
        try
        {
            if (!run.IsDecoding)
            {
                run.Prefilled += chunk.Count;
                if (run.Prefilled < run.Feed.Length)
                {
                    return; // more prompt to go
                }
            }
            run.OnPromptDone();
            SequenceDecoder sequence = run.Sequence!;
            if (sequence.Next(chunk.Context.Logits) is { } step)
            {
                run.OnStep(step);
                if (!sequence.Finished && chunk.Context.Position >= chunk.Context.ContextLength)
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

    /// <summary>After a defect in the loop: the sequences of the step that was being run, or every running one when there was none, end with the error.</summary>
    private void FailAfterDefect(Exception error)
    {
        var victims = new List<GenerationRun>();
        for (int i = 0; i < _inFlight; i++)
        {
            if (_chunkRuns[i] is { } run && _running.Contains(run))
            {
                victims.Add(run);
            }
        }
        if (victims.Count == 0)
        {
            victims.AddRange(_running);
        }
        foreach (GenerationRun run in victims)
        {
            End(run, error);
        }
        _plan.Clear();
        _inFlight = 0;
    }

    /// <summary>
    /// A sequence leaves: its context goes back to the model (taken from the run first, so it can go
    /// back only once), then the run gives back its slot and lease. Never throws.
    /// </summary>
    private void End(GenerationRun run, Exception? error)
    {
        _running.Remove(run);
        try
        {
            if (run.TakeContext() is { } ctx)
            {
                _model.ReturnContext(ctx);
            }
        }
        catch (Exception e)
        {
            LogEndFailed(_logger, e, _model.Name);
        }
        if (run.Complete(error) is { } failure)
        {
            LogEndFailed(_logger, failure, _model.Name);
        }
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

    [LoggerMessage(EventId = 10, Level = LogLevel.Error, Message = "engine step of model {Model} failed; its sequences end with finish=error and the engine goes on")]
    private static partial void LogStepFailed(ILogger logger, Exception error, string model);

    [LoggerMessage(EventId = 11, Level = LogLevel.Error, Message = "ending a sequence of model {Model} failed while giving back its context, slot or lease")]
    private static partial void LogEndFailed(ILogger logger, Exception error, string model);
}
