using System.Threading.Channels;

using Cria.Core.Inference;

namespace Cria.Server.Engine;

/// <summary>Text that became final, with the log-probabilities of the tokens that produced it (empty unless asked for).</summary>
internal readonly record struct GeneratedPiece(string Text, IReadOnlyList<TokenLogprob> Logprobs);

/// <summary>
/// One generation running on its own thread (the decode loop is CPU-bound and synchronous), handing
/// decode steps to the HTTP side through a channel. Invariants: the slot, the context and the model
/// lease are given back exactly once, by the generation thread, after its last forward pass;
/// <see cref="Stats"/> and <see cref="GeneratedIds"/> are final once <see cref="Steps"/> completes;
/// cancelling the token stops the loop before the next decode step.
/// </summary>
internal sealed class GenerationRun
{
    private readonly Channel<GenerationStep> _steps = Channel.CreateUnbounded<GenerationStep>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    private readonly CancellationTokenSource _cancel;
    private readonly List<int> _generated = [];

    private GenerationRun(ServedModel model, int[] prompt, CancellationTokenSource cancel)
    {
        Model = model;
        Prompt = prompt;
        _cancel = cancel;
    }

    public ServedModel Model { get; }

    /// <summary>The prompt's token ids.</summary>
    public int[] Prompt { get; }

    public int PromptTokens => Prompt.Length;

    /// <summary>The generated token ids (end-of-generation token excluded); complete once <see cref="Steps"/> completes.</summary>
    public IReadOnlyList<int> GeneratedIds => _generated;

    /// <summary>When the first token was sampled (null before), for time-to-first-token.</summary>
    public DateTimeOffset? FirstTokenAt { get; private set; }

    public GenerationStats Stats { get; } = new();

    /// <summary>When the request reached the engine (before waiting for a slot), for time-to-first-token.</summary>
    public DateTimeOffset Created { get; private init; }

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

    /// <summary>Stops the generation before its next decode step (e.g. when the client can no longer be written to).</summary>
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

    /// <summary>Starts generating; takes ownership of <paramref name="slot"/>, <paramref name="lease"/> and <paramref name="cancel"/>.</summary>
    public static GenerationRun Start(ServedModel model, int[] prompt, GenerationOptions options, IDisposable slot, IDisposable lease,
        ServerMetrics metrics, TimeSpan pieceDelay, CancellationTokenSource cancel, DateTimeOffset arrived)
    {
        var run = new GenerationRun(model, prompt, cancel) { Created = arrived };
        metrics.OnStarted();
        var thread = new Thread(() => run.Execute(prompt, options, slot, lease, metrics, pieceDelay, cancel.Token))
        {
            IsBackground = true,
            Name = "cria-generation",
        };
        try
        {
            thread.Start();
        }
        catch
        {
            metrics.OnFinished(0, 0, cancelled: false);
            slot.Dispose();
            lease.Dispose();
            cancel.Dispose();
            throw;
        }
        return run;
    }

    private void Execute(int[] prompt, GenerationOptions options, IDisposable slot, IDisposable lease, ServerMetrics metrics, TimeSpan pieceDelay, CancellationToken cancel)
    {
        Exception? error = null;
        var ctx = Model.RentContext();
        try
        {
            var generator = new Generator(Model.Local.Model, Model.Local.Tokenizer);
            foreach (GenerationStep step in generator.GenerateSteps(ctx, prompt, options, Stats, cancel))
            {
                if (step.Token >= 0)
                {
                    if (FirstTokenAt is null)
                    {
                        FirstTokenAt = DateTimeOffset.UtcNow;
                        metrics.OnFirstToken(FirstTokenAt.Value - Created, Stats.PromptTokens);
                    }
                    _generated.Add(step.Token);
                }
                _steps.Writer.TryWrite(step);
                if (pieceDelay > TimeSpan.Zero)
                {
                    cancel.WaitHandle.WaitOne(pieceDelay);
                }
            }
        }
        catch (Exception e)
        {
            error = e;
        }
        finally
        {
            Model.ReturnContext(ctx);
            slot.Dispose();
            lease.Dispose();
            metrics.OnFinished(Stats.PromptTokens, Stats.GeneratedTokens, Stats.FinishReason == FinishReason.Cancelled, Stats.GenerationTime);
            _steps.Writer.TryComplete(error);
            _cancel.Dispose();
        }
    }
}
