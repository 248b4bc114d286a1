using Cria.Core.Inference;

namespace Cria.Server.Structured;

/// <summary>
/// Streams an answer that may contain tool calls: text is passed on as content until something that
/// may start a call appears (a <c>&lt;tool_call&gt;</c> prefix, a leading '{'), and from there held back
/// until the end, when it is parsed into calls — or released as content if it was not one.
/// Invariant: the content passed on plus what <see cref="Finish"/> returns is exactly the answer's
/// text, minus the calls' syntax.
/// </summary>
internal sealed class ToolCallStream(ToolCallFormat format)
{
    private readonly System.Text.StringBuilder _text = new();
    private int _emitted;

    /// <summary>Adds a piece; returns the content that is now safe to send (possibly empty).</summary>
    public string Push(string piece)
    {
        _text.Append(piece);
        string all = _text.ToString();
        // A JSON call is the whole answer: once content has gone out, nothing later is held.
        int hold = format == ToolCallFormat.Json && _emitted > 0 ? -1 : ToolCalls.HoldFrom(all[_emitted..], format);
        int safeEnd = hold < 0 ? all.Length : _emitted + hold;
        if (safeEnd <= _emitted)
        {
            return "";
        }
        string content = all[_emitted..safeEnd];
        _emitted = safeEnd;
        return content;
    }

    /// <summary>At the end: the held-back text as content (if it was no call) and the calls.</summary>
    public (string Content, IReadOnlyList<ParsedToolCall> Calls) Finish()
    {
        string held = _text.ToString()[_emitted..];
        _emitted = _text.Length;
        return ToolCalls.Parse(held, format);
    }
}
