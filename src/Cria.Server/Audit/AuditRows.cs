using System.Globalization;

using Microsoft.Data.Sqlite;

namespace Cria.Server.Audit;

/// <summary>
/// Reads rows of <see cref="AuditStore.Columns"/> back into records. SQLite stores any value in any
/// column, so a hand-edited row may hold text where a number belongs: that is an
/// <see cref="InvalidDataException"/> naming the column, never a cast exception.
/// </summary>
internal static class AuditRows
{
    public static AuditRecord Read(SqliteDataReader r) => new()
    {
        Id = Integer(r, 0, "id") ?? throw Missing("id"),
        Kind = Text(r, 1, "kind") ?? throw Missing("kind"),
        TimeMs = Integer(r, 2, "time_ms") ?? throw Missing("time_ms"),
        Key = Text(r, 3, "key") ?? throw Missing("key"),
        Method = Text(r, 4, "method") ?? throw Missing("method"),
        Route = Text(r, 5, "route") ?? throw Missing("route"),
        Status = Int32(r, 6, "status"),
        Model = Text(r, 7, "model"),
        Adapters = Text(r, 8, "adapters"),
        PromptTokens = Int32(r, 9, "prompt_tokens"),
        CompletionTokens = Int32(r, 10, "completion_tokens"),
        LatencyMicroseconds = Integer(r, 11, "latency_us") ?? throw Missing("latency_us"),
        FinishReason = Text(r, 12, "finish"),
        FindingsJson = Text(r, 13, "findings") ?? throw Missing("findings"),
        Actions = Text(r, 14, "actions") ?? throw Missing("actions"),
        PromptSha256 = Text(r, 15, "prompt_sha256"),
        OutputSha256 = Text(r, 16, "output_sha256"),
        PromptText = Text(r, 17, "prompt_text"),
        OutputText = Text(r, 18, "output_text"),
        PrunedThrough = Integer(r, 19, "pruned_through"),
        PrunedCount = Integer(r, 20, "pruned_count"),
        PrunedHash = Text(r, 21, "pruned_hash"),
        Dropped = Integer(r, 22, "dropped"),
        Signature = Text(r, 23, "signature"),
        PrevHash = Text(r, 24, "prev_hash") ?? throw Missing("prev_hash"),
        Hash = Text(r, 25, "hash") ?? throw Missing("hash"),
    };

    /// <summary>The id of the row, for naming it when the rest cannot be read; null when even that is unreadable.</summary>
    public static long? TryId(SqliteDataReader r)
    {
        try
        {
            return Integer(r, 0, "id");
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    public static long? Integer(SqliteDataReader r, int ordinal, string column)
    {
        object value = r.GetValue(ordinal);
        return value switch
        {
            DBNull => null,
            long l => l,
            _ => throw new InvalidDataException($"column {column} holds {Describe(value)} where an integer belongs"),
        };
    }

    public static string? Text(SqliteDataReader r, int ordinal, string column)
    {
        object value = r.GetValue(ordinal);
        return value switch
        {
            DBNull => null,
            string s => s,
            _ => throw new InvalidDataException($"column {column} holds {Describe(value)} where text belongs"),
        };
    }

    private static int Int32(SqliteDataReader r, int ordinal, string column)
    {
        long value = Integer(r, ordinal, column) ?? throw Missing(column);
        return value is >= int.MinValue and <= int.MaxValue
            ? (int)value
            : throw new InvalidDataException($"column {column} holds {value.ToString(CultureInfo.InvariantCulture)}, out of range");
    }

    private static InvalidDataException Missing(string column) => new($"column {column} is NULL");

    private static string Describe(object value) => value switch
    {
        byte[] bytes => $"a blob of {bytes.Length} bytes",
        double d => $"the real number {d.ToString(CultureInfo.InvariantCulture)}",
        string s => $"the text \"{(s.Length > 40 ? s[..40] + "…" : s)}\"",
        long l => $"the integer {l.ToString(CultureInfo.InvariantCulture)}",
        _ => value.GetType().Name,
    };
}
