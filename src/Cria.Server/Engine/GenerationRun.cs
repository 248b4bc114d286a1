using System.Diagnostics;
using System.Threading.Channels;

using Cria.Core.Inference;
using Cria.Core.Models;
using Cria.Server.Auth;
using Cria.Server.Http;
using Cria.Server.Telemetry;

namespace Cria.Server.Engine;

/// <summary>Text that became final, with the log-probabilities of the tokens that produced it (empty unless asked for).</summary>
internal readonly record struct GeneratedPiece(string Text, IReadOnlyList<TokenLogprob> Logprobs);

/// <summary>
/// One generation, from admission to its log line. The engine side: stepped by its model's
/// <see cref="BatchEngine"/> together with the others, handing decode steps to the HTTP side through a
/// channel. The request side: <see cref="Requests.GenerationService.StartAsync(Requests.GenerationRequest, Caller, CancellationToken)"/> makes it after the
/// access check, admission and validation, and the handler disposes it (<c>await using</c>), which stops
/// it if it is still running, charges its tokens to the caller and writes its request-log line — so a
/// dialect's handler only maps its JSON in and out.
/// Invariants: the slot, the context and the model lease are given back exactly once, by the engine
/// thread, when the sequence ends (<see cref="Complete"/>), and giving them back cannot throw out of it;
/// <see cref="Stats"/> and <see cref="GeneratedIds"/> are final once <see cref="Steps"/> completes; an
/// engine failure ends the run with <see cref="FinishReason.Error"/> and <see cref="Error"/> set;
/// cancelling stops the sequence before the engine's next step.
/// </summary>
internal sealed class GenerationRun : IStepSequence, IAsyncDisposable
{
    private readonly Channel<GenerationStep> _steps = Channel.CreateUnbounded<GenerationStep>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    private readonly CancellationTokenSource _cancel;
    private readonly List<int> _generated = [];
    private readonly GenerationOptions _options;
    private readonly IDisposable _slot;
    private readonly IDisposable _lease;
    private readonly ServerMetrics _metrics;
    private readonly Stopwatch _clock = new();
    private int _completed;
    private int _disposed;

    public GenerationRun(ServedModel model, int[] prompt, GenerationOptions options, IDisposable slot, IDisposable lease,
        ServerMetrics metrics, CancellationTokenSource cancel, DateTimeOffset arrived)
    {
        Model = model;
        Prompt = prompt;
        _options = options;
        _slot = slot;
        _lease = lease;
        _metrics = metrics;
        _cancel = cancel;
        Created = arrived;
        metrics.OnStarted();
        cancel.Token.Register(static state =>
        {
            var run = (GenerationRun)state!;
            run.CancelledAtStep = run.Model.Engine.Steps;
        }, this);
    }

    /// <summary>The engine's forward-pass count when cancellation was asked for (null: never), and when the run ended: a cancelled run leaves within one step.</summary>
    internal long? CancelledAtStep { get; private set; }

    internal long EndedAtStep { get; private set; }

    public ServedModel Model { get; }

    /// <summary>The prompt's token ids.</summary>
    public int[] Prompt { get; }

    public int PromptTokens => Prompt.Length;

    /// <summary>Prompt tokens whose keys and values were already in the context (a shared prefix), not computed again.</summary>
    public int CachedTokens { get; private set; }

    /// <summary>The generated token ids (end-of-generation token excluded); complete once <see cref="Steps"/> completes.</summary>
    public IReadOnlyList<int> GeneratedIds => _generated;

    /// <summary>When the first token was sampled (null before), for time-to-first-token.</summary>
    public DateTimeOffset? FirstTokenAt { get; private set; }

    public GenerationStats Stats { get; } = new();

    /// <summary>When the request reached the engine (before waiting for a slot), for time-to-first-token.</summary>
    public DateTimeOffset Created { get; }

    /// <summary>The LoRA adapters this sequence runs with.</summary>
    public IReadOnlyList<ActiveAdapter> Adapters { get; init; } = [];

    /// <summary>Who asked (charged and logged when the run is disposed); null for runs made outside a request.</summary>
    public Caller? Caller { get; init; }

    /// <summary>The output and tool-call rails of the request's guard policy; null: none.</summary>
    internal Guard.OutputGuard? Guard { get; init; }

    /// <summary>Whether a guard rail stopped the output (finish reason <c>content_filter</c>).</summary>
    public bool Filtered => Guard?.Blocked is not null;

    /// <summary>Writes the run's line when it is disposed.</summary>
    internal RequestLog? Log { get; init; }

    /// <summary>What failed, when the engine ended the run with <see cref="FinishReason.Error"/>.</summary>
    public Exception? Error { get; private set; }

    // Engine-side state, touched only by the engine thread.
    internal InferenceContext? Context { get; private set; }
    internal SequenceDecoder? Sequence { get; private set; }

    /// <summary>The tokens to feed before sampling: the prompt, or after a preemption the prompt and every token generated so far.</summary>
    internal int[] Feed { get; private set; } = [];

    internal int Prefilled { get; set; }

    /// <summary>Times the engine took this sequence's blocks away to be recomputed later.</summary>
    public int Preemptions { get; private set; }
    public bool IsDecoding { get; private set; }
    internal int NextToken { get; private set; }
    internal bool CancelRequested => _cancel.IsCancellationRequested;

    bool IStepSequence.HasContext => Context is not null;

    int IStepSequence.Position => Context?.Position ?? 0;

    int IStepSequence.BlockCount => Context?.BlockCount ?? 0;

    int IStepSequence.PrefillRemaining => IsDecoding ? 0 : Feed.Length - Prefilled;

    /// <summary>Engine: the sequence got its context; the prefix found in the KV pool is skipped.</summary>
    internal void Begin(InferenceContext ctx)
    {
        Context = ctx;
        if (Sequence is null)
        {
            Sequence = new SequenceDecoder(Model.Local.Tokenizer, Model.Local.Model.VocabSize, Prompt, _options, Stats);
            Feed = Prompt;
            Prefilled = Generator.ReusePrefix(ctx, Feed);
            CachedTokens = Prefilled;
            _metrics.OnPromptCached(CachedTokens);
            _clock.Start();
            return;
        }
        // Resumed after a preemption: rebuild the cache of everything fed so far; the last generated
        // token, not yet fed when the sequence was stopped, is fed last and sampling goes on from it.
        Feed = [.. Prompt, .. _generated];
        Prefilled = Generator.ReusePrefix(ctx, Feed);
        IsDecoding = false;
    }

    /// <summary>Engine: the sequence lost its context to make room; it will be recomputed from <see cref="Feed"/>. Returns the context to give back.</summary>
    internal InferenceContext? Preempt()
    {
        InferenceContext? ctx = TakeContext();
        Preemptions++;
        IsDecoding = false;
        Prefilled = 0;
        return ctx;
    }

    /// <summary>Engine: the context, taken from the run so that it can be given back only once.</summary>
    internal InferenceContext? TakeContext()
    {
        InferenceContext? ctx = Context;
        Context = null;
        return ctx;
    }

    /// <summary>Engine: the whole prompt has been fed.</summary>
    internal void OnPromptDone()
    {
        if (!IsDecoding && Preemptions == 0 && Stats.PromptTime == TimeSpan.Zero)
        {
            Stats.PromptTime = _clock.Elapsed;
            _clock.Restart();
        }
    }

    /// <summary>Engine: a decode step's result.</summary>
    internal void OnStep(GenerationStep step)
    {
        if (step.Token >= 0)
        {
            if (FirstTokenAt is null)
            {
                FirstTokenAt = DateTimeOffset.UtcNow;
                _metrics.OnFirstToken(FirstTokenAt.Value - Created, Prompt.Length);
            }
            _generated.Add(step.Token);
            NextToken = step.Token;
            IsDecoding = true;
        }
        Stats.GenerationTime = _clock.Elapsed;
        _steps.Writer.TryWrite(step);
    }

    /// <summary>
    /// Engine: the sequence ended (its context is already back); gives back the slot and the lease, once.
    /// Never throws: what failed while giving them back is returned, for the engine to log.
    /// </summary>
    internal Exception? Complete(Exception? error)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return null;
        }
        EndedAtStep = Model.Engine.Steps;
        if (IsDecoding)
        {
            Stats.GenerationTime = _clock.Elapsed;
        }
        if (error is not null)
        {
            Error = error;
            Stats.FinishReason = FinishReason.Error;
        }
        else if (Stats.FinishReason == FinishReason.None)
        {
            Stats.FinishReason = FinishReason.Cancelled;
        }
        Exception? failure = null;
        try
        {
            _slot.Dispose();
        }
        catch (Exception e)
        {
            failure = e;
        }
        try
        {
            _lease.Dispose();
        }
        catch (Exception e)
        {
            failure ??= e;
        }
        _metrics.OnFinished(Stats.PromptTokens, Stats.GeneratedTokens, Stats.FinishReason, Stats.GenerationTime);
        _steps.Writer.TryComplete();
        _cancel.Dispose();
        return failure;
    }

    /// <summary>Decode steps as they happen; completes when the generation ends (see <see cref="Error"/> for how).</summary>
    public ChannelReader<GenerationStep> Steps => _steps.Reader;

    /// <summary>
    /// The generation as text pieces: each non-empty piece with the log-probabilities of the tokens since
    /// the previous piece. Tokens whose text never became final (swallowed by a stop string) are dropped.
    /// Ends normally when the generation ends, also when it failed: the dialect reports
    /// <see cref="FinishReason.Error"/> in its last message, then <see cref="ThrowIfFailed"/>.
    /// </summary>
    public async IAsyncEnumerable<GeneratedPiece> ReadPiecesAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancel)
    {
        if (Guard is not { HasOutputRail: true } guard)
        {
            await foreach (GeneratedPiece piece in ReadRawPiecesAsync(cancel).ConfigureAwait(false))
            {
                yield return piece;
            }
            yield break;
        }
        // Through the output rail's hold-back window: log-probabilities ride with the next text released.
        List<TokenLogprob>? pending = null;
        await foreach (GeneratedPiece piece in ReadRawPiecesAsync(cancel).ConfigureAwait(false))
        {
            if (piece.Logprobs.Count > 0)
            {
                (pending ??= []).AddRange(piece.Logprobs);
            }
            string text = guard.Push(piece.Text);
            if (guard.Blocked is not null)
            {
                await StopFilteredAsync(cancel).ConfigureAwait(false);
                yield break;
            }
            if (text.Length > 0)
            {
                yield return new GeneratedPiece(text, pending ?? (IReadOnlyList<TokenLogprob>)[]);
                pending = null;
            }
        }
        string rest = guard.Finish();
        if (rest.Length > 0 || pending is not null)
        {
            yield return new GeneratedPiece(rest, pending ?? (IReadOnlyList<TokenLogprob>)[]);
        }
    }

    /// <summary>A blocked output: the sequence is stopped and its last steps drained, so that the stats are final when the dialect reads them.</summary>
    private async Task StopFilteredAsync(CancellationToken cancel)
    {
        Cancel();
        await foreach (GenerationStep _ in _steps.Reader.ReadAllAsync(cancel).ConfigureAwait(false))
        {
        }
    }

    private async IAsyncEnumerable<GeneratedPiece> ReadRawPiecesAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancel)
    {
        List<TokenLogprob>? pending = null;
        await foreach (GenerationStep step in _steps.Reader.ReadAllAsync(cancel).ConfigureAwait(false))
        {
            if (step.Logprob is { } logprob)
            {
                (pending ??= []).Add(logprob);
            }
            if (step.Text.Length > 0)
            {
                Caller?.Audit?.AppendOutput(step.Text);
                yield return new GeneratedPiece(step.Text, pending ?? (IReadOnlyList<TokenLogprob>)[]);
                pending = null;
            }
        }
    }

    /// <summary>
    /// The whole generation's text and log-probabilities; a failed generation is its error (500). With an output
    /// rail the text is checked whole: redacted, or empty when blocked (finish reason <c>content_filter</c>).
    /// </summary>
    public async Task<GeneratedPiece> CollectAsync(CancellationToken cancel)
    {
        var text = new System.Text.StringBuilder();
        var logprobs = new List<TokenLogprob>();
        await foreach (GeneratedPiece piece in ReadRawPiecesAsync(cancel).ConfigureAwait(false))
        {
            text.Append(piece.Text);
            logprobs.AddRange(piece.Logprobs);
        }
        ThrowIfEngineFailed();
        string all = text.ToString();
        return new GeneratedPiece(Guard is { HasOutputRail: true } guard ? guard.CheckWhole(all) : all, logprobs);
    }

    /// <summary>The tool calls the model made, through the policy's tool_calls rail (redacted arguments; none when blocked).</summary>
    public IReadOnlyList<ParsedToolCall> CheckToolCalls(IReadOnlyList<ParsedToolCall> calls) => Guard?.CheckToolCalls(calls) ?? calls;

    /// <summary>After a stream's last chunk: the guard's error event when a rail stopped it, else as <see cref="ThrowIfFailed"/>.</summary>
    public void ThrowIfFailedOrFiltered()
    {
        ThrowIfFailed();
        if (Guard?.Blocked is not null)
        {
            throw Guard.Error();
        }
    }

    /// <summary>After the pieces: a generation the engine failed becomes the request's error (500, in the dialect's shape).</summary>
    public void ThrowIfFailed() => ThrowIfEngineFailed();

    private void ThrowIfEngineFailed()
    {
        if (Stats.FinishReason == FinishReason.Error)
        {
            throw new ApiException(500, $"the generation failed: {Error?.Message ?? "engine error"}", code: "generation_failed", type: "server_error");
        }
    }

    /// <summary>Stops the generation before the engine's next step (e.g. when the client can no longer be written to).</summary>
    public void Cancel()
    {
        try
        {
            _cancel.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The run has already ended.
        }
    }

    /// <summary>The end of the request: stops the run if it is still going, charges its tokens to the caller, writes its log line.</summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }
        Cancel(); // a no-op when the run has ended; stops it when the client went away or writing failed
        Caller?.Charge(PromptTokens + Stats.GeneratedTokens);
        if (Caller is not null)
        {
            Log?.Generation(Caller, this);
            Caller.Audit?.OnGeneration(this);
        }
        return ValueTask.CompletedTask;
    }
}
