using System.Threading.Channels;

using Cria.Core.Inference;

namespace Cria.Server.Engine;

/// <summary>
/// One generation running on its own thread (the decode loop is CPU-bound and synchronous), handing
/// text pieces to the HTTP side through a channel. Invariants: the slot and the context are given
/// back exactly once, by the generation thread, after its last forward pass; <see cref="Stats"/> is
/// final once <see cref="Pieces"/> completes; cancelling the token stops the loop before the next
/// decode step.
/// </summary>
internal sealed class GenerationRun
{
    private readonly Channel<string> _pieces = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    private readonly CancellationTokenSource _cancel;

    private GenerationRun(ServedModel model, int promptTokens, CancellationTokenSource cancel)
    {
        Model = model;
        PromptTokens = promptTokens;
        _cancel = cancel;
    }

    public ServedModel Model { get; }

    public int PromptTokens { get; }

    public GenerationStats Stats { get; } = new();

    public DateTimeOffset Created { get; } = DateTimeOffset.UtcNow;

    /// <summary>Text as it becomes final; completes (with the error, if one happened) when the generation ends.</summary>
    public ChannelReader<string> Pieces => _pieces.Reader;

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

    /// <summary>Starts generating; takes ownership of <paramref name="slot"/> and <paramref name="cancel"/>.</summary>
    public static GenerationRun Start(ServedModel model, int[] prompt, GenerationOptions options, IDisposable slot,
        ServerMetrics metrics, TimeSpan pieceDelay, CancellationTokenSource cancel)
    {
        var run = new GenerationRun(model, prompt.Length, cancel);
        metrics.OnStarted();
        var thread = new Thread(() => run.Execute(prompt, options, slot, metrics, pieceDelay, cancel.Token))
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
            cancel.Dispose();
            throw;
        }
        return run;
    }

    private void Execute(int[] prompt, GenerationOptions options, IDisposable slot, ServerMetrics metrics, TimeSpan pieceDelay, CancellationToken cancel)
    {
        Exception? error = null;
        var ctx = Model.RentContext();
        try
        {
            var generator = new Generator(Model.Local.Model, Model.Local.Tokenizer);
            foreach (string piece in generator.Generate(ctx, prompt, options, Stats, cancel))
            {
                _pieces.Writer.TryWrite(piece);
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
            metrics.OnFinished(Stats.PromptTokens, Stats.GeneratedTokens, Stats.FinishReason == FinishReason.Cancelled);
            _pieces.Writer.TryComplete(error);
            _cancel.Dispose();
        }
    }
}
