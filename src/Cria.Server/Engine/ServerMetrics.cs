namespace Cria.Server.Engine;

/// <summary>Counters of the server's work since it started (read by tests now, by /metrics later).</summary>
public sealed class ServerMetrics
{
    private long _started;
    private long _finished;
    private long _cancelled;
    private long _generatedTokens;
    private long _promptTokens;
    private int _active;
    private int _queued;

    public long GenerationsStarted => Interlocked.Read(ref _started);

    public long GenerationsFinished => Interlocked.Read(ref _finished);

    /// <summary>Generations that ended because their client went away or the server stopped.</summary>
    public long GenerationsCancelled => Interlocked.Read(ref _cancelled);

    public long GeneratedTokens => Interlocked.Read(ref _generatedTokens);

    public long PromptTokens => Interlocked.Read(ref _promptTokens);

    public int ActiveGenerations => Volatile.Read(ref _active);

    public int QueueDepth => Volatile.Read(ref _queued);

    internal void OnQueued() => Interlocked.Increment(ref _queued);

    internal void OnDequeued() => Interlocked.Decrement(ref _queued);

    internal void OnStarted()
    {
        Interlocked.Increment(ref _started);
        Interlocked.Increment(ref _active);
    }

    internal void OnFinished(int promptTokens, int generatedTokens, bool cancelled)
    {
        Interlocked.Add(ref _promptTokens, promptTokens);
        Interlocked.Add(ref _generatedTokens, generatedTokens);
        if (cancelled)
        {
            Interlocked.Increment(ref _cancelled);
        }
        Interlocked.Increment(ref _finished);
        Interlocked.Decrement(ref _active);
    }
}
