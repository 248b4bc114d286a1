using System.Globalization;
using System.Text;

namespace Cria.Grammar;

/// <summary>Writing GBNF text: literals and class characters escaped so that <see cref="GbnfParser"/> reads them back exactly.</summary>
internal static class GbnfText
{
    /// <summary>A GBNF string literal matching exactly <paramref name="text"/>.</summary>
    public static string Literal(string text)
    {
        var sb = new StringBuilder(text.Length + 2).Append('"');
        foreach (Rune r in EnumerateRunesLenient(text))
        {
            switch (r.Value)
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
                case < 0x20 or 0x7F:
                    sb.Append(CultureInfo.InvariantCulture, $"\\x{r.Value:X2}");
                    break;
                default:
                    sb.Append(r.ToString());
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    /// <summary>Appends one code point as it may stand inside <c>[...]</c>.</summary>
    public static void AppendClassChar(StringBuilder sb, int cp)
    {
        switch (cp)
        {
            case '\\' or ']' or '[' or '-' or '^':
                sb.Append('\\').Append((char)cp);
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
            case < 0x20 or 0x7F:
                sb.Append(CultureInfo.InvariantCulture, $"\\x{cp:X2}");
                break;
            case < 0x7F:
                sb.Append((char)cp);
                break;
            case <= 0xFFFF:
                sb.Append(CultureInfo.InvariantCulture, $"\\u{cp:X4}");
                break;
            default:
                sb.Append(CultureInfo.InvariantCulture, $"\\U{cp:X8}");
                break;
        }
    }

    /// <summary>The code points of a string; a lone surrogate (not valid Unicode text) becomes U+FFFD.</summary>
    public static IEnumerable<Rune> EnumerateRunesLenient(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                yield return new Rune(c, text[++i]);
            }
            else if (char.IsSurrogate(c))
            {
                yield return Rune.ReplacementChar;
            }
            else
            {
                yield return new Rune(c);
            }
        }
    }
}
