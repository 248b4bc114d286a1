using System.Diagnostics;
using System.Threading.Channels;

using Cria.Core.Inference;
using Cria.Core.Models;

namespace Cria.Server.Engine;

/// <summary>Text that became final, with the log-probabilities of the tokens that produced it (empty unless asked for).</summary>
internal readonly record struct GeneratedPiece(string Text, IReadOnlyList<TokenLogprob> Logprobs);

/// <summary>
/// One generation, stepped by its model's <see cref="BatchEngine"/> together with the others, handing
/// decode steps to the HTTP side through a channel. Invariants: the slot, the context and the model
/// lease are given back exactly once, by the engine thread, when the sequence ends (<see cref="Complete"/>);
/// <see cref="Stats"/> and <see cref="GeneratedIds"/> are final once <see cref="Steps"/> completes;
/// cancelling stops the sequence before the engine's next step.
/// </summary>
internal sealed class GenerationRun
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
    }

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

    // Engine-side state, touched only by the engine thread.
    internal InferenceContext? Context { get; private set; }
    internal SequenceDecoder? Sequence { get; private set; }

    /// <summary>The tokens to feed before sampling: the prompt, or after a preemption the prompt and every token generated so far.</summary>
    internal int[] Feed { get; private set; } = [];

    internal int Prefilled { get; set; }

    /// <summary>Times the engine took this sequence's blocks away to be recomputed later.</summary>
    public int Preemptions { get; private set; }
    internal bool IsDecoding { get; private set; }
    internal int NextToken { get; private set; }
    internal bool CancelRequested => _cancel.IsCancellationRequested;

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

    /// <summary>Engine: the sequence lost its context to make room; it will be recomputed from <see cref="Feed"/>.</summary>
    internal void Preempt()
    {
        Context = null;
        Preemptions++;
        IsDecoding = false;
        Prefilled = 0;
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

    /// <summary>Engine: the sequence ended (its context is already back); gives back the slot and the lease, once.</summary>
    internal void Complete(Exception? error)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return;
        }
        if (IsDecoding)
        {
            Stats.GenerationTime = _clock.Elapsed;
        }
        if (Stats.FinishReason == FinishReason.None)
        {
            Stats.FinishReason = error is null ? FinishReason.Cancelled : FinishReason.Stop;
        }
        _slot.Dispose();
        _lease.Dispose();
        _metrics.OnFinished(Stats.PromptTokens, Stats.GeneratedTokens, Stats.FinishReason == FinishReason.Cancelled, Stats.GenerationTime);
        _steps.Writer.TryComplete(error);
        _cancel.Dispose();
    }

    /// <summary>Decode steps as they happen; completes (with the error, if one happened) when the generation ends.</summary>
    public ChannelReader<GenerationStep> Steps => _steps.Reader;

    /// <summary>
    /// The generation as text pieces: each non-empty piece with the log-probabilities of the tokens since
    /// the previous piece. Tokens whose text never became final (swallowed by a stop string) are dropped.
    /// </summary>
    public async IAsyncEnumerable<GeneratedPiece> ReadPiecesAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancel)
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
                yield return new GeneratedPiece(step.Text, pending ?? (IReadOnlyList<TokenLogprob>)[]);
                pending = null;
            }
        }
    }

    /// <summary>The whole generation's text and log-probabilities.</summary>
    public async Task<GeneratedPiece> CollectAsync(CancellationToken cancel)
    {
        var text = new System.Text.StringBuilder();
        var logprobs = new List<TokenLogprob>();
        await foreach (GeneratedPiece piece in ReadPiecesAsync(cancel).ConfigureAwait(false))
        {
            text.Append(piece.Text);
            logprobs.AddRange(piece.Logprobs);
        }
        return new GeneratedPiece(text.ToString(), logprobs);
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
}
