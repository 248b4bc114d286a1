using System.Diagnostics.Metrics;

using Cria.Core.Inference;

namespace Cria.Server.Telemetry;

/// <summary>
/// Counters of the server's work since it started, published through the "Cria.Server" meter
/// (OpenTelemetry exports it at /metrics in Prometheus format): generations, prompt and generated
/// tokens, active generations, queue depth, loaded models, KV-cache use, and histograms of time to
/// first token, time per output token (vLLM's two latency measures) and decode tokens/s. HTTP requests by route and
/// status come from ASP.NET Core's own instrumentation.
/// </summary>
public sealed class ServerMetrics : IDisposable
{
    public const string MeterName = "Cria.Server";

    private static readonly double[] s_ttftBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
    private static readonly double[] s_tpotBuckets = [0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 1];
    private static readonly double[] s_speedBuckets = [1, 2, 5, 10, 15, 20, 30, 40, 60, 80, 120, 200, 500, 1000];

    private readonly Meter _meter;
    private readonly Histogram<double> _timeToFirstToken;
    private readonly Histogram<double> _timePerOutputToken;
    private readonly Histogram<double> _decodeSpeed;
    private readonly Histogram<double> _queueWait;
    private readonly Counter<long> _finishedBy;
    private readonly Counter<long> _guardFindings;
    private readonly Counter<long> _guardBlocked;
    private long _guardFindingCount;
    private long _guardBlockedCount;
    private long _started;
    private long _finished;
    private long _cancelled;
    private long _failed;
    private long _generatedTokens;
    private long _promptTokens;
    private long _cachedTokens;
    private int _active;
    private int _queued;

    /// <param name="meters">The host's meter factory: meters it creates belong to that host only, so several servers in one process (tests) do not report each other's counters.</param>
    public ServerMetrics(IMeterFactory? meters = null, Func<int>? loadedModels = null, Func<(long Used, long Capacity)>? kvCache = null,
        Func<long>? preemptions = null)
    {
        _meter = meters?.Create(MeterName) ?? new Meter(MeterName);
        _meter.CreateObservableCounter("cria.generations", () => GenerationsStarted, "{generation}", "generations started");
        _meter.CreateObservableCounter("cria.generations.cancelled", () => GenerationsCancelled, "{generation}", "generations ended by a client disconnect or shutdown");
        _meter.CreateObservableCounter("cria.generations.failed", () => GenerationsFailed, "{generation}", "generations the engine ended with an error (finish reason \"error\")");
        _guardFindings = _meter.CreateCounter<long>("cria.guard.findings", "{finding}", "guard findings, by stage (input, output, tool_calls), detector, type and action");
        _guardBlocked = _meter.CreateCounter<long>("cria.guard.blocked", "{request}", "requests or streams a guard rail blocked, by stage");
        _finishedBy = _meter.CreateCounter<long>("cria.generations.finished", "{generation}", "generations ended, by finish_reason (stop, length, cancelled, error)");
        _meter.CreateObservableCounter("cria.tokens.prompt", () => PromptTokens, "{token}", "prompt tokens processed");
        _meter.CreateObservableCounter("cria.tokens.generated", () => GeneratedTokens, "{token}", "tokens generated");
        _meter.CreateObservableCounter("cria.tokens.prompt_cached", () => CachedPromptTokens, "{token}", "prompt tokens found in a context's cache (a shared prefix) and not computed again");
        _meter.CreateObservableGauge("cria.prefix_cache.hit_rate", () => PromptTokens == 0 ? 0.0 : Math.Min(1.0, (double)CachedPromptTokens / PromptTokens), "1", "prompt tokens served from cache / prompt tokens");
        _meter.CreateObservableGauge("cria.generations.active", () => ActiveGenerations, "{generation}", "generations running now");
        _meter.CreateObservableGauge("cria.queue.depth", () => QueueDepth, "{request}", "requests waiting for a generation slot");
        if (loadedModels is not null)
        {
            _meter.CreateObservableGauge("cria.models.loaded", loadedModels, "{model}", "models loaded in memory");
        }
        if (kvCache is not null)
        {
            _meter.CreateObservableGauge("cria.kv_cache.tokens", () => kvCache().Used, "{token}", "tokens held in the KV caches of running sequences");
            _meter.CreateObservableGauge("cria.kv_cache.usage", () =>
            {
                (long used, long capacity) = kvCache();
                return capacity > 0 ? (double)used / capacity : 0.0;
            }, "1", "fraction of the loaded models' KV-cache capacity in use");
        }
        if (preemptions is not null)
        {
            _meter.CreateObservableGauge("cria.preemptions", preemptions, "{sequence}", "sequences whose KV blocks were taken back to be recomputed (loaded models, since they loaded)");
        }
        _timeToFirstToken = _meter.CreateHistogram("cria.time_to_first_token", "s", "from the request's arrival at the engine to its first generated token",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_ttftBuckets });
        _timePerOutputToken = _meter.CreateHistogram("cria.time_per_output_token", "s", "mean decode time per generated token after the first, per generation",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_tpotBuckets });
        _queueWait = _meter.CreateHistogram("cria.queue.wait", "s", "time a request waited for a generation slot (requests admitted at once are not counted)",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_ttftBuckets });
        _decodeSpeed = _meter.CreateHistogram("cria.decode.speed", "{token}/s", "generated tokens per second of decoding, per generation",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_speedBuckets });
    }

    public void Dispose() => _meter.Dispose();

    /// <summary>Guard findings counted so far (all stages).</summary>
    public long GuardFindings => Interlocked.Read(ref _guardFindingCount);

    /// <summary>Requests and streams a guard rail blocked.</summary>
    public long GuardBlocked => Interlocked.Read(ref _guardBlockedCount);

    public void OnGuardFinding(string stage, string detector, string type, string action)
    {
        Interlocked.Increment(ref _guardFindingCount);
        _guardFindings.Add(1, new KeyValuePair<string, object?>("stage", stage), new KeyValuePair<string, object?>("detector", detector),
            new KeyValuePair<string, object?>("type", type), new KeyValuePair<string, object?>("action", action));
    }

    public void OnGuardBlocked(string stage)
    {
        Interlocked.Increment(ref _guardBlockedCount);
        _guardBlocked.Add(1, new KeyValuePair<string, object?>("stage", stage));
    }

    public long GenerationsStarted => Interlocked.Read(ref _started);

    public long GenerationsFinished => Interlocked.Read(ref _finished);

    /// <summary>Generations that ended because their client went away or the server stopped.</summary>
    public long GenerationsCancelled => Interlocked.Read(ref _cancelled);

    /// <summary>Generations the engine ended with an error.</summary>
    public long GenerationsFailed => Interlocked.Read(ref _failed);

    public long GeneratedTokens => Interlocked.Read(ref _generatedTokens);

    public long PromptTokens => Interlocked.Read(ref _promptTokens);

    /// <summary>Prompt tokens that were already in a context's KV cache (prefix reuse).</summary>
    public long CachedPromptTokens => Interlocked.Read(ref _cachedTokens);

    internal void OnPromptCached(int tokens) => Interlocked.Add(ref _cachedTokens, tokens);

    public int ActiveGenerations => Volatile.Read(ref _active);

    public int QueueDepth => Volatile.Read(ref _queued);

    internal void OnQueued() => Interlocked.Increment(ref _queued);

    internal void OnDequeued(TimeSpan waited)
    {
        Interlocked.Decrement(ref _queued);
        _queueWait.Record(waited.TotalSeconds);
    }

    internal void OnStarted()
    {
        Interlocked.Increment(ref _started);
        Interlocked.Increment(ref _active);
    }

    internal void OnFirstToken(TimeSpan sinceCreated, int promptTokens) =>
        _timeToFirstToken.Record(sinceCreated.TotalSeconds, new KeyValuePair<string, object?>("prompt_tokens_bucket", PromptBucket(promptTokens)));

    /// <summary>The finish reason as logs and metrics name it: stop, length, cancelled or error.</summary>
    public static string FinishLabel(FinishReason finish) => finish switch
    {
        FinishReason.Length => "length",
        FinishReason.Cancelled => "cancelled",
        FinishReason.Error => "error",
        _ => "stop",
    };

    /// <summary>A coarse label (so the series stay few): TTFT depends mostly on the prompt's length.</summary>
    private static string PromptBucket(int tokens) => tokens switch
    {
        <= 128 => "128",
        <= 512 => "512",
        <= 2048 => "2048",
        _ => "more",
    };

    internal void OnFinished(int promptTokens, int generatedTokens, FinishReason finish, TimeSpan generationTime = default)
    {
        _finishedBy.Add(1, new KeyValuePair<string, object?>("finish_reason", FinishLabel(finish)));
        if (generatedTokens > 1 && generationTime > TimeSpan.Zero)
        {
            _timePerOutputToken.Record(generationTime.TotalSeconds / generatedTokens);
            _decodeSpeed.Record(generatedTokens / generationTime.TotalSeconds);
        }
        Interlocked.Add(ref _promptTokens, promptTokens);
        Interlocked.Add(ref _generatedTokens, generatedTokens);
        if (finish == FinishReason.Cancelled)
        {
            Interlocked.Increment(ref _cancelled);
        }
        else if (finish == FinishReason.Error)
        {
            Interlocked.Increment(ref _failed);
        }
        Interlocked.Increment(ref _finished);
        Interlocked.Decrement(ref _active);
    }
}
