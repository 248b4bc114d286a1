using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Cria.Templates;

/// <summary>
/// Jinja2's built-in filters that chat templates use, with Jinja2's argument names and defaults, plus
/// Hugging Face's <c>tojson</c>. Scalar and string filters live here; the ones over sequences in
/// Filters.Collections.cs.
/// </summary>
internal static partial class Filters
{
    private static readonly Dictionary<string, Func<Interpreter, Value, Arguments, Value>> s_filters = Build();

    private static Dictionary<string, Func<Interpreter, Value, Arguments, Value>> Build()
    {
        var filters = new Dictionary<string, Func<Interpreter, Value, Arguments, Value>>(StringComparer.Ordinal)
        {
            ["abs"] = Abs,
            ["attr"] = (_, v, a) => Interpreter.GetAttribute(v, Text(a.Bind("attr", "name")[0], "attr")),
            ["capitalize"] = (_, v, a) => Str(StringMethods.Capitalize(Soft(v))),
            ["center"] = (_, v, a) => Str(StringMethods.Center(Soft(v), (int)Int(a.Bind("center", "width")[0], 80))),
            ["default"] = Default,
            ["d"] = Default,
            ["escape"] = (_, v, _) => Str(Escape(Soft(v))),
            ["e"] = (_, v, _) => Str(Escape(Soft(v))),
            ["float"] = ToFloat,
            ["format"] = (_, v, a) => Str(PercentFormat.Format(Soft(v), a.Named.Count > 0
                ? new DictValue(new OrderedDictionary<Value, Value>(a.Named.Select(kv => KeyValuePair.Create<Value, Value>(Str(kv.Key), kv.Value))))
                : new ListValue(a.Positional, isTuple: true))),
            ["indent"] = Indent,
            ["int"] = ToInt,
            ["lower"] = (_, v, _) => Str(Soft(v).ToLowerInvariant()),
            ["upper"] = (_, v, _) => Str(Soft(v).ToUpperInvariant()),
            ["replace"] = Replace,
            ["round"] = Round,
            ["safe"] = (_, v, _) => v,
            ["string"] = (_, v, _) => v is StringValue ? v : Str(v.ToString()),
            ["title"] = (_, v, _) => Str(Title(Soft(v))),
            ["tojson"] = ToJson,
            ["trim"] = (_, v, a) => Str(StringMethods.Strip(Soft(v), Optional(a.Bind("trim", "chars")[0]), "strip")),
            ["truncate"] = Truncate,
            ["wordcount"] = (_, v, _) => IntValue.Of(Regex.Count(Soft(v), @"\w+")),
            ["pprint"] = (_, v, _) => Str(v.Repr()),
        };
        AddCollectionFilters(filters);
        return filters;
    }

    public static bool TryGet(string name, [MaybeNullWhen(false)] out Func<Interpreter, Value, Arguments, Value> filter) =>
        s_filters.TryGetValue(name, out filter);

    public static bool Exists(string name) => s_filters.ContainsKey(name);

    private static StringValue Str(string s) => StringValue.Of(s);

    /// <summary>Jinja's soft_str: undefined is "", everything else its str().</summary>
    private static string Soft(Value v) => v.ToString();

    private static string Text(Value? v, string filter) =>
        v is StringValue s ? s.Value : throw Errors.Runtime($"{filter}: expected a string argument, got {v?.TypeName ?? "nothing"}");

    private static string? Optional(Value? v) => v is null or NoneValue ? null : v.ToString();

    private static long Int(Value? v, long fallback) => v is null ? fallback : ValueOps.ToLong(v);

    private static Value Abs(Interpreter interpreter, Value v, Arguments a) => v switch
    {
        FloatValue f => new FloatValue(Math.Abs(f.Value)),
        IntValue or BoolValue => IntValue.Of(checked(Math.Abs(ValueOps.ToLong(v)))),
        _ => throw Errors.Runtime($"bad operand type for abs(): '{v.TypeName}'"),
    };

    /// <summary><c>default(value='', boolean=false)</c>: replaces undefined, or any falsy value when <c>boolean</c>.</summary>
    private static Value Default(Interpreter interpreter, Value v, Arguments a)
    {
        Value?[] args = a.Bind("default", "default_value", "boolean");
        bool boolean = args[1]?.IsTrue ?? false;
        return v is UndefinedValue || (boolean && !v.IsTrue) ? args[0] ?? StringValue.Empty : v;
    }

    private static string Escape(string s) => s
        .Replace("&", "&amp;", StringComparison.Ordinal)
        .Replace("<", "&lt;", StringComparison.Ordinal)
        .Replace(">", "&gt;", StringComparison.Ordinal)
        .Replace("\"", "&#34;", StringComparison.Ordinal)
        .Replace("'", "&#39;", StringComparison.Ordinal);

    private static Value ToFloat(Interpreter interpreter, Value v, Arguments a)
    {
        Value fallback = a.Bind("float", "default")[0] ?? new FloatValue(0);
        return v switch
        {
            FloatValue => v,
            IntValue or BoolValue => new FloatValue(ValueOps.ToDouble(v)),
            StringValue s when TryParseFloat(s.Value, out double d) => new FloatValue(d),
            _ => fallback,
        };
    }

    private static bool TryParseFloat(string s, out double d)
    {
        string t = s.Trim().Replace("_", "", StringComparison.Ordinal);
        switch (t.ToLowerInvariant())
        {
            case "inf" or "+inf" or "infinity" or "+infinity":
                d = double.PositiveInfinity;
                return true;
            case "-inf" or "-infinity":
                d = double.NegativeInfinity;
                return true;
            case "nan" or "+nan" or "-nan":
                d = double.NaN;
                return true;
            default:
                return double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out d);
        }
    }

    /// <summary><c>int(default=0, base=10)</c>: strings parse in the base ("0x" prefixes allowed), else as a float and truncate.</summary>
    private static Value ToInt(Interpreter interpreter, Value v, Arguments a)
    {
        Value?[] args = a.Bind("int", "default", "base");
        Value fallback = args[0] ?? IntValue.Of(0);
        int numberBase = (int)Int(args[1], 10);
        switch (v)
        {
            case IntValue:
                return v;
            case BoolValue:
                return IntValue.Of(ValueOps.ToLong(v));
            case FloatValue f:
                return double.IsFinite(f.Value) && Math.Abs(f.Value) < 9.2e18 ? IntValue.Of((long)Math.Truncate(f.Value)) : fallback;
            case StringValue s:
                string t = s.Value.Trim().Replace("_", "", StringComparison.Ordinal);
                if (TryParseInt(t, numberBase, out long n))
                {
                    return IntValue.Of(n);
                }
                if (numberBase == 10 && TryParseFloat(t, out double d) && double.IsFinite(d) && Math.Abs(d) < 9.2e18)
                {
                    return IntValue.Of((long)Math.Truncate(d));
                }
                return fallback;
            default:
                return fallback;
        }
    }

    private static bool TryParseInt(string t, int numberBase, out long n)
    {
        n = 0;
        bool negative = t.StartsWith('-');
        string digits = t.TrimStart('+', '-');
        if (numberBase is 0 or 16 && digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            (numberBase, digits) = (16, digits[2..]);
        }
        else if (numberBase is 0 or 8 && digits.StartsWith("0o", StringComparison.OrdinalIgnoreCase))
        {
            (numberBase, digits) = (8, digits[2..]);
        }
        else if (numberBase is 0 or 2 && digits.StartsWith("0b", StringComparison.OrdinalIgnoreCase))
        {
            (numberBase, digits) = (2, digits[2..]);
        }
        numberBase = numberBase == 0 ? 10 : numberBase;
        if (digits.Length == 0 || numberBase is < 2 or > 36)
        {
            return false;
        }
        foreach (char c in digits)
        {
            int digit = char.IsAsciiDigit(c) ? c - '0' : char.IsAsciiLetter(c) ? char.ToLowerInvariant(c) - 'a' + 10 : 99;
            if (digit >= numberBase)
            {
                return false;
            }
            try
            {
                n = checked((n * numberBase) + digit);
            }
            catch (OverflowException)
            {
                return false;
            }
        }
        n = negative ? -n : n;
        return true;
    }

    /// <summary>Jinja2's indent: every line but the first (unless <c>first</c>), blank lines only when <c>blank</c>.</summary>
    private static Value Indent(Interpreter interpreter, Value v, Arguments a)
    {
        Value?[] args = a.Bind("indent", "width", "first", "blank");
        string indent = args[0] is StringValue w ? w.Value : new string(' ', (int)Int(args[0], 4));
        bool first = args[1]?.IsTrue ?? false;
        bool blank = args[2]?.IsTrue ?? false;
        List<string> lines = StringMethods.SplitLines(Soft(v) + "\n", keepEnds: false);
        var sb = new StringBuilder();
        for (int i = 0; i < lines.Count; i++)
        {
            if (i > 0)
            {
                sb.Append('\n');
                if (blank || lines[i].Length > 0)
                {
                    sb.Append(indent);
                }
            }
            sb.Append(lines[i]);
        }
        string result = sb.ToString();
        return Str(first ? indent + result : result);
    }

    private static Value Replace(Interpreter interpreter, Value v, Arguments a)
    {
        Value?[] args = a.Bind("replace", "old", "new", "count");
        string s = Soft(v);
        string old = Soft(args[0] ?? StringValue.Empty);
        string replacement = Soft(args[1] ?? StringValue.Empty);
        long count = args[2] is null or NoneValue ? -1 : ValueOps.ToLong(args[2]!);
        if (old.Length > 0 && replacement.Length > old.Length)
        {
            interpreter.CheckSize(s.Length / old.Length * (long)replacement.Length);
        }
        return Str(StringMethods.Replace(s, old, replacement, count));
    }

    /// <summary><c>round(precision=0, method='common')</c>; 'common' is Python's round (half to even), the result is always a float.</summary>
    private static Value Round(Interpreter interpreter, Value v, Arguments a)
    {
        Value?[] args = a.Bind("round", "precision", "method");
        int precision = (int)Int(args[0], 0);
        string method = args[1] is StringValue m ? m.Value : "common";
        double x = ValueOps.ToDouble(v);
        double scale = Math.Pow(10, precision);
        double result = method switch
        {
            "common" => Math.Round(x, Math.Clamp(precision, 0, 15), MidpointRounding.ToEven),
            "floor" => Math.Floor(x * scale) / scale,
            "ceil" => Math.Ceiling(x * scale) / scale,
            _ => throw Errors.Runtime("method must be 'common', 'ceil' or 'floor'"),
        };
        return new FloatValue(result);
    }

    /// <summary>Jinja2's title filter: capitalize each run split at spaces, hyphens and opening brackets (so "bill's" → "Bill's").</summary>
    private static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool atStart = true;
        foreach (char c in s)
        {
            bool separator = char.IsWhiteSpace(c) || c is '-' or '(' or '{' or '[' or '<';
            sb.Append(separator ? c : atStart ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c));
            atStart = separator;
        }
        return sb.ToString();
    }

    /// <summary>Hugging Face's tojson: <c>tojson(indent=None, ensure_ascii=False, separators=None, sort_keys=False)</c>.</summary>
    private static Value ToJson(Interpreter interpreter, Value v, Arguments a)
    {
        Value?[] args = a.Bind("tojson", "indent", "ensure_ascii", "separators", "sort_keys");
        string? indent = args[0] switch
        {
            null or NoneValue => null,
            StringValue s => s.Value,
            Value n => new string(' ', (int)Math.Max(0, ValueOps.ToLong(n))),
        };
        string? itemSeparator = null;
        string? keySeparator = null;
        if (args[2] is ListValue { Items.Count: 2 } separators)
        {
            itemSeparator = separators.Items[0].ToString();
            keySeparator = separators.Items[1].ToString();
        }
        string json = JsonDump.Dump(v, indent, itemSeparator, keySeparator, args[3]?.IsTrue ?? false, args[1]?.IsTrue ?? false);
        interpreter.CheckSize(json.Length);
        return Str(json);
    }

    /// <summary><c>truncate(length=255, killwords=False, end='...', leeway=5)</c>.</summary>
    private static Value Truncate(Interpreter interpreter, Value v, Arguments a)
    {
        Value?[] args = a.Bind("truncate", "length", "killwords", "end", "leeway");
        string s = Soft(v);
        int length = (int)Int(args[0], 255);
        bool killWords = args[1]?.IsTrue ?? false;
        string end = args[2] is null ? "..." : Soft(args[2]!);
        int leeway = (int)Int(args[3], 5);
        if (length < end.Length)
        {
            throw Errors.Runtime($"expected length >= {end.Length}, got {length}");
        }
        if (PyString.Length(s) <= length + leeway)
        {
            return Str(s);
        }
        string head = PyString.Slice(s, 0, length - end.Length, null);
        if (!killWords)
        {
            int space = head.LastIndexOf(' ');
            head = space >= 0 ? head[..space] : head;
        }
        return Str(head + end);
    }
}
