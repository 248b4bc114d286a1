using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Cria.Grammar;

/// <summary>
/// Compact JSON text of a value, written the way a grammar expects a model to write it: no whitespace,
/// strings escaped only where JSON requires (<c>"</c>, <c>\</c>, control characters), non-ASCII as is,
/// numbers as they were written.
/// </summary>
internal static class JsonText
{
    public static string Compact(JsonElement value)
    {
        var sb = new StringBuilder();
        Write(sb, value);
        return sb.ToString();
    }

    /// <summary>A JSON string literal (quotes included) for <paramref name="text"/>.</summary>
    public static string Quote(string text)
    {
        var sb = new StringBuilder(text.Length + 2);
        WriteString(sb, text);
        return sb.ToString();
    }

    /// <summary>The characters between the quotes of <see cref="Quote"/>.</summary>
    public static string Escape(string text)
    {
        string quoted = Quote(text);
        return quoted[1..^1];
    }

    private static void Write(StringBuilder sb, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                sb.Append('{');
                bool first = true;
                foreach (JsonProperty p in value.EnumerateObject())
                {
                    if (!first)
                    {
                        sb.Append(',');
                    }
                    first = false;
                    WriteString(sb, p.Name);
                    sb.Append(':');
                    Write(sb, p.Value);
                }
                sb.Append('}');
                break;
            case JsonValueKind.Array:
                sb.Append('[');
                bool firstItem = true;
                foreach (JsonElement item in value.EnumerateArray())
                {
                    if (!firstItem)
                    {
                        sb.Append(',');
                    }
                    firstItem = false;
                    Write(sb, item);
                }
                sb.Append(']');
                break;
            case JsonValueKind.String:
                WriteString(sb, value.GetString()!);
                break;
            default:
                sb.Append(value.GetRawText()); // numbers, true, false, null
                break;
        }
    }

    private static void WriteString(StringBuilder sb, string text)
    {
        sb.Append('"');
        foreach (char c in text)
        {
            switch (c)
            {
                case '"':
                    sb.Append("\\\"");
                    break;
                case '\\':
                    sb.Append("\\\\");
                    break;
                case '\n':
                    sb.Append("\\n");
                    break;
                case '\r':
                    sb.Append("\\r");
                    break;
                case '\t':
                    sb.Append("\\t");
                    break;
                case '\b':
                    sb.Append("\\b");
                    break;
                case '\f':
                    sb.Append("\\f");
                    break;
                case < ' ':
                    sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
