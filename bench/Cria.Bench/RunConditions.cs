using System.Diagnostics;
using System.Globalization;

namespace Cria.Bench;

/// <summary>
/// What else happened on the machine during a timed run, so a slow run can be explained instead of
/// averaged in: CPU time used by other processes (in cores, from /proc/stat minus this process's
/// own CPU time) and this process's major page faults (weights that were read back from disk,
/// e.g. memory-mapped pages the kernel dropped while the other engine ran). Linux only; elsewhere
/// the values are NaN / -1.
/// </summary>
internal readonly record struct RunConditions(double OtherCores, long MajorFaults)
{
    private const double UserHz = 100.0; // /proc/stat ticks (USER_HZ) on every mainstream Linux build

    public static Snapshot Start() => new(Stopwatch.GetTimestamp(), MachineBusySeconds(), OwnCpuSeconds(), MajorFaultCount());

    public override string ToString() =>
        double.IsNaN(OtherCores) ? "" : string.Create(CultureInfo.InvariantCulture, $"(other load {OtherCores:F2} cores, {MajorFaults} major faults)");

    internal readonly record struct Snapshot(long Timestamp, double Busy, double Own, long Faults)
    {
        public RunConditions Stop()
        {
            double wall = Stopwatch.GetElapsedTime(Timestamp).TotalSeconds;
            double busy = MachineBusySeconds() - Busy;
            double own = OwnCpuSeconds() - Own;
            long faults = Faults >= 0 ? MajorFaultCount() - Faults : -1;
            return new RunConditions(double.IsNaN(busy) ? double.NaN : Math.Max(0, (busy - own) / wall), faults);
        }
    }

    private static double MachineBusySeconds()
    {
        const string stat = "/proc/stat";
        if (!File.Exists(stat))
        {
            return double.NaN;
        }
        using var reader = new StreamReader(stat);
        string[] f = (reader.ReadLine() ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // cpu user nice system idle iowait irq softirq steal ...
        double busy = 0;
        for (int i = 1; i < Math.Min(f.Length, 9); i++)
        {
            if (i is not (4 or 5))
            {
                busy += double.Parse(f[i], CultureInfo.InvariantCulture);
            }
        }
        return busy / UserHz;
    }

    private static double OwnCpuSeconds()
    {
        using Process self = Process.GetCurrentProcess();
        return self.TotalProcessorTime.TotalSeconds;
    }

    private static long MajorFaultCount()
    {
        const string stat = "/proc/self/stat";
        if (!File.Exists(stat))
        {
            return -1;
        }
        string s = File.ReadAllText(stat);
        // Fields after the parenthesized command name: state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt(12).
        string[] f = s[(s.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(f[9], CultureInfo.InvariantCulture);
    }
}
