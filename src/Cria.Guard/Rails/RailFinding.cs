namespace Cria.Guard.Rails;

/// <summary>
/// A finding over its check's threshold, with what that check does about it and the placeholder word it redacts with;
/// for a detector that failed (type <c>error</c>), <see cref="Error"/> says why (never the text it was given).
/// </summary>
public readonly record struct RailFinding(Finding Finding, GuardAction Action, string Label, string? Error = null);

/// <summary>
/// What a rail decided about a text: the strongest action of its findings (block &gt; route_local &gt; redact &gt; log),
/// the text with every redact finding replaced, and the findings (offsets into the original text).
/// </summary>
public sealed record RailResult(GuardAction Action, string Text, IReadOnlyList<RailFinding> Findings)
{
    public static RailResult Allowed(string text) => new(GuardAction.Allow, text, []);

    /// <summary>The first finding whose check blocks, if any.</summary>
    public RailFinding? Blocking
    {
        get
        {
            foreach (RailFinding f in Findings)
            {
                if (f.Action == GuardAction.Block)
                {
                    return f;
                }
            }
            return null;
        }
    }
}
