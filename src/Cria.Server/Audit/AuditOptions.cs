using System.Globalization;

namespace Cria.Server.Audit;

/// <summary>
/// How <c>cria serve</c> audits: the log file (<c>--audit FILE</c>, default <c>$CRIA_HOME/audit.db</c>),
/// the key that signs it (<c>$CRIA_HOME/audit.key</c>), whether prompts and outputs are kept as text
/// (<c>--audit-text</c>; by default only their SHA-256), and the retention (<c>--audit-retention 30d</c>).
/// </summary>
public sealed record AuditOptions
{
    public required string DatabasePath { get; init; }

    public required string KeyPath { get; init; }

    /// <summary>Keep the prompt and output text, not just their hashes (they are the users' data).</summary>
    public bool IncludeText { get; init; }

    /// <summary>Records older than this are pruned behind a checkpoint (at start, then hourly); null: kept forever.</summary>
    public TimeSpan? Retention { get; init; }

    /// <summary>Records that may wait for the writer; past it a request waits up to <see cref="FullWait"/>, then its record is dropped (counted, and a gap record says so).</summary>
    public int QueueCapacity { get; init; } = 8192;

    public TimeSpan FullWait { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The defaults under a data directory (<c>$CRIA_HOME</c>).</summary>
    public static AuditOptions Under(string dataDirectory, string? databasePath = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
        return new AuditOptions
        {
            DatabasePath = databasePath ?? Path.Combine(dataDirectory, AuditStore.FileName),
            KeyPath = Path.Combine(dataDirectory, AuditKey.FileName),
        };
    }

    /// <summary>"30d", "12h", "90m", "2w", "45s" → the span; null when malformed or not positive.</summary>
    public static TimeSpan? ParseDuration(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = text.Trim();
        if (text.Length < 2 || text.Length > 12 || !long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n <= 0)
        {
            return null;
        }
        double seconds = char.ToLowerInvariant(text[^1]) switch
        {
            's' => n,
            'm' => n * 60.0,
            'h' => n * 3600.0,
            'd' => n * 86400.0,
            'w' => n * 7 * 86400.0,
            _ => -1,
        };
        return seconds is > 0 and < 100L * 365 * 86400 ? TimeSpan.FromSeconds(seconds) : null;
    }

    public void Validate()
    {
        if (Retention is { } r && r <= TimeSpan.Zero)
        {
            throw new ArgumentException($"--audit-retention must be positive, got {r}");
        }
        if (QueueCapacity < 1)
        {
            throw new ArgumentException($"the audit queue must hold at least one record, got {QueueCapacity}");
        }
    }
}
