using Cria.Server.Http;
using Cria.Server.Telemetry;

namespace Cria.Server.Requests;

/// <summary>
/// Admission: a counting semaphore of generation slots with a bounded wait line, shared by
/// generations and embeddings of every model. Invariant: at most <c>parallel</c> generations hold a slot, and at most
/// <c>maxQueue</c> requests wait for one; a request beyond both is refused at once with 429 and
/// Retry-After rather than left to wait without bound.
/// </summary>
internal sealed class GenerationSlots : IDisposable
{
    private readonly SemaphoreSlim _slots;
    private readonly int _maxQueue;
    private readonly ServerMetrics _metrics;
    private int _waiting;

    public GenerationSlots(int parallel, int maxQueue, ServerMetrics metrics)
    {
        _slots = new SemaphoreSlim(parallel, parallel);
        _maxQueue = maxQueue;
        _metrics = metrics;
    }

    /// <summary>Waits for a slot; dispose the result to give it back.</summary>
    public async Task<IDisposable> AcquireAsync(CancellationToken cancel)
    {
        if (_slots.Wait(0))
        {
            return new Slot(_slots);
        }
        if (Interlocked.Increment(ref _waiting) > _maxQueue)
        {
            Interlocked.Decrement(ref _waiting);
            throw new ApiException(429, $"the server is busy: {_maxQueue} requests are already waiting; retry later", code: "queue_full")
            {
                RetryAfterSeconds = 1,
            };
        }
        _metrics.OnQueued();
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            await _slots.WaitAsync(cancel).ConfigureAwait(false);
            return new Slot(_slots);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
            _metrics.OnDequeued(System.Diagnostics.Stopwatch.GetElapsedTime(start));
        }
    }

    public void Dispose() => _slots.Dispose();

    private sealed class Slot(SemaphoreSlim slots) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                slots.Release();
            }
        }
    }
}
