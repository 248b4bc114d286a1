using System.Diagnostics;
using System.Globalization;

namespace Cria.Bench;

/// <summary>
/// This process's memory: peak resident set (VmHWM on Linux) and, where /proc is available, the
/// current resident set split into anonymous memory (heap, buffers, repacked weights) and mapped
/// file pages (memory-mapped weights that were touched).
/// </summary>
internal sealed record MemoryUsage(long PeakRss, long RssAnon, long RssFile)
{
    public static MemoryUsage Current()
    {
        using Process self = Process.GetCurrentProcess();
        self.Refresh();
        long peak = self.PeakWorkingSet64;
        long anon = -1, file = -1;
        const string status = "/proc/self/status";
        if (File.Exists(status))
        {
            foreach (string line in File.ReadLines(status))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    peak = Kilobytes(line);
                }
                else if (line.StartsWith("RssAnon:", StringComparison.Ordinal))
                {
                    anon = Kilobytes(line);
                }
                else if (line.StartsWith("RssFile:", StringComparison.Ordinal))
                {
                    file = Kilobytes(line);
                }
            }
        }
        return new MemoryUsage(peak, anon, file);
    }

    /// <summary>The one line a child process prints; <see cref="Parse"/> reads it back.</summary>
    public string ToLine() => string.Create(CultureInfo.InvariantCulture, $"MEMORY peak_rss={PeakRss} rss_anon={RssAnon} rss_file={RssFile}");

    public static MemoryUsage? Parse(string output)
    {
        foreach (string line in output.Split('\n'))
        {
            if (!line.StartsWith("MEMORY ", StringComparison.Ordinal))
            {
                continue;
            }
            var values = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (string part in line.Trim().Split(' ').Skip(1))
            {
                string[] kv = part.Split('=');
                values[kv[0]] = long.Parse(kv[1], CultureInfo.InvariantCulture);
            }
            return new MemoryUsage(values["peak_rss"], values["rss_anon"], values["rss_file"]);
        }
        return null;
    }

    private static long Kilobytes(string line)
    {
        string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(parts[1], CultureInfo.InvariantCulture) * 1024;
    }
}
