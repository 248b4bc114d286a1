using System.Text;
using System.Text.Json;

namespace Cria.Core.Inference;

/// <summary>How a model writes tool calls, read from its chat template.</summary>
public enum ToolCallFormat
{
    /// <summary>Hermes / Qwen 2.5: <c>&lt;tool_call&gt;{"name": …, "arguments": {…}}&lt;/tool_call&gt;</c>, one block per call.</summary>
    Hermes,

    /// <summary>Mistral: <c>[TOOL_CALLS] [{"name": …, "arguments": {…}}, …]</c>.</summary>
    Mistral,

    /// <summary>
    /// Llama 3.x: the whole answer is <c>{"name": …, "parameters": {…}}</c> (or "arguments"), possibly after
    /// <c>&lt;|python_tag|&gt;</c>; several calls separated by ';' are accepted. Also the fallback for templates
    /// that render tools without a recognisable call syntax.
    /// </summary>
    Json,
}

/// <summary>A call the model asked for: the function's name and its arguments as a JSON object text.</summary>
public sealed record ParsedToolCall(string Name, string ArgumentsJson);

/// <summary>
/// Finds tool calls in a model's output (llama.cpp's chat parsers and vLLM's tool parsers cover the
/// same formats; this is our own code). Text that is not a well-formed call is left as content: a
/// malformed call is never half-reported.
/// </summary>
public static class ToolCalls
{
    private const string HermesOpen = "<tool_call>";
    private const string HermesClose = "</tool_call>";
    private const string MistralMarker = "[TOOL_CALLS]";
    private const string PythonTag = "<|python_tag|>";

    /// <summary>The format a template's tool-call syntax implies.</summary>
    public static ToolCallFormat DetectFormat(string templateSource)
    {
        ArgumentNullException.ThrowIfNull(templateSource);
        if (templateSource.Contains(HermesOpen, StringComparison.Ordinal))
        {
            return ToolCallFormat.Hermes;
        }
        if (templateSource.Contains(MistralMarker, StringComparison.Ordinal))
        {
            return ToolCallFormat.Mistral;
        }
        return ToolCallFormat.Json;
    }

    /// <summary>
    /// Where a tool call may begin in <paramref name="text"/> (the output so far): the index from which
    /// text must be held back while streaming, or -1 when everything is plain content.
    /// </summary>
    public static int HoldFrom(string text, ToolCallFormat format)
    {
        ArgumentNullException.ThrowIfNull(text);
        switch (format)
        {
            case ToolCallFormat.Hermes:
                return MarkerStart(text, HermesOpen);
            case ToolCallFormat.Mistral:
                return MarkerStart(text, MistralMarker);
            default:
                // A JSON call is the whole answer: hold while the answer (past leading space) starts like one.
                int first = 0;
                while (first < text.Length && char.IsWhiteSpace(text[first]))
                {
                    first++;
                }
                if (first == text.Length)
                {
                    return 0;
                }
                string rest = text[first..];
                return rest[0] == '{' || PythonTag.StartsWith(rest, StringComparison.Ordinal) || rest.StartsWith(PythonTag, StringComparison.Ordinal) ? 0 : -1;
        }
    }

    /// <summary>The first index where <paramref name="marker"/> occurs, or where a prefix of it ends the text; -1 if neither.</summary>
    private static int MarkerStart(string text, string marker)
    {
        int at = text.IndexOf(marker, StringComparison.Ordinal);
        if (at >= 0)
        {
            return at;
        }
        for (int keep = Math.Min(marker.Length - 1, text.Length); keep > 0; keep--)
        {
            if (text.AsSpan(text.Length - keep).SequenceEqual(marker.AsSpan(0, keep)))
            {
                return text.Length - keep;
            }
        }
        return -1;
    }

    /// <summary>
    /// Splits a finished answer into content and tool calls. When the call syntax is malformed the
    /// whole text is content and no call is returned.
    /// </summary>
    public static (string Content, IReadOnlyList<ParsedToolCall> Calls) Parse(string text, ToolCallFormat format)
    {
        ArgumentNullException.ThrowIfNull(text);
        var calls = new List<ParsedToolCall>();
        switch (format)
        {
            case ToolCallFormat.Hermes:
                {
                    int at = text.IndexOf(HermesOpen, StringComparison.Ordinal);
                    if (at < 0)
                    {
                        return (text, calls);
                    }
                    var content = new StringBuilder(text[..at]);
                    int pos = at;
                    while (pos < text.Length)
                    {
                        int open = text.IndexOf(HermesOpen, pos, StringComparison.Ordinal);
                        if (open < 0)
                        {
                            content.Append(text.AsSpan(pos));
                            break;
                        }
                        content.Append(text.AsSpan(pos, open - pos));
                        int bodyStart = open + HermesOpen.Length;
                        int close = text.IndexOf(HermesClose, bodyStart, StringComparison.Ordinal);
                        string body = close < 0 ? text[bodyStart..] : text[bodyStart..close];
                        if (!TryCall(body, calls))
                        {
                            return (text, []);
                        }
                        pos = close < 0 ? text.Length : close + HermesClose.Length;
                    }
                    return (content.ToString().Trim(), calls);
                }
            case ToolCallFormat.Mistral:
                {
                    int at = text.IndexOf(MistralMarker, StringComparison.Ordinal);
                    if (at < 0)
                    {
                        return (text, calls);
                    }
                    string body = text[(at + MistralMarker.Length)..].Trim();
                    if (!TryCallArray(body, calls))
                    {
                        return (text, []);
                    }
                    return (text[..at].Trim(), calls);
                }
            default:
                {
                    string body = text.Trim();
                    if (body.StartsWith(PythonTag, StringComparison.Ordinal))
                    {
                        body = body[PythonTag.Length..].Trim();
                    }
                    if (!body.StartsWith('{'))
                    {
                        return (text, calls);
                    }
                    // One object, or several separated by ';' (Llama 3.1's multi-call form).
                    foreach (string part in SplitTopLevel(body, ';'))
                    {
                        if (!TryCall(part, calls))
                        {
                            return (text, []);
                        }
                    }
                    return ("", calls);
                }
        }
    }

    private static bool TryCallArray(string json, List<ParsedToolCall> calls)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
            if (doc.RootElement.ValueKind != JsonValueKind.Array)
            {
                return TryCall(json, calls);
            }
            foreach (JsonElement item in doc.RootElement.EnumerateArray())
            {
                if (!TryElement(item, calls))
                {
                    return false;
                }
            }
            return calls.Count > 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool TryCall(string json, List<ParsedToolCall> calls)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(json.Trim(), new JsonDocumentOptions { MaxDepth = 64 });
            return TryElement(doc.RootElement, calls);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>{"name": "f", "arguments" | "parameters": {...} or a JSON string of one}.</summary>
    private static bool TryElement(JsonElement call, List<ParsedToolCall> calls)
    {
        if (call.ValueKind != JsonValueKind.Object
            || !call.TryGetProperty("name", out JsonElement name) || name.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(name.GetString()))
        {
            return false;
        }
        JsonElement args = call.TryGetProperty("arguments", out JsonElement a) ? a
            : call.TryGetProperty("parameters", out JsonElement p) ? p
            : default;
        string argsJson;
        switch (args.ValueKind)
        {
            case JsonValueKind.Undefined:
            case JsonValueKind.Null:
                argsJson = "{}";
                break;
            case JsonValueKind.Object:
                argsJson = args.GetRawText();
                break;
            case JsonValueKind.String:
                // Some models write the arguments as a JSON string; it must hold an object.
                try
                {
                    using JsonDocument inner = JsonDocument.Parse(args.GetString()!);
                    if (inner.RootElement.ValueKind != JsonValueKind.Object)
                    {
                        return false;
                    }
                    argsJson = inner.RootElement.GetRawText();
                }
                catch (JsonException)
                {
                    return false;
                }
                break;
            default:
                return false;
        }
        calls.Add(new ParsedToolCall(name.GetString()!, argsJson));
        return true;
    }

    /// <summary>Splits on <paramref name="separator"/> outside JSON strings, objects and arrays.</summary>
    private static List<string> SplitTopLevel(string text, char separator)
    {
        var parts = new List<string>();
        int depth = 0;
        bool inString = false;
        int start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (inString)
            {
                if (c == '\\')
                {
                    i++;
                }
                else if (c == '"')
                {
                    inString = false;
                }
                continue;
            }
            switch (c)
            {
                case '"':
                    inString = true;
                    break;
                case '{' or '[':
                    depth++;
                    break;
                case '}' or ']':
                    depth--;
                    break;
                default:
                    if (c == separator && depth == 0)
                    {
                        parts.Add(text[start..i]);
                        start = i + 1;
                    }
                    break;
            }
        }
        string last = text[start..];
        if (last.Trim().Length > 0 || parts.Count == 0)
        {
            parts.Add(last);
        }
        return parts;
    }
}
