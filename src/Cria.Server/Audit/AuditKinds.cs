namespace Cria.Server.Audit;

/// <summary>The kinds of audit records.</summary>
public static class AuditKinds
{
    /// <summary>One HTTP request, on any route.</summary>
    public const string Request = "request";

    /// <summary>Retention pruned the records before it: carries the last pruned record's id and hash, signed.</summary>
    public const string Checkpoint = "checkpoint";

    /// <summary>Records that were dropped (queue full, or a failed write) and are therefore missing; carries how many.</summary>
    public const string Gap = "gap";
}
