namespace Cria.Server.Audit;

/// <summary>
/// One row of the audit log. <see cref="Id"/>, <see cref="PrevHash"/>, <see cref="Hash"/> (and a
/// checkpoint's <see cref="Signature"/>) are set by the store when the record is appended; everything
/// else is the request's facts. Times are Unix milliseconds and the latency microseconds, integers,
/// so the canonical encoding (see <see cref="AuditChain"/>) is exact.
/// </summary>
public sealed record AuditRecord
{
    public long Id { get; init; }

    public string Kind { get; init; } = AuditKinds.Request;

    /// <summary>When the request arrived, Unix milliseconds (UTC).</summary>
    public long TimeMs { get; init; }

    /// <summary>The API key's name ("-" without one, or when authentication failed); never the secret.</summary>
    public string Key { get; init; } = "-";

    public string Method { get; init; } = "";

    public string Route { get; init; } = "";

    public int Status { get; init; }

    public string? Model { get; init; }

    /// <summary>LoRA adapters the generation ran with, comma-separated.</summary>
    public string? Adapters { get; init; }

    public int PromptTokens { get; init; }

    public int CompletionTokens { get; init; }

    public long LatencyMicroseconds { get; init; }

    /// <summary>stop, length, cancelled, error (generations only).</summary>
    public string? FinishReason { get; init; }

    /// <summary>The guard findings as a JSON array (<see cref="AuditFindings"/>), exactly as stored and hashed.</summary>
    public string FindingsJson { get; init; } = "[]";

    /// <summary>The distinct actions the guard took, comma-separated ("" when none).</summary>
    public string Actions { get; init; } = "";

    /// <summary>SHA-256 (hex) of the prompt as the model saw it (the rendered chat template), UTF-8.</summary>
    public string? PromptSha256 { get; init; }

    /// <summary>SHA-256 (hex) of the text the generation produced, UTF-8.</summary>
    public string? OutputSha256 { get; init; }

    /// <summary>The prompt itself, only with <c>--audit-text</c>.</summary>
    public string? PromptText { get; init; }

    /// <summary>The output itself, only with <c>--audit-text</c>.</summary>
    public string? OutputText { get; init; }

    /// <summary>Checkpoint: the id of the last record pruned (every id up to it is gone).</summary>
    public long? PrunedThrough { get; init; }

    /// <summary>Checkpoint: how many records this pruning removed.</summary>
    public long? PrunedCount { get; init; }

    /// <summary>Checkpoint: the hash of the last record pruned, which the first record kept names as its predecessor.</summary>
    public string? PrunedHash { get; init; }

    /// <summary>Gap: how many records were lost before this one.</summary>
    public long? Dropped { get; init; }

    /// <summary>Checkpoint: HMAC-SHA-256 (hex) of the record under the log's key.</summary>
    public string? Signature { get; init; }

    public string PrevHash { get; init; } = "";

    public string Hash { get; init; } = "";

    public DateTimeOffset Time => DateTimeOffset.FromUnixTimeMilliseconds(TimeMs);
}
