using System.Diagnostics.Metrics;
using System.Threading.Channels;

using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cria.Server.Audit;

/// <summary>
/// Writes audit records off the request path: requests put their record in a bounded channel, one
/// task takes what is there (up to <see cref="MaxBatch"/>) and appends it in one transaction.
/// Invariants: every record offered is written, or counted in <see cref="Dropped"/> and then named
/// by a gap record in the log itself; stopping (after Kestrel has stopped taking requests, since the
/// web server is the host's last service and stops first) closes the channel and waits for the
/// writer to drain it; a record offered after that is written at once by its caller. A full queue
/// makes the request wait up to <see cref="AuditOptions.FullWait"/>, then drops the record.
/// </summary>
internal sealed class AuditWriter : IHostedService, IDisposable
{
    public const string MeterName = "Cria.Audit";

    private const int MaxBatch = 512;

    private readonly Channel<AuditRecord> _queue;
    private readonly AuditStore _store;
    private readonly AuditOptions _options;
    private readonly ILogger _logger;
    private readonly Meter _meter;
    private readonly Lock _write = new(); // the store is used by one thread at a time
    private readonly Task _writer;
    private long _written;
    private long _dropped;
    private long _droppedLogged; // drops already named by a gap record
    private DateTimeOffset _lastPrune = DateTimeOffset.MinValue;
    private int _closed;

    public AuditWriter(AuditStore store, AuditOptions options, ILogger logger, IMeterFactory? meters)
    {
        _store = store;
        _options = options;
        _logger = logger;
        _queue = Channel.CreateBounded<AuditRecord>(new BoundedChannelOptions(options.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _meter = meters?.Create(MeterName) ?? new Meter(MeterName);
        _meter.CreateObservableCounter("cria.audit.records", () => Written, "{record}", "audit records written");
        _meter.CreateObservableCounter("cria.audit.dropped", () => Dropped, "{record}", "audit records lost (queue full for longer than the wait, or a failed write); the log names them with a gap record");
        _meter.CreateObservableGauge("cria.audit.queue", () => _queue.Reader.Count, "{record}", "audit records waiting for the writer");
        PruneIfDue();
        _writer = Task.Run(WriteLoopAsync);
    }

    public long Written => Interlocked.Read(ref _written);

    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Queues a record; waits briefly when the queue is full, then drops it (counted).</summary>
    public async ValueTask OfferAsync(AuditRecord record)
    {
        if (_queue.Writer.TryWrite(record))
        {
            return;
        }
        if (Volatile.Read(ref _closed) != 0)
        {
            WriteNow([record]); // after shutdown drained the queue: a late request's record
            return;
        }
        using var wait = new CancellationTokenSource(_options.FullWait);
        try
        {
            await _queue.Writer.WriteAsync(record, wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Interlocked.Increment(ref _dropped);
        }
        catch (ChannelClosedException)
        {
            WriteNow([record]);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Closes the queue and waits for every record in it to be written.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref _closed, 1);
        _queue.Writer.TryComplete();
        await _writer.WaitAsync(cancellationToken).ConfigureAwait(false);
        WriteNow([]); // a gap record for drops not yet named
    }

    public void Dispose()
    {
        Interlocked.Exchange(ref _closed, 1);
        _queue.Writer.TryComplete();
        try
        {
            _writer.Wait(TimeSpan.FromSeconds(30));
        }
        catch (AggregateException)
        {
            // logged by the loop
        }
        lock (_write)
        {
            _store.Dispose();
        }
        _meter.Dispose();
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<AuditRecord>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out AuditRecord? record))
            {
                batch.Add(record);
            }
            WriteNow(batch);
            PruneIfDue();
        }
    }

    /// <summary>Appends the records (after a gap record when some were dropped since the last one); a failed write drops them, counted.</summary>
    private void WriteNow(List<AuditRecord> records)
    {
        lock (_write)
        {
            long dropped = Interlocked.Read(ref _dropped) - _droppedLogged;
            if (dropped > 0)
            {
                records.Insert(0, new AuditRecord
                {
                    Kind = AuditKinds.Gap,
                    TimeMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
                    Dropped = dropped,
                });
            }
            if (records.Count == 0)
            {
                return;
            }
            try
            {
                _store.Append(records);
                Interlocked.Add(ref _written, records.Count - (dropped > 0 ? 1 : 0));
                _droppedLogged += dropped;
            }
            catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or InvalidDataException)
            {
                Interlocked.Add(ref _dropped, records.Count - (dropped > 0 ? 1 : 0));
                LogWriteFailed(_logger, e, records.Count, _store.Path);
            }
        }
    }

    private void PruneIfDue()
    {
        if (_options.Retention is not { } retention || DateTimeOffset.UtcNow - _lastPrune < TimeSpan.FromHours(1))
        {
            return;
        }
        lock (_write)
        {
            _lastPrune = DateTimeOffset.UtcNow;
            try
            {
                long removed = _store.Prune(DateTimeOffset.UtcNow - retention);
                if (removed > 0)
                {
                    LogPruned(_logger, removed, _store.Path);
                }
            }
            catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or InvalidDataException)
            {
                LogPruneFailed(_logger, e, _store.Path);
            }
        }
    }

    private static readonly Action<ILogger, int, string, Exception?> s_writeFailed =
        LoggerMessage.Define<int, string>(LogLevel.Error, new EventId(10, "AuditWriteFailed"), "could not write {Count} audit records to {Path}; they are counted as dropped");

    private static readonly Action<ILogger, long, string, Exception?> s_pruned =
        LoggerMessage.Define<long, string>(LogLevel.Information, new EventId(11, "AuditPruned"), "pruned {Count} audit records older than the retention from {Path} (behind a signed checkpoint)");

    private static readonly Action<ILogger, string, Exception?> s_pruneFailed =
        LoggerMessage.Define<string>(LogLevel.Error, new EventId(12, "AuditPruneFailed"), "could not prune the audit log {Path}");

    private static void LogWriteFailed(ILogger logger, Exception e, int count, string path) => s_writeFailed(logger, count, path, e);

    private static void LogPruned(ILogger logger, long count, string path) => s_pruned(logger, count, path, null);

    private static void LogPruneFailed(ILogger logger, Exception e, string path) => s_pruneFailed(logger, path, e);
}
