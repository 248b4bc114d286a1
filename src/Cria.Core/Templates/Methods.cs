using System.Globalization;
using System.Text;

namespace Cria.Core.Templates;

/// <summary>
/// Python methods templates call on values: <c>content.strip()</c>, <c>role.title()</c>,
/// <c>text.split('&lt;/think&gt;')</c>, <c>d.items()</c>, <c>d.get(k, default)</c>. Attribute access
/// finds these before dict keys, as in Jinja2 (so <c>d.items</c> is the method, never the key "items").
/// <c>list.append</c> is allowed (llama.cpp's engines allow it; Hugging Face's sandbox does not).
/// </summary>
internal static class Methods
{
    private static readonly HashSet<string> s_stringMethods =
    [
        "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith", "endswith", "upper", "lower",
        "title", "capitalize", "swapcase", "replace", "find", "rfind", "index", "rindex", "count", "join", "format",
        "isdigit", "isdecimal", "isnumeric", "isalpha", "isalnum", "isspace", "isupper", "islower",
        "removeprefix", "removesuffix", "center", "ljust", "rjust", "zfill",
    ];

    public static FunctionValue? TryBind(Value target, string name)
    {
        switch (target)
        {
            case StringValue s when s_stringMethods.Contains(name):
                return new FunctionValue("str." + name, (_, args) => CallString(s.Value, name, args));
            case NamespaceValue:
                return null;
            case DictValue d when name is "items" or "keys" or "values" or "get" or "copy":
                return new FunctionValue("dict." + name, (_, args) => CallDict(d, name, args));
            case ListValue l when (name == "append" && !l.IsTuple) || name is "index" or "count":
                return new FunctionValue("list." + name, (interpreter, args) => CallList(interpreter, l, name, args));
            default:
                return null;
        }
    }

    private static Value CallDict(DictValue d, string name, Arguments args)
    {
        switch (name)
        {
            case "items":
                args.Bind("dict.items");
                return new ListValue([.. d.Items.Select(kv => ListValue.Tuple(kv.Key, kv.Value))]);
            case "keys":
                args.Bind("dict.keys");
                return new ListValue([.. d.Items.Keys]);
            case "values":
                args.Bind("dict.values");
                return new ListValue([.. d.Items.Values]);
            case "copy":
                args.Bind("dict.copy");
                return new DictValue(new OrderedDictionary<Value, Value>(d.Items));
            default:
                Value?[] a = args.Bind("dict.get", "key", "default");
                return d.Items.TryGetValue(a[0] ?? NoneValue.Instance, out Value? v) ? v : a[1] ?? NoneValue.Instance;
        }
    }

    private static Value CallList(Interpreter interpreter, ListValue list, string name, Arguments args)
    {
        Value?[] a = args.Bind("list." + name, "value");
        Value item = a[0] ?? throw Errors.Runtime($"list.{name}() takes exactly one argument");
        switch (name)
        {
            case "append":
                if (list.Items.Count >= interpreter.Options.MaxIterations)
                {
                    throw Errors.Limit($"list grows past the limit of {interpreter.Options.MaxIterations} items");
                }
                list.Items.Add(item);
                return NoneValue.Instance;
            case "count":
                return IntValue.Of(list.Items.Count(x => ValueOps.AreEqual(x, item)));
            default:
                int index = list.Items.FindIndex(x => ValueOps.AreEqual(x, item));
                return index >= 0 ? IntValue.Of(index) : throw Errors.Runtime($"{item.Repr()} is not in list");
        }
    }

    private static Value CallString(string s, string name, Arguments args)
    {
        string fn = "str." + name;
        switch (name)
        {
            case "strip" or "lstrip" or "rstrip":
                return StringValue.Of(Strip(s, OptionalString(args.Bind(fn, "chars")[0], fn), name));
            case "split" or "rsplit":
            {
                Value?[] a = args.Bind(fn, "sep", "maxsplit");
                string? sep = OptionalString(a[0], fn);
                long max = a[1] is null ? -1 : ValueOps.ToLong(a[1]!);
                List<string> parts = name == "split" ? Split(s, sep, max) : RSplit(s, sep, max);
                return new ListValue([.. parts.Select(StringValue.Of)]);
            }
            case "splitlines":
            {
                bool keepEnds = args.Bind(fn, "keepends")[0]?.IsTrue ?? false;
                return new ListValue([.. SplitLines(s, keepEnds).Select(StringValue.Of)]);
            }
            case "startswith" or "endswith":
            {
                Value?[] a = args.Bind(fn, "prefix", "start", "end");
                string text = PyString.Slice(s, a[1] is null or NoneValue ? null : ValueOps.ToLong(a[1]!), a[2] is null or NoneValue ? null : ValueOps.ToLong(a[2]!), null);
                IEnumerable<Value> options = a[0] is ListValue { IsTuple: true } t ? t.Items : [a[0] ?? throw Errors.Runtime($"{fn}() takes at least 1 argument")];
                return BoolValue.Of(options.Any(o => o is StringValue p
                    ? name == "startswith" ? text.StartsWith(p.Value, StringComparison.Ordinal) : text.EndsWith(p.Value, StringComparison.Ordinal)
                    : throw Errors.Runtime($"{fn} first arg must be str or a tuple of str, not {o.TypeName}")));
            }
            case "upper":
                args.Bind(fn);
                return StringValue.Of(s.ToUpperInvariant());
            case "lower":
                args.Bind(fn);
                return StringValue.Of(s.ToLowerInvariant());
            case "title":
                args.Bind(fn);
                return StringValue.Of(Title(s));
            case "capitalize":
                args.Bind(fn);
                return StringValue.Of(Capitalize(s));
            case "swapcase":
                args.Bind(fn);
                return StringValue.Of(string.Concat(s.Select(c => char.IsUpper(c) ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c))));
            case "replace":
            {
                Value?[] a = args.Bind(fn, "old", "new", "count");
                return StringValue.Of(Replace(s, RequireString(a[0], fn), RequireString(a[1], fn), a[2] is null ? -1 : ValueOps.ToLong(a[2]!)));
            }
            case "find" or "rfind" or "index" or "rindex":
            {
                string sub = RequireString(args.Bind(fn, "sub")[0], fn);
                int at = name is "find" or "index" ? s.IndexOf(sub, StringComparison.Ordinal) : s.LastIndexOf(sub, StringComparison.Ordinal);
                if (at < 0 && name is "index" or "rindex")
                {
                    throw Errors.Runtime("substring not found");
                }
                return IntValue.Of(at < 0 ? -1 : PyString.Length(s[..at]));
            }
            case "count":
            {
                string sub = RequireString(args.Bind(fn, "sub")[0], fn);
                return IntValue.Of(sub.Length == 0 ? PyString.Length(s) + 1 : (s.Length - s.Replace(sub, "", StringComparison.Ordinal).Length) / sub.Length);
            }
            case "join":
            {
                Value items = args.Bind(fn, "iterable")[0] ?? throw Errors.Runtime("str.join() takes exactly one argument");
                return StringValue.Of(string.Join(s, ValueOps.Iterate(items).Select(v => v is StringValue sv
                    ? sv.Value
                    : throw Errors.Runtime($"sequence item: expected str instance, {v.TypeName} found"))));
            }
            case "format":
                return StringValue.Of(BraceFormat.Format(s, args));
            case "isdigit" or "isdecimal" or "isnumeric":
                return BoolValue.Of(s.Length > 0 && s.All(char.IsDigit));
            case "isalpha":
                return BoolValue.Of(s.Length > 0 && s.All(char.IsLetter));
            case "isalnum":
                return BoolValue.Of(s.Length > 0 && s.All(char.IsLetterOrDigit));
            case "isspace":
                return BoolValue.Of(s.Length > 0 && s.All(char.IsWhiteSpace));
            case "isupper":
                return BoolValue.Of(s.Any(char.IsUpper) && !s.Any(char.IsLower));
            case "islower":
                return BoolValue.Of(s.Any(char.IsLower) && !s.Any(char.IsUpper));
            case "removeprefix":
            {
                string p = RequireString(args.Bind(fn, "prefix")[0], fn);
                return StringValue.Of(s.StartsWith(p, StringComparison.Ordinal) ? s[p.Length..] : s);
            }
            case "removesuffix":
            {
                string p = RequireString(args.Bind(fn, "suffix")[0], fn);
                return StringValue.Of(p.Length > 0 && s.EndsWith(p, StringComparison.Ordinal) ? s[..^p.Length] : s);
            }
            case "zfill":
            {
                int width = (int)ValueOps.ToLong(args.Bind(fn, "width")[0] ?? IntValue.Of(0));
                int sign = s.Length > 0 && s[0] is '+' or '-' ? 1 : 0;
                return StringValue.Of(s.Length >= width ? s : s[..sign] + new string('0', width - s.Length) + s[sign..]);
            }
            default:
            {
                Value?[] a = args.Bind(fn, "width", "fillchar");
                int width = (int)ValueOps.ToLong(a[0] ?? IntValue.Of(0));
                char fill = a[1] is StringValue { Value.Length: 1 } f ? f.Value[0] : ' ';
                return StringValue.Of(name switch
                {
                    "ljust" => s.PadRight(width, fill),
                    "rjust" => s.PadLeft(width, fill),
                    _ => Center(s, width, fill),
                });
            }
        }
    }

    private static string? OptionalString(Value? v, string fn) => v switch
    {
        null or NoneValue => null,
        StringValue s => s.Value,
        _ => throw Errors.Runtime($"{fn}() argument must be str or None, not {v.TypeName}"),
    };

    private static string RequireString(Value? v, string fn) =>
        v is StringValue s ? s.Value : throw Errors.Runtime($"{fn}() argument must be str, not {v?.TypeName ?? "nothing"}");

    public static string Strip(string s, string? chars, string mode)
    {
        if (chars is null)
        {
            return mode switch
            {
                "lstrip" => s.TrimStart(),
                "rstrip" => s.TrimEnd(),
                _ => s.Trim(),
            };
        }
        char[] set = chars.ToCharArray();
        return mode switch
        {
            "lstrip" => s.TrimStart(set),
            "rstrip" => s.TrimEnd(set),
            _ => s.Trim(set),
        };
    }

    /// <summary>Python's str.split: with no separator, runs of whitespace split and ends are dropped.</summary>
    public static List<string> Split(string s, string? sep, long maxSplit)
    {
        var parts = new List<string>();
        if (sep is null)
        {
            int i = 0;
            while (true)
            {
                while (i < s.Length && char.IsWhiteSpace(s[i]))
                {
                    i++;
                }
                if (i >= s.Length)
                {
                    break;
                }
                if (maxSplit >= 0 && parts.Count == maxSplit)
                {
                    parts.Add(s[i..]);
                    break;
                }
                int start = i;
                while (i < s.Length && !char.IsWhiteSpace(s[i]))
                {
                    i++;
                }
                parts.Add(s[start..i]);
            }
            return parts;
        }
        if (sep.Length == 0)
        {
            throw Errors.Runtime("empty separator");
        }
        return maxSplit < 0 || maxSplit >= int.MaxValue - 1
            ? [.. s.Split(sep)]
            : [.. s.Split(sep, (int)maxSplit + 1)];
    }

    private static List<string> RSplit(string s, string? sep, long maxSplit)
    {
        if (maxSplit < 0)
        {
            return Split(s, sep, maxSplit);
        }
        var parts = new List<string>();
        if (sep is null)
        {
            int i = s.Length;
            while (true)
            {
                while (i > 0 && char.IsWhiteSpace(s[i - 1]))
                {
                    i--;
                }
                if (i == 0)
                {
                    break;
                }
                if (parts.Count == maxSplit)
                {
                    parts.Add(s[..i]);
                    break;
                }
                int end = i;
                while (i > 0 && !char.IsWhiteSpace(s[i - 1]))
                {
                    i--;
                }
                parts.Add(s[i..end]);
            }
        }
        else
        {
            if (sep.Length == 0)
            {
                throw Errors.Runtime("empty separator");
            }
            int end = s.Length;
            while (parts.Count < maxSplit)
            {
                int at = end == 0 ? -1 : s.LastIndexOf(sep, end - 1, StringComparison.Ordinal);
                if (at < 0 || at + sep.Length > end)
                {
                    break;
                }
                parts.Add(s[(at + sep.Length)..end]);
                end = at;
            }
            parts.Add(s[..end]);
        }
        parts.Reverse();
        return parts;
    }

    public static List<string> SplitLines(string s, bool keepEnds)
    {
        var lines = new List<string>();
        int start = 0;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c is not ('\n' or '\r' or '\v' or '\f' or '\x1c' or '\x1d' or '\x1e' or '\x85' or '\u2028' or '\u2029'))
            {
                continue;
            }
            int endOfBreak = c == '\r' && i + 1 < s.Length && s[i + 1] == '\n' ? i + 2 : i + 1;
            lines.Add(keepEnds ? s[start..endOfBreak] : s[start..i]);
            start = endOfBreak;
            i = endOfBreak - 1;
        }
        if (start < s.Length)
        {
            lines.Add(s[start..]);
        }
        return lines;
    }

    public static string Replace(string s, string old, string replacement, long count)
    {
        if (count < 0)
        {
            return old.Length == 0 ? InsertEverywhere(s, replacement, long.MaxValue) : s.Replace(old, replacement, StringComparison.Ordinal);
        }
        if (old.Length == 0)
        {
            return InsertEverywhere(s, replacement, count);
        }
        var sb = new StringBuilder();
        int pos = 0;
        for (long n = 0; n < count; n++)
        {
            int at = s.IndexOf(old, pos, StringComparison.Ordinal);
            if (at < 0)
            {
                break;
            }
            sb.Append(s, pos, at - pos).Append(replacement);
            pos = at + old.Length;
        }
        return sb.Append(s, pos, s.Length - pos).ToString();
    }

    /// <summary>Python's <c>s.replace('', x)</c>: x before every code point and at the end.</summary>
    private static string InsertEverywhere(string s, string insert, long count)
    {
        var sb = new StringBuilder();
        long n = 0;
        foreach (string point in PyString.CodePoints(s))
        {
            if (n++ < count)
            {
                sb.Append(insert);
            }
            sb.Append(point);
        }
        if (n < count)
        {
            sb.Append(insert);
        }
        return sb.ToString();
    }

    /// <summary>Python's str.title: a cased letter is upper-cased when it follows an uncased character.</summary>
    public static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool previousCased = false;
        foreach (char c in s)
        {
            sb.Append(previousCased ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c));
            previousCased = char.IsUpper(c) || char.IsLower(c) || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.TitlecaseLetter;
        }
        return sb.ToString();
    }

    public static string Capitalize(string s) =>
        s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    /// <summary>Python's str.center (the odd padding character goes left when the width is odd).</summary>
    public static string Center(string s, int width, char fill = ' ')
    {
        int margin = width - s.Length;
        if (margin <= 0)
        {
            return s;
        }
        int left = (margin / 2) + (margin & width & 1);
        return new string(fill, left) + s + new string(fill, margin - left);
    }
}
