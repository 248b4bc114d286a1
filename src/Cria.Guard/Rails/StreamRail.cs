using System.Text;

namespace Cria.Guard.Rails;

/// <summary>
/// An output rail over a stream: pieces go in as the model writes them, and only text no check would block or
/// redact comes out. Invariant: the last <see cref="HoldBack"/> characters written (and any finding that reaches
/// into them) are never released before the text after them is known, every released character was scanned
/// inside a window reaching <see cref="HoldBack"/> characters past it (or the end of the stream), and released
/// findings are redacted with the request's placeholders. Once a blocking finding is seen nothing more is released.
/// A finding longer than the hold-back window is caught by its beginning (a key's header, a JWT's first segments).
/// Scans run only when the pending text has grown by half a window, so their cost is amortised over many pieces.
/// </summary>
public sealed class StreamRail
{
    private readonly Rail _rail;
    private readonly Redactor _redactor;
    private readonly StringBuilder _text = new();
    private readonly List<RailFinding> _released = [];
    private int _sent;

    public StreamRail(Rail rail, Redactor redactor, int holdBack)
    {
        ArgumentNullException.ThrowIfNull(rail);
        ArgumentNullException.ThrowIfNull(redactor);
        ArgumentOutOfRangeException.ThrowIfLessThan(holdBack, 1);
        _rail = rail;
        _redactor = redactor;
        HoldBack = holdBack;
    }

    public int HoldBack { get; }

    /// <summary>The finding that stopped the stream, once one did.</summary>
    public RailFinding? Blocked { get; private set; }

    /// <summary>Findings in released text (and the blocking one), offsets into the whole stream's text.</summary>
    public IReadOnlyList<RailFinding> Findings => _released;

    /// <summary>Characters written so far.</summary>
    public int Length => _text.Length;

    /// <summary>Adds a piece; returns the text that may now be sent (often empty: it is held back).</summary>
    public string Push(string piece)
    {
        ArgumentNullException.ThrowIfNull(piece);
        if (Blocked is not null)
        {
            return "";
        }
        _text.Append(piece);
        if (_text.Length - _sent < HoldBack + Math.Max(1, HoldBack / 2))
        {
            return "";
        }
        return Release(final: false);
    }

    /// <summary>The stream ended: scans what is left and returns what may be sent of it (empty when blocked).</summary>
    public string Finish() => Blocked is not null ? "" : Release(final: true);

    private string Release(bool final)
    {
        int end = _text.Length;
        int windowStart = Math.Max(0, _sent - HoldBack);
        string window = _text.ToString(windowStart, end - windowStart);
        List<RailFinding> found = _rail.Scan(window);
        int releaseTo = final ? end : end - HoldBack;
        var shifted = new List<RailFinding>(found.Count);
        var local = new List<RailFinding>(found.Count);
        foreach (RailFinding f in found)
        {
            var g = f with { Finding = f.Finding with { Start = f.Finding.Start + windowStart, End = f.Finding.End + windowStart } };
            if (g.Finding.End <= _sent)
            {
                continue; // already released, and already counted when it was
            }
            if (g.Action == GuardAction.Block)
            {
                Blocked = g;
                _released.Add(g);
                return "";
            }
            shifted.Add(g);
            local.Add(f);
        }
        // A finding that is not yet whole (it reaches into the held-back text) keeps everything from its start back.
        foreach (RailFinding g in shifted)
        {
            if (g.Action == GuardAction.Redact && g.Finding.Start < releaseTo && g.Finding.End > releaseTo)
            {
                releaseTo = Math.Max(_sent, g.Finding.Start);
            }
        }
        if (releaseTo <= _sent)
        {
            return "";
        }
        foreach (RailFinding g in shifted)
        {
            if (g.Finding.Start < releaseTo)
            {
                _released.Add(g);
            }
        }
        string output = Rail.Redact(window, _sent - windowStart, releaseTo - windowStart, local, _redactor);
        _sent = releaseTo;
        return output;
    }
}
