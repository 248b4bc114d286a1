namespace Cria.Soak;

/// <summary>How one resource moved between the first minute after warm-up and the last minute.</summary>
internal sealed record Growth(string Name, string Unit, Func<Sample, double> Read, double Baseline, double Final)
{
    public double Percent => Baseline == 0 ? (Final == 0 ? 0 : double.PositiveInfinity) : ((Final / Baseline) - 1) * 100;

    public bool Ok => Percent < Verdict.MaxGrowthPercent;
}

/// <summary>
/// The soak's rule. After warm-up (the first <c>--warmup</c> part of the run) the median of RSS, GC heap, open
/// handles and threads over the last minute must be less than 5% above their median over the first minute after
/// warm-up (both windows shrink to a third of the post-warm-up time in runs too short for minutes); and no
/// request may get a 5xx, no stream may be dropped, none may time out or fail in transport or report an engine
/// error, no answer may be of the wrong kind, and the server must still be running when the load ends.
/// </summary>
internal static class Verdict
{
    public const double MaxGrowthPercent = 5;

    public static (double WarmupEnd, double Window) Windows(double seconds, double warmup)
    {
        double warmupEnd = seconds * warmup;
        return (warmupEnd, Math.Min(60, (seconds - warmupEnd) / 3));
    }

    public static IReadOnlyList<Growth> Growths(IReadOnlyList<Sample> samples, double seconds, double warmup)
    {
        (double warmupEnd, double window) = Windows(seconds, warmup);
        double end = samples[^1].Seconds;
        Sample[] first = [.. samples.Where(s => s.Seconds >= warmupEnd && s.Seconds <= warmupEnd + window)];
        Sample[] last = [.. samples.Where(s => s.Seconds >= end - window)];
        if (first.Length == 0 || last.Length == 0)
        {
            throw new InvalidOperationException($"no samples in the windows after warm-up ({first.Length}) or at the end ({last.Length})");
        }
        return
        [
            Measure("RSS", "MiB", s => s.RssMiB),
            Measure("GC heap", "MiB", s => s.GcHeapMiB),
            Measure("handles", "", s => s.Handles),
            Measure("threads", "", s => s.Threads),
        ];

        Growth Measure(string name, string unit, Func<Sample, double> read) =>
            new(name, unit, read, Median(first.Select(read)), Median(last.Select(read)));
    }

    public static List<string> Failures(IReadOnlyList<Growth> growths, Tally tally, bool serverDied)
    {
        var failures = new List<string>();
        foreach (Growth g in growths.Where(g => !g.Ok))
        {
            failures.Add($"{g.Name} grew {g.Percent:F1}% ({g.Baseline:F1} → {g.Final:F1}{(g.Unit.Length > 0 ? " " + g.Unit : "")}), the limit is {MaxGrowthPercent}%");
        }
        Add(tally.Status5xx, "answers were 5xx");
        Add(tally.Dropped, "streams were dropped");
        Add(tally.TimedOut, "requests timed out");
        Add(tally.TransportErrors, "requests failed in transport");
        Add(tally.EngineErrors, "answers reported an engine error");
        Add(tally.Unexpected, "answers were of the wrong kind");
        Add(tally.StatusOther, "answers were neither 2xx, 4xx nor 5xx");
        if (serverDied)
        {
            failures.Add("the server exited during the run");
        }
        return failures;

        void Add(long count, string what)
        {
            if (count > 0)
            {
                failures.Add($"{count} {what}");
            }
        }
    }

    public static double Median(IEnumerable<double> values)
    {
        double[] v = [.. values.Order()];
        return v.Length == 0 ? double.NaN : v.Length % 2 == 1 ? v[v.Length / 2] : (v[(v.Length / 2) - 1] + v[v.Length / 2]) / 2;
    }
}
