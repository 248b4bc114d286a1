using System.Globalization;

namespace Cria.Cli;

/// <summary>Sizes and times as the store commands print them.</summary>
internal static class CliFormat
{
    public static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):F1} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):F1} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:F1} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
    };

    /// <summary>"just now", "5 minutes ago", "3 days ago", else the date.</summary>
    public static string Ago(DateTimeOffset when, DateTimeOffset now)
    {
        TimeSpan t = now - when;
        return t.TotalSeconds switch
        {
            < 60 => "just now",
            < 3600 => Plural((int)t.TotalMinutes, "minute"),
            < 86400 => Plural((int)t.TotalHours, "hour"),
            < 30 * 86400 => Plural((int)t.TotalDays, "day"),
            _ => when.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        };
    }

    private static string Plural(int n, string unit) => string.Create(CultureInfo.InvariantCulture, $"{n} {unit}{(n == 1 ? "" : "s")} ago");
}
