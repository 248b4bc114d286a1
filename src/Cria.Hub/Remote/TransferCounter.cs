using System.Diagnostics;

namespace Cria.Hub.Remote;

/// <summary>Bytes of one blob received so far, from any number of parts; reports at most ten times a second (and always the end).</summary>
internal sealed class TransferCounter(IProgress<PullProgress>? progress, string status, string item, long total)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _done;
    private long _lastReport = -1000;

    public long Done => Interlocked.Read(ref _done);

    public void Set(long done)
    {
        Interlocked.Exchange(ref _done, done);
        Report(force: true);
    }

    public void Add(long bytes)
    {
        Interlocked.Add(ref _done, bytes);
        Report(force: false);
    }

    public void Report(bool force)
    {
        if (progress is null)
        {
            return;
        }
        long now = _clock.ElapsedMilliseconds;
        long last = Interlocked.Read(ref _lastReport);
        long done = Done;
        if (!force && done < total && now - last < 100)
        {
            return;
        }
        if (force || Interlocked.CompareExchange(ref _lastReport, now, last) == last)
        {
            Interlocked.Exchange(ref _lastReport, now);
            progress.Report(new PullProgress(status, item, done, total));
        }
    }
}
