using System.Globalization;
using System.Text;

namespace Cria.Templates;

/// <summary>Python's str methods that templates call (<c>content.strip()</c>, <c>role.title()</c>, <c>text.split(sep)</c>, ...).</summary>
internal static class StringMethods
{
    public static IReadOnlySet<string> Names { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith", "endswith", "upper", "lower",
        "title", "capitalize", "swapcase", "replace", "find", "rfind", "index", "rindex", "count", "join", "format",
        "isdigit", "isdecimal", "isnumeric", "isalpha", "isalnum", "isspace", "isupper", "islower",
        "removeprefix", "removesuffix", "center", "ljust", "rjust", "zfill",
    };

    public static Value Call(string s, string name, Arguments args)
    {
        string fn = "str." + name;
        return name switch
        {
            "strip" or "lstrip" or "rstrip" => Str(Strip(s, OptionalString(args.Bind(fn, "chars")[0], fn), name)),
            "split" or "rsplit" => SplitMethod(s, name, args, fn),
            "splitlines" => new ListValue([.. SplitLines(s, args.Bind(fn, "keepends")[0]?.IsTrue ?? false).Select(StringValue.Of)]),
            "startswith" or "endswith" => HasAffix(s, name, args, fn),
            "upper" => NoArguments(args, fn, s.ToUpperInvariant()),
            "lower" => NoArguments(args, fn, s.ToLowerInvariant()),
            "title" => NoArguments(args, fn, Title(s)),
            "capitalize" => NoArguments(args, fn, Capitalize(s)),
            "swapcase" => NoArguments(args, fn, string.Concat(s.Select(c => char.IsUpper(c) ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c)))),
            "replace" => ReplaceMethod(s, args, fn),
            "find" or "rfind" or "index" or "rindex" => Find(s, name, args, fn),
            "count" => Count(s, RequireString(args.Bind(fn, "sub")[0], fn)),
            "join" => Join(s, args.Bind(fn, "iterable")[0] ?? throw Errors.Runtime("str.join() takes exactly one argument")),
            "format" => Str(BraceFormat.Format(s, args)),
            "isdigit" or "isdecimal" or "isnumeric" => BoolValue.Of(s.Length > 0 && s.All(char.IsDigit)),
            "isalpha" => BoolValue.Of(s.Length > 0 && s.All(char.IsLetter)),
            "isalnum" => BoolValue.Of(s.Length > 0 && s.All(char.IsLetterOrDigit)),
            "isspace" => BoolValue.Of(s.Length > 0 && s.All(char.IsWhiteSpace)),
            "isupper" => BoolValue.Of(s.Any(char.IsUpper) && !s.Any(char.IsLower)),
            "islower" => BoolValue.Of(s.Any(char.IsLower) && !s.Any(char.IsUpper)),
            "removeprefix" => RemovePrefix(s, RequireString(args.Bind(fn, "prefix")[0], fn)),
            "removesuffix" => RemoveSuffix(s, RequireString(args.Bind(fn, "suffix")[0], fn)),
            "zfill" => ZeroFill(s, (int)ValueOps.ToLong(args.Bind(fn, "width")[0] ?? IntValue.Of(0))),
            _ => Justify(s, name, args, fn),
        };
    }

    private static StringValue Str(string s) => StringValue.Of(s);

    private static StringValue NoArguments(Arguments args, string fn, string result)
    {
        args.Bind(fn);
        return Str(result);
    }

    private static ListValue SplitMethod(string s, string name, Arguments args, string fn)
    {
        Value?[] a = args.Bind(fn, "sep", "maxsplit");
        string? sep = OptionalString(a[0], fn);
        long max = a[1] is null ? -1 : ValueOps.ToLong(a[1]!);
        List<string> parts = name == "split" ? Split(s, sep, max) : RSplit(s, sep, max);
        return new ListValue([.. parts.Select(StringValue.Of)]);
    }

    private static BoolValue HasAffix(string s, string name, Arguments args, string fn)
    {
        Value?[] a = args.Bind(fn, "prefix", "start", "end");
        string text = PyString.Slice(s, OptionalLong(a[1]), OptionalLong(a[2]), null);
        IEnumerable<Value> options = a[0] is ListValue { IsTuple: true } t ? t.Items : [a[0] ?? throw Errors.Runtime($"{fn}() takes at least 1 argument")];
        return BoolValue.Of(options.Any(o => o is StringValue p
            ? name == "startswith" ? text.StartsWith(p.Value, StringComparison.Ordinal) : text.EndsWith(p.Value, StringComparison.Ordinal)
            : throw Errors.Runtime($"{fn} first arg must be str or a tuple of str, not {o.TypeName}")));
    }

    private static long? OptionalLong(Value? v) => v is null or NoneValue ? null : ValueOps.ToLong(v);

    private static StringValue ReplaceMethod(string s, Arguments args, string fn)
    {
        Value?[] a = args.Bind(fn, "old", "new", "count");
        return Str(Replace(s, RequireString(a[0], fn), RequireString(a[1], fn), a[2] is null ? -1 : ValueOps.ToLong(a[2]!)));
    }

    /// <summary>find/rfind return -1 when absent, index/rindex raise; positions count code points.</summary>
    private static IntValue Find(string s, string name, Arguments args, string fn)
    {
        string sub = RequireString(args.Bind(fn, "sub")[0], fn);
        int at = name is "find" or "index" ? s.IndexOf(sub, StringComparison.Ordinal) : s.LastIndexOf(sub, StringComparison.Ordinal);
        if (at < 0 && name is "index" or "rindex")
        {
            throw Errors.Runtime("substring not found");
        }
        return IntValue.Of(at < 0 ? -1 : PyString.Length(s[..at]));
    }

    private static IntValue Count(string s, string sub) =>
        IntValue.Of(sub.Length == 0 ? PyString.Length(s) + 1 : (s.Length - s.Replace(sub, "", StringComparison.Ordinal).Length) / sub.Length);

    private static StringValue Join(string separator, Value items) =>
        Str(string.Join(separator, ValueOps.Iterate(items).Select(v => v is StringValue sv
            ? sv.Value
            : throw Errors.Runtime($"sequence item: expected str instance, {v.TypeName} found"))));

    private static StringValue RemovePrefix(string s, string prefix) =>
        Str(s.StartsWith(prefix, StringComparison.Ordinal) ? s[prefix.Length..] : s);

    private static StringValue RemoveSuffix(string s, string suffix) =>
        Str(suffix.Length > 0 && s.EndsWith(suffix, StringComparison.Ordinal) ? s[..^suffix.Length] : s);

    private static StringValue ZeroFill(string s, int width)
    {
        int sign = s.Length > 0 && s[0] is '+' or '-' ? 1 : 0;
        return Str(s.Length >= width ? s : s[..sign] + new string('0', width - s.Length) + s[sign..]);
    }

    /// <summary>center, ljust, rjust.</summary>
    private static StringValue Justify(string s, string name, Arguments args, string fn)
    {
        Value?[] a = args.Bind(fn, "width", "fillchar");
        int width = (int)ValueOps.ToLong(a[0] ?? IntValue.Of(0));
        char fill = a[1] is StringValue { Value.Length: 1 } f ? f.Value[0] : ' ';
        return Str(name switch
        {
            "ljust" => s.PadRight(width, fill),
            "rjust" => s.PadLeft(width, fill),
            _ => Center(s, width, fill),
        });
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
