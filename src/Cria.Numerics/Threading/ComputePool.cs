namespace Cria.Numerics.Threading;

/// <summary>
/// The one compute thread pool: <see cref="ThreadCount"/> − 1 dedicated workers plus the calling
/// thread. <see cref="For"/> splits [0, count) into chunks that threads claim from one counter.
/// Invariants: at most one job runs at a time (calls are serialized by a lock); a chunk is claimed
/// only through a compare-and-swap on a word that carries the job's generation, so a worker that
/// wakes late can never claim a chunk of a later job; <see cref="For"/> returns once every item
/// has been executed (counted in <c>_done</c>), without waiting for workers that found nothing
/// to do — on a busy 2-core machine a descheduled worker costs nothing but its own share.
/// Workers spin briefly for the next job (a decode step issues ~150 matmuls microseconds apart)
/// and then park, so an idle pool does not starve the rest of the machine.
/// </summary>
public sealed class ComputePool : IDisposable
{
    private const int SpinIterations = 4_000;

    private readonly Thread[] _threads;
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Lock _runLock = new();
    private ParallelJob? _job;
    private int _count;
    private int _chunk;
    private long _cursor;        // (generation << 32) | next index
    private int _done;           // items finished in the current job
    private int _generation;
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

    /// <summary>
    /// The default thread count: physical cores (SMT siblings share a core's load/store and SIMD
    /// units, and matmul is limited by those), never more than the processors this process may
    /// use. On Linux the cores are counted from /sys topology; elsewhere the processor count.
    /// </summary>
    public static int DefaultThreads { get; } = Math.Max(1, Math.Min(Environment.ProcessorCount, PhysicalCores() ?? int.MaxValue));

    private static int? PhysicalCores()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }
        try
        {
            var cores = new HashSet<string>(StringComparer.Ordinal);
            foreach (string cpu in Directory.EnumerateDirectories("/sys/devices/system/cpu", "cpu*"))
            {
                string siblings = Path.Combine(cpu, "topology", "thread_siblings_list");
                if (File.Exists(siblings))
                {
                    cores.Add(File.ReadAllText(siblings).Trim());
                }
            }
            return cores.Count > 0 ? cores.Count : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static ComputePool? s_shared;

    /// <summary>A process-wide pool with <see cref="DefaultThreads"/> threads, created on first use.</summary>
    public static ComputePool Shared
    {
        get
        {
            if (s_shared is null)
            {
                var pool = new ComputePool(DefaultThreads);
                if (Interlocked.CompareExchange(ref s_shared, pool, null) is not null)
                {
                    pool.Dispose();
                }
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
        int chunk = Math.Max(Math.Max(minChunk, 1), count / (ThreadCount * 8));
        if (_threads.Length == 0 || count <= chunk)
        {
            job.Execute(0, count, 0);
            return;
        }
        lock (_runLock)
        {
            int gen = _generation + 1;
            _job = job;
            _count = count;
            _chunk = chunk;
            _error = null;
            Volatile.Write(ref _done, 0);
            Volatile.Write(ref _cursor, (long)gen << 32);
            Volatile.Write(ref _generation, gen);
            if (_wake.CurrentCount < _threads.Length)
            {
                _wake.Release(_threads.Length - _wake.CurrentCount);
            }
            RunChunks(job, gen, count, chunk, 0);
            var spin = new SpinWait();
            while (Volatile.Read(ref _done) < count)
            {
                spin.SpinOnce(-1);
            }
            // Close this generation: a worker still holding its fields can claim nothing more.
            Volatile.Write(ref _cursor, ((long)gen << 32) | int.MaxValue);
            _generation = gen;
            _job = null;
            if (_error is not null)
            {
                throw new AggregateException("a compute job failed", _error);
            }
        }
    }

    private void RunChunks(ParallelJob job, int gen, int count, int chunk, int worker)
    {
        while (true)
        {
            long cur = Volatile.Read(ref _cursor);
            int start = (int)cur;
            if ((int)(cur >> 32) != gen || start >= count)
            {
                return;
            }
            if (Interlocked.CompareExchange(ref _cursor, cur + chunk, cur) != cur)
            {
                continue;
            }
            int end = Math.Min(start + chunk, count);
            try
            {
                job.Execute(start, end, worker);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, e, null);
            }
            Interlocked.Add(ref _done, end - start);
        }
    }

    private void WorkerLoop(int worker)
    {
        int seen = 0;
        while (!_disposed)
        {
            int spins = 0;
            while (Volatile.Read(ref _generation) == seen && spins < SpinIterations && !_disposed)
            {
                Thread.SpinWait(30);
                spins++;
            }
            if (Volatile.Read(ref _generation) == seen)
            {
                _wake.Wait();
                continue;
            }
            seen = Volatile.Read(ref _generation);
            ParallelJob? job = _job;
            int count = _count;
            int chunk = _chunk;
            if (job is not null)
            {
                // The generation check inside RunChunks rejects these fields if a newer job replaced them.
                RunChunks(job, seen, count, chunk, worker);
            }
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
