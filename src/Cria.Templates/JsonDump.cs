using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Cria.Templates;

/// <summary>
/// The <c>tojson</c> filter exactly as Hugging Face defines it for chat templates: Python's
/// <c>json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=False)</c>.
/// So keys keep insertion order, separators are <c>", "</c> and <c>": "</c> (<c>","</c> between
/// items once indented), non-ASCII text is written as is, and nothing is HTML-escaped (unlike
/// Jinja2's own tojson).
/// </summary>
internal sealed class JsonDump
{
    private readonly StringBuilder _sb = new();
    private readonly string? _indent;
    private readonly string _itemSeparator;
    private readonly string _keySeparator;
    private readonly bool _sortKeys;
    private readonly bool _ensureAscii;

    private JsonDump(string? indent, string? itemSeparator, string? keySeparator, bool sortKeys, bool ensureAscii)
    {
        _indent = indent;
        _itemSeparator = itemSeparator ?? (indent is null ? ", " : ",");
        _keySeparator = keySeparator ?? ": ";
        _sortKeys = sortKeys;
        _ensureAscii = ensureAscii;
    }

    /// <param name="indent">null for one line; otherwise the text repeated once per nesting level.</param>
    public static string Dump(Value value, string? indent = null, string? itemSeparator = null, string? keySeparator = null,
        bool sortKeys = false, bool ensureAscii = false)
    {
        var dump = new JsonDump(indent, itemSeparator, keySeparator, sortKeys, ensureAscii);
        dump.Write(value, 0);
        return dump._sb.ToString();
    }

    private void Write(Value value, int level)
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        switch (value)
        {
            case NoneValue:
                _sb.Append("null");
                break;
            case BoolValue b:
                _sb.Append(b.Value ? "true" : "false");
                break;
            case IntValue i:
                _sb.Append(i.Value.ToString(CultureInfo.InvariantCulture));
                break;
            case FloatValue f:
                _sb.Append(FloatText(f.Value));
                break;
            case StringValue s:
                WriteString(s.Value);
                break;
            case ListValue l:
                WriteContainer('[', ']', l.Items.Count, level, i => Write(l.Items[i], level + 1));
                break;
            case NamespaceValue:
                throw Errors.Runtime("Object of type Namespace is not JSON serializable");
            case DictValue d:
                List<KeyValuePair<string, Value>> pairs = [.. d.Items.Select(kv => KeyValuePair.Create(KeyText(kv.Key), kv.Value))];
                if (_sortKeys)
                {
                    pairs.Sort((x, y) => string.CompareOrdinal(x.Key, y.Key));
                }
                WriteContainer('{', '}', pairs.Count, level, i =>
                {
                    WriteString(pairs[i].Key);
                    _sb.Append(_keySeparator);
                    Write(pairs[i].Value, level + 1);
                });
                break;
            default:
                throw Errors.Runtime($"Object of type {value.TypeName} is not JSON serializable");
        }
    }

    private void WriteContainer(char open, char close, int count, int level, Action<int> writeItem)
    {
        _sb.Append(open);
        if (count == 0)
        {
            _sb.Append(close);
            return;
        }
        for (int i = 0; i < count; i++)
        {
            if (i > 0)
            {
                _sb.Append(_itemSeparator);
            }
            NewLine(level + 1);
            writeItem(i);
        }
        NewLine(level);
        _sb.Append(close);
    }

    private void NewLine(int level)
    {
        if (_indent is null)
        {
            return;
        }
        _sb.Append('\n');
        for (int i = 0; i < level; i++)
        {
            _sb.Append(_indent);
        }
    }

    /// <summary>json.dumps turns int, float, bool and None keys into strings; other keys are an error.</summary>
    private static string KeyText(Value key) => key switch
    {
        StringValue s => s.Value,
        BoolValue b => b.Value ? "true" : "false",
        IntValue i => i.Value.ToString(CultureInfo.InvariantCulture),
        FloatValue f => FloatText(f.Value),
        NoneValue => "null",
        _ => throw Errors.Runtime($"keys must be str, int, float, bool or None, not {key.TypeName}"),
    };

    private static string FloatText(double d) => double.IsNaN(d) ? "NaN"
        : double.IsPositiveInfinity(d) ? "Infinity"
        : double.IsNegativeInfinity(d) ? "-Infinity"
        : PyFormat.FloatRepr(d);

    private void WriteString(string s)
    {
        _sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"':
                    _sb.Append("\\\"");
                    break;
                case '\\':
                    _sb.Append("\\\\");
                    break;
                case '\n':
                    _sb.Append("\\n");
                    break;
                case '\r':
                    _sb.Append("\\r");
                    break;
                case '\t':
                    _sb.Append("\\t");
                    break;
                case '\b':
                    _sb.Append("\\b");
                    break;
                case '\f':
                    _sb.Append("\\f");
                    break;
                default:
                    if (c < 0x20 || (_ensureAscii && c > 0x7e))
                    {
                        _sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
                    }
                    else
                    {
                        _sb.Append(c);
                    }
                    break;
            }
        }
        _sb.Append('"');
    }
}
