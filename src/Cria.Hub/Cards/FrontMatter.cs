using System.Globalization;
using System.Text;

namespace Cria.Hub.Cards;

/// <summary>
/// The YAML front matter of a model card (README.md), the little of YAML Hugging Face model cards use
/// at the top level: scalars and lists of scalars. <see cref="Write"/> quotes whatever a YAML reader
/// could take for something other than a string; <see cref="Read"/> takes plain, single- and
/// double-quoted scalars, block and flow lists and block scalars, skips what it does not understand
/// (nested maps, anchors), and never throws on hostile input — at worst it finds no front matter.
/// </summary>
public static class FrontMatter
{
    public const int MaxChars = 1 << 20;
    public const int MaxLines = 10_000;
    private const string Fence = "---";

    /// <summary>Front matter (between <c>---</c> lines) and then <paramref name="body"/>.</summary>
    /// <param name="entries">Keys (letters, digits, '_', '-') with a string or a list of strings each; null values are left out.</param>
    public static string Write(IEnumerable<KeyValuePair<string, object?>> entries, string body)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(body);
        var b = new StringBuilder();
        b.Append(Fence).Append('\n');
        foreach ((string key, object? value) in entries)
        {
            if (key.Length == 0 || !key.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            {
                throw new ArgumentException($"front matter key \"{key}\" must be letters, digits, '_' or '-'", nameof(entries));
            }
            switch (value)
            {
                case null:
                    break;
                case string s:
                    b.Append(key).Append(": ").Append(Scalar(s)).Append('\n');
                    break;
                case IEnumerable<string> list:
                    b.Append(key).Append(':');
                    bool any = false;
                    foreach (string item in list)
                    {
                        b.Append('\n').Append("- ").Append(Scalar(item));
                        any = true;
                    }
                    b.Append(any ? "\n" : " []\n");
                    break;
                default:
                    throw new ArgumentException($"front matter value of \"{key}\" must be a string or a list of strings", nameof(entries));
            }
        }
        b.Append(Fence).Append('\n');
        if (body.Length > 0)
        {
            b.Append('\n').Append(body);
        }
        return b.ToString();
    }

    /// <summary>A scalar as YAML: plain when it can only read back as this string, else double-quoted with escapes.</summary>
    public static string Scalar(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        bool plain = value.Length > 0
            && (char.IsAsciiLetter(value[0]) || value[0] == '_')
            && value[^1] != ' '
            && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or '/' or '+' or '(' or ')' or ' ')
            && !IsReserved(value);
        if (plain)
        {
            return value;
        }
        var b = new StringBuilder(value.Length + 2).Append('"');
        foreach (Rune r in value.EnumerateRunes()) // a lone surrogate comes out as U+FFFD: it cannot be written in UTF-8
        {
            switch (r.Value)
            {
                case '"': b.Append("\\\""); break;
                case '\\': b.Append("\\\\"); break;
                case '\n': b.Append("\\n"); break;
                case '\t': b.Append("\\t"); break;
                case '\r': b.Append("\\r"); break;
                default:
                    if (Rune.IsControl(r) || r.Value is 0x2028 or 0x2029 or 0xFEFF)
                    {
                        b.Append(CultureInfo.InvariantCulture, $"\\u{r.Value:x4}");
                    }
                    else
                    {
                        b.Append(r.ToString());
                    }
                    break;
            }
        }
        return b.Append('"').ToString();
    }

    /// <summary>Splits a card into front matter and body. Without a well-formed front matter block, everything is body.</summary>
    public static FrontMatterDocument Read(string? text)
    {
        text ??= "";
        string t = text.Length > 0 && text[0] == '\uFEFF' ? text[1..] : text;
        if (!t.StartsWith(Fence, StringComparison.Ordinal))
        {
            return new FrontMatterDocument(new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal), text, false);
        }
        string[] lines = t[..Math.Min(t.Length, MaxChars + 8)].Split('\n', MaxLines + 2);
        if (lines[0].TrimEnd('\r', ' ', '\t') != Fence)
        {
            return new FrontMatterDocument(new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal), text, false);
        }
        int close = -1;
        for (int i = 1; i < lines.Length && i <= MaxLines; i++)
        {
            string l = lines[i].TrimEnd('\r', ' ', '\t');
            if (l is Fence or "...")
            {
                close = i;
                break;
            }
        }
        if (close < 0)
        {
            return new FrontMatterDocument(new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal), text, false);
        }
        Dictionary<string, IReadOnlyList<string>> values = FrontMatterReader.Parse(lines.AsSpan(1, close - 1));
        int bodyStart = 0;
        for (int i = 0; i <= close; i++)
        {
            bodyStart += lines[i].Length + 1;
        }
        string body = bodyStart >= t.Length ? "" : t[bodyStart..].TrimStart('\r', '\n');
        return new FrontMatterDocument(values, body, true);
    }

    private static bool IsReserved(string s) => s.ToLowerInvariant() is "true" or "false" or "yes" or "no" or "on" or "off"
        or "y" or "n" or "null" or "nan" or "inf";
}

/// <summary>A card split by <see cref="FrontMatter.Read"/>: keys (in the order last seen) with their scalar or list values, and the markdown body.</summary>
public sealed class FrontMatterDocument(IReadOnlyDictionary<string, IReadOnlyList<string>> values, string body, bool hasFrontMatter)
{
    /// <summary>Each key's value; a scalar is a list of one.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Values { get; } = values;

    public string Body { get; } = body;

    public bool HasFrontMatter { get; } = hasFrontMatter;

    /// <summary>A key's scalar value (the first item of a list), or null.</summary>
    public string? Scalar(string key) => Values.TryGetValue(key, out IReadOnlyList<string>? v) && v.Count > 0 ? v[0] : null;

    /// <summary>A key's list value (a scalar as a list of one), or empty.</summary>
    public IReadOnlyList<string> List(string key) => Values.TryGetValue(key, out IReadOnlyList<string>? v) ? v : [];
}
