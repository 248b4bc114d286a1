using System.Text;

using Cria.Guard.Policy;

namespace Cria.Guard.Rails;

/// <summary>
/// A stage's checks run over one text: every detector's findings at or above its check's threshold, each tagged
/// with the check's action; the result's action is the strongest, and its text has each redact finding replaced
/// by the request's placeholder (overlapping spans merged, the first one's label kept). Stateless and shared.
/// </summary>
public sealed class Rail(GuardStage stage, IReadOnlyList<GuardCheck> checks)
{
    public static readonly Rail Empty = new(GuardStage.Input, []);

    public GuardStage Stage => stage;

    public IReadOnlyList<GuardCheck> Checks => checks;

    public bool IsEmpty => checks.Count == 0;

    /// <summary>Whether every detector runs synchronously (then <see cref="Scan"/> may be used; else <see cref="ScanAsync"/>).</summary>
    public bool IsSynchronous => checks.All(c => c.Detector.IsSynchronous);

    /// <summary>The findings over threshold, ordered by start.</summary>
    public List<RailFinding> Scan(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var found = new List<RailFinding>();
        var scratch = new List<Finding>();
        foreach (GuardCheck check in checks)
        {
            scratch.Clear();
            check.Detector.Detect(text, scratch);
            Keep(check, scratch, found);
        }
        found.Sort(static (a, b) => a.Finding.Start != b.Finding.Start ? a.Finding.Start.CompareTo(b.Finding.Start) : b.Finding.End.CompareTo(a.Finding.End));
        return found;
    }

    /// <summary>As <see cref="Scan"/>, awaiting detectors that must be; a detector that throws is a finding of type <c>error</c> over the whole text that blocks unless its check says <c>on_error: allow</c>.</summary>
    public async Task<List<RailFinding>> ScanAsync(string text, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(text);
        var found = new List<RailFinding>();
        var scratch = new List<Finding>();
        foreach (GuardCheck check in checks)
        {
            scratch.Clear();
            try
            {
                await check.Detector.DetectAsync(text, scratch, cancel).ConfigureAwait(false);
            }
            catch (Exception e) when (!cancel.IsCancellationRequested)
            {
                found.Add(new RailFinding(new Finding(check.Detector.Name, "error", 0, text.Length, 1.0), check.OnErrorBlocks ? GuardAction.Block : GuardAction.Log, "REDACTED", e.Message));
                continue;
            }
            Keep(check, scratch, found);
        }
        found.Sort(static (a, b) => a.Finding.Start.CompareTo(b.Finding.Start));
        return found;
    }

    private static void Keep(GuardCheck check, List<Finding> scratch, List<RailFinding> found)
    {
        foreach (Finding f in scratch)
        {
            if (f.Score >= check.Threshold && f.End > f.Start)
            {
                found.Add(new RailFinding(f, check.Action, check.Detector.Label(f.Type)));
            }
        }
    }

    public RailResult Evaluate(string text, Redactor redactor)
    {
        List<RailFinding> found = Scan(text);
        return Decide(text, found, redactor);
    }

    public async Task<RailResult> EvaluateAsync(string text, Redactor redactor, CancellationToken cancel) =>
        Decide(text, await ScanAsync(text, cancel).ConfigureAwait(false), redactor);

    private static RailResult Decide(string text, List<RailFinding> found, Redactor redactor)
    {
        if (found.Count == 0)
        {
            return RailResult.Allowed(text);
        }
        GuardAction action = GuardAction.Allow;
        foreach (RailFinding f in found)
        {
            action = f.Action > action ? f.Action : action;
        }
        return new RailResult(action, Redact(text, 0, text.Length, found, redactor), found);
    }

    /// <summary>
    /// text[from..to) with each redact finding inside it replaced by its placeholder; findings reaching outside the
    /// range are cut to it. Overlapping findings are merged into one span named by the first.
    /// </summary>
    public static string Redact(string text, int from, int to, IReadOnlyList<RailFinding> findings, Redactor redactor)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(findings);
        ArgumentNullException.ThrowIfNull(redactor);
        StringBuilder? sb = null;
        int at = from;
        for (int i = 0; i < findings.Count; i++)
        {
            RailFinding f = findings[i];
            if (f.Action != GuardAction.Redact)
            {
                continue;
            }
            int start = Math.Max(f.Finding.Start, at);
            int end = Math.Min(f.Finding.End, to);
            // Merge the redact findings that overlap this one.
            for (int j = i + 1; j < findings.Count && findings[j].Finding.Start < end; j++)
            {
                if (findings[j].Action == GuardAction.Redact)
                {
                    end = Math.Min(Math.Max(end, findings[j].Finding.End), to);
                }
            }
            if (start >= end)
            {
                continue;
            }
            sb ??= new StringBuilder(to - from);
            sb.Append(text, at, start - at);
            sb.Append(redactor.Placeholder(f.Label, text.AsSpan(start, end - start)));
            at = end;
        }
        if (sb is null)
        {
            return from == 0 && to == text.Length ? text : text[from..to];
        }
        sb.Append(text, at, to - at);
        return sb.ToString();
    }
}
