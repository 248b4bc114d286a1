using System.Collections.Concurrent;

namespace Cria.Soak;

/// <summary>
/// What the clients saw, counted across all of them (updated with Interlocked, read by the sampler at any
/// time). Every request ends in exactly one of: answered (by status class), cancelled by its client,
/// dropped (a stream that ended without its last chunk while its client still read), timed out, or a
/// transport error. A failure also keeps its first few descriptions for the report.
/// </summary>
internal sealed class Tally
{
    private const int MaxExamples = 20;

    private long _requests;
    private long _status2xx;
    private long _status4xx;
    private long _status5xx;
    private long _statusOther;
    private long _streamsCompleted;
    private long _cancelled;
    private long _dropped;
    private long _timedOut;
    private long _transport;
    private long _unexpected;
    private long _engineErrors;
    private readonly ConcurrentQueue<string> _examples = new();
    private readonly ConcurrentDictionary<string, long> _byKind = new(StringComparer.Ordinal);

    public long Requests => Interlocked.Read(ref _requests);

    public long Status2xx => Interlocked.Read(ref _status2xx);

    public long Status4xx => Interlocked.Read(ref _status4xx);

    public long Status5xx => Interlocked.Read(ref _status5xx);

    /// <summary>1xx and 3xx answers: none are expected.</summary>
    public long StatusOther => Interlocked.Read(ref _statusOther);

    public long StreamsCompleted => Interlocked.Read(ref _streamsCompleted);

    /// <summary>Streams the client itself abandoned part-way (the intended kind of cancellation).</summary>
    public long Cancelled => Interlocked.Read(ref _cancelled);

    /// <summary>Streams that ended without their final chunk, [DONE] or done:true while the client read on.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Requests that got no complete answer within the client's timeout (a hang).</summary>
    public long TimedOut => Interlocked.Read(ref _timedOut);

    /// <summary>Connections refused or reset, bodies cut short outside a stream.</summary>
    public long TransportErrors => Interlocked.Read(ref _transport);

    /// <summary>Non-5xx answers of the wrong kind: a malformed request accepted, a well-formed one refused.</summary>
    public long Unexpected => Interlocked.Read(ref _unexpected);

    /// <summary>Answers that report an engine error in their body (finish reason or done_reason "error").</summary>
    public long EngineErrors => Interlocked.Read(ref _engineErrors);

    public IReadOnlyCollection<string> Examples => _examples;

    public IReadOnlyDictionary<string, long> ByKind => _byKind;

    public void Started(string kind)
    {
        Interlocked.Increment(ref _requests);
        _byKind.AddOrUpdate(kind, 1, (_, n) => n + 1);
    }

    public void Status(int status)
    {
        switch (status / 100)
        {
            case 2:
                Interlocked.Increment(ref _status2xx);
                break;
            case 4:
                Interlocked.Increment(ref _status4xx);
                break;
            case 5:
                Interlocked.Increment(ref _status5xx);
                break;
            default:
                Interlocked.Increment(ref _statusOther);
                break;
        }
    }

    public void StreamCompleted() => Interlocked.Increment(ref _streamsCompleted);

    public void ClientCancelled() => Interlocked.Increment(ref _cancelled);

    public void Drop(string what) => Fail(ref _dropped, "dropped stream: " + what);

    public void Timeout(string what) => Fail(ref _timedOut, "timed out: " + what);

    public void Transport(string what) => Fail(ref _transport, "transport error: " + what);

    public void Wrong(string what) => Fail(ref _unexpected, "unexpected answer: " + what);

    public void EngineError(string what) => Fail(ref _engineErrors, "engine error: " + what);

    public void ServerError(string what) => Note("5xx: " + what);

    private void Fail(ref long counter, string what)
    {
        Interlocked.Increment(ref counter);
        Note(what);
    }

    private void Note(string what)
    {
        if (_examples.Count < MaxExamples)
        {
            _examples.Enqueue($"{DateTimeOffset.UtcNow:HH:mm:ss} {what}");
        }
    }
}
