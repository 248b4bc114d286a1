using System.Diagnostics.Metrics;

namespace Cria.Server.Engine;

/// <summary>
/// Counters of the server's work since it started, published through the "Cria.Server" meter
/// (OpenTelemetry exports it at /metrics in Prometheus format): generations, prompt and generated
/// tokens, active generations, queue depth, loaded models. HTTP requests by route and status come
/// from ASP.NET Core's own instrumentation.
/// </summary>
public sealed class ServerMetrics : IDisposable
{
    public const string MeterName = "Cria.Server";

    private readonly Meter _meter;
    private long _started;
    private long _finished;
    private long _cancelled;
    private long _generatedTokens;
    private long _promptTokens;
    private int _active;
    private int _queued;

    /// <param name="meters">The host's meter factory: meters it creates belong to that host only, so several servers in one process (tests) do not report each other's counters.</param>
    public ServerMetrics(IMeterFactory? meters = null, Func<int>? loadedModels = null)
    {
        _meter = meters?.Create(MeterName) ?? new Meter(MeterName);
        _meter.CreateObservableCounter("cria.generations", () => GenerationsStarted, "{generation}", "generations started");
        _meter.CreateObservableCounter("cria.generations.cancelled", () => GenerationsCancelled, "{generation}", "generations ended by a client disconnect or shutdown");
        _meter.CreateObservableCounter("cria.tokens.prompt", () => PromptTokens, "{token}", "prompt tokens processed");
        _meter.CreateObservableCounter("cria.tokens.generated", () => GeneratedTokens, "{token}", "tokens generated");
        _meter.CreateObservableGauge("cria.generations.active", () => ActiveGenerations, "{generation}", "generations running now");
        _meter.CreateObservableGauge("cria.queue.depth", () => QueueDepth, "{request}", "requests waiting for a generation slot");
        if (loadedModels is not null)
        {
            _meter.CreateObservableGauge("cria.models.loaded", loadedModels, "{model}", "models loaded in memory");
        }
    }

    public void Dispose() => _meter.Dispose();

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
