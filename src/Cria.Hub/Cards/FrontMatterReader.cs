using System.Globalization;
using System.Text;

namespace Cria.Hub.Cards;

/// <summary>
/// The line parser behind <see cref="FrontMatter.Read"/>. Top-level <c>key: value</c> lines set a
/// value; <c>key:</c> followed by <c>- item</c> lines makes a list; <c>key: [a, "b"]</c> is a flow list;
/// <c>key: |</c> or <c>&gt;</c> takes the indented lines below. Anything else — nested maps, anchors,
/// tags, malformed quotes — is skipped or read leniently; no input makes it throw.
/// </summary>
internal static class FrontMatterReader
{
    private const int MaxItems = 10_000;

    public static Dictionary<string, IReadOnlyList<string>> Parse(ReadOnlySpan<string> lines)
    {
        var values = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        string? listKey = null;       // a "key:" with no value: list items may follow
        List<string>? list = null;
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            string trimmed = line.Trim();
            if (trimmed.Length == 0 || trimmed[0] == '#')
            {
                continue;
            }
            bool indented = line[0] is ' ' or '\t';
            if (listKey is not null && (trimmed == "-" || trimmed.StartsWith("- ", StringComparison.Ordinal)))
            {
                if (list!.Count < MaxItems)
                {
                    list.Add(ParseScalar(trimmed.Length > 1 ? trimmed[2..] : ""));
                }
                values[listKey] = list;
                continue;
            }
            if (indented)
            {
                if (listKey is not null && list!.Count == 0)
                {
                    values.Remove(listKey); // "key:" then an indented map: not a scalar or list
                    listKey = null;
                }
                continue;
            }
            listKey = null;
            if (!TrySplitKey(trimmed, out string key, out string rest))
            {
                continue;
            }
            if (rest.Length == 0)
            {
                listKey = key;
                list = [];
                values[key] = list;
            }
            else if (rest[0] == '[')
            {
                values[key] = ParseFlowList(rest);
            }
            else if (rest[0] is '|' or '>')
            {
                values[key] = [BlockScalar(lines, ref i, folded: rest[0] == '>')];
            }
            else if (rest[0] is '{' or '&' or '*' or '!')
            {
                values.Remove(key);
            }
            else
            {
                values[key] = [ParseScalar(rest)];
            }
        }
        return values;
    }

    private static bool TrySplitKey(string line, out string key, out string rest)
    {
        key = rest = "";
        int colon;
        if (line[0] is '"' or '\'')
        {
            int close = line.IndexOf(line[0], 1);
            if (close < 0 || close + 1 >= line.Length || line[close + 1] != ':')
            {
                return false;
            }
            key = line[1..close];
            colon = close + 1;
        }
        else
        {
            colon = line.IndexOf(':');
            while (colon >= 0 && colon + 1 < line.Length && line[colon + 1] is not (' ' or '\t'))
            {
                colon = line.IndexOf(':', colon + 1);
            }
            if (colon <= 0)
            {
                return false;
            }
            key = line[..colon].Trim();
        }
        rest = line[(colon + 1)..].Trim();
        return key.Length > 0 && key[0] is not ('-' or '?');
    }

    /// <summary>A plain, 'single' or "double" quoted scalar; a plain one ends before a " #" comment.</summary>
    internal static string ParseScalar(string s)
    {
        s = s.Trim();
        if (s.Length == 0)
        {
            return "";
        }
        if (s[0] == '"')
        {
            return DoubleQuoted(s);
        }
        if (s[0] == '\'')
        {
            var b = new StringBuilder();
            for (int i = 1; i < s.Length; i++)
            {
                if (s[i] == '\'')
                {
                    if (i + 1 < s.Length && s[i + 1] == '\'')
                    {
                        b.Append('\'');
                        i++;
                        continue;
                    }
                    break;
                }
                b.Append(s[i]);
            }
            return b.ToString();
        }
        int comment = s.IndexOf(" #", StringComparison.Ordinal);
        return (comment >= 0 ? s[..comment] : s).Trim();
    }

    private static string DoubleQuoted(string s)
    {
        var b = new StringBuilder();
        for (int i = 1; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '"')
            {
                break;
            }
            if (c != '\\' || i + 1 >= s.Length)
            {
                b.Append(c);
                continue;
            }
            char e = s[++i];
            switch (e)
            {
                case 'n': b.Append('\n'); break;
                case 't': b.Append('\t'); break;
                case 'r': b.Append('\r'); break;
                case '0': b.Append('\0'); break;
                case '"': b.Append('"'); break;
                case '\\': b.Append('\\'); break;
                case '/': b.Append('/'); break;
                case 'x' or 'u' or 'U':
                    int digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    if (i + digits < s.Length && uint.TryParse(s.AsSpan(i + 1, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint cp)
                        && cp <= 0x10FFFF && cp is < 0xD800 or > 0xDFFF)
                    {
                        b.Append(char.ConvertFromUtf32((int)cp));
                        i += digits;
                    }
                    else if (e == 'u' && TrySurrogatePair(s, i, out int pair))
                    {
                        b.Append(char.ConvertFromUtf32(pair)); // "\ud83e\udd99", as JSON writes an emoji
                        i += 10;
                    }
                    else
                    {
                        b.Append('\\').Append(e);
                    }
                    break;
                default: b.Append('\\').Append(e); break;
            }
        }
        return b.ToString();
    }

    /// <summary>A \\uD8xx\\uDCxx pair starting at the 'u' at <paramref name="i"/>.</summary>
    private static bool TrySurrogatePair(string s, int i, out int codePoint)
    {
        codePoint = 0;
        if (i + 10 < s.Length && s[i + 5] == '\\' && s[i + 6] == 'u'
            && ushort.TryParse(s.AsSpan(i + 1, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ushort high)
            && ushort.TryParse(s.AsSpan(i + 7, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ushort low)
            && char.IsHighSurrogate((char)high) && char.IsLowSurrogate((char)low))
        {
            codePoint = char.ConvertToUtf32((char)high, (char)low);
            return true;
        }
        return false;
    }

    private static List<string> ParseFlowList(string s)
    {
        var items = new List<string>();
        int i = 1;
        while (i < s.Length && items.Count < MaxItems)
        {
            while (i < s.Length && s[i] is ' ' or '\t' or ',')
            {
                i++;
            }
            if (i >= s.Length || s[i] == ']')
            {
                break;
            }
            int start = i;
            if (s[i] is '"' or '\'')
            {
                char q = s[i++];
                while (i < s.Length && !(s[i] == q && (q != '"' || s[i - 1] != '\\')))
                {
                    i++;
                }
                i = Math.Min(i + 1, s.Length);
            }
            else
            {
                while (i < s.Length && s[i] is not (',' or ']'))
                {
                    i++;
                }
            }
            items.Add(ParseScalar(s[start..i]));
        }
        return items;
    }

    private static string BlockScalar(ReadOnlySpan<string> lines, ref int i, bool folded)
    {
        var parts = new List<string>();
        while (i + 1 < lines.Length && (lines[i + 1].Trim().Length == 0 || lines[i + 1][0] is ' ' or '\t'))
        {
            i++;
            parts.Add(lines[i].TrimEnd('\r').Trim());
        }
        while (parts.Count > 0 && parts[^1].Length == 0)
        {
            parts.RemoveAt(parts.Count - 1);
        }
        return string.Join(folded ? " " : "\n", parts);
    }
}
