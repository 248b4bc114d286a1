namespace Cria.Numerics.Threading;

/// <summary>
/// The one compute thread pool: <see cref="ThreadCount"/> − 1 dedicated workers plus the calling
/// thread. <see cref="For"/> splits [0, count) into chunks handed out through one atomic counter,
/// so a fast thread takes more chunks. Invariant: at most one <see cref="For"/> runs at a time
/// (calls are serialized by a lock); <see cref="For"/> returns only after every chunk has run
/// and every worker has stopped touching the job. Workers spin briefly after a job (the next
/// matmul of a decode step usually follows within microseconds) and then park, so an idle
/// pool does not starve a 2-core machine.
/// </summary>
public sealed class ComputePool : IDisposable
{
    private const int SpinIterations = 20_000;

    private readonly Thread[] _threads;
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Lock _runLock = new();
    private ParallelJob? _job;
    private int _count;
    private int _chunk;
    private int _next;
    private int _pending;        // workers that have not yet finished the current generation
    private long _generation;    // bumped per job; workers compare against the last one they ran
    private volatile bool _disposed;
    private Exception? _error;

    public ComputePool(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ThreadCount = threads;
        _threads = new Thread[threads - 1];
        for (int i = 0; i < _threads.Length; i++)
        {
            int worker = i + 1;
            _threads[i] = new Thread(() => WorkerLoop(worker))
            {
                IsBackground = true,
                Name = $"cria-compute-{worker}",
            };
            _threads[i].Start();
        }
    }

    /// <summary>Threads that take part in a job, the caller included.</summary>
    public int ThreadCount { get; }

    /// <summary>A default thread count: the processor count (this runtime sees logical processors; on the 2-core CI machine these are the physical cores).</summary>
    public static int DefaultThreads => Math.Max(1, Environment.ProcessorCount);

    private static ComputePool? s_shared;

    /// <summary>A process-wide pool with <see cref="DefaultThreads"/> threads, created on first use.</summary>
    public static ComputePool Shared
    {
        get
        {
            if (s_shared is null)
            {
                Interlocked.CompareExchange(ref s_shared, new ComputePool(DefaultThreads), null);
            }
            return s_shared;
        }
    }

    /// <summary>Runs <paramref name="job"/> over [0, count) in chunks of at least <paramref name="minChunk"/> items.</summary>
    public void For(ParallelJob job, int count, int minChunk = 1)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (count <= 0)
        {
            return;
        }
        ObjectDisposedException.ThrowIf(_disposed, this);
        int chunk = Math.Max(minChunk, count / (ThreadCount * 4));
        if (_threads.Length == 0 || count <= chunk)
        {
            job.Execute(0, count, 0);
            return;
        }
        lock (_runLock)
        {
            _job = job;
            _count = count;
            _chunk = chunk;
            _error = null;
            Volatile.Write(ref _next, 0);
            Volatile.Write(ref _pending, _threads.Length);
            Interlocked.Increment(ref _generation);
            _wake.Release(_threads.Length);
            try
            {
                RunChunks(job, 0);
            }
            catch (Exception e)
            {
                _error ??= e;
                Volatile.Write(ref _next, int.MaxValue / 2);
            }
            var spin = new SpinWait();
            while (Volatile.Read(ref _pending) != 0)
            {
                spin.SpinOnce(-1);
            }
            _job = null;
            if (_error is not null)
            {
                throw new AggregateException("a compute job failed", _error);
            }
        }
    }

    private void RunChunks(ParallelJob job, int worker)
    {
        int count = _count;
        int chunk = _chunk;
        while (true)
        {
            int start = Interlocked.Add(ref _next, chunk) - chunk;
            if (start >= count)
            {
                return;
            }
            job.Execute(start, Math.Min(start + chunk, count), worker);
        }
    }

    private void WorkerLoop(int worker)
    {
        long seen = 0;
        while (true)
        {
            // Spin for a while for the next job, then park on the semaphore.
            int spins = 0;
            while (Volatile.Read(ref _generation) == seen && spins < SpinIterations && !_disposed)
            {
                Thread.SpinWait(20);
                spins++;
            }
            if (Volatile.Read(ref _generation) == seen)
            {
                _wake.Wait();
            }
            else
            {
                // Consume the wake-up that was released for this job so the semaphore count stays balanced.
                _wake.Wait(0);
            }
            if (_disposed)
            {
                return;
            }
            long gen = Volatile.Read(ref _generation);
            if (gen == seen)
            {
                continue;
            }
            seen = gen;
            ParallelJob? job = _job;
            try
            {
                if (job is not null)
                {
                    RunChunks(job, worker);
                }
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, e, null);
                Volatile.Write(ref _next, int.MaxValue / 2);
            }
            Interlocked.Decrement(ref _pending);
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        if (_threads.Length > 0)
        {
            _wake.Release(_threads.Length);
        }
        foreach (Thread t in _threads)
        {
            t.Join(TimeSpan.FromSeconds(1));
        }
        _wake.Dispose();
    }
}
