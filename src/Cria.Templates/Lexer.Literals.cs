using System.Globalization;
using System.Text;

namespace Cria.Templates;

// Number and string literals inside tags.

internal sealed partial class Lexer
{
    private Token LexNumber(ref int p, int line, int col)
    {
        int start = p;
        // After a '.', digits are an attribute index (foo.0.1), never a float.
        bool afterDot = start > 0 && _src[start - 1] == '.';
        bool isFloat = false;
        SkipDigits(ref p);
        if (!afterDot && p + 1 < _src.Length && _src[p] == '.' && char.IsAsciiDigit(_src[p + 1]))
        {
            p++;
            SkipDigits(ref p);
            isFloat = true;
        }
        if (!afterDot && p < _src.Length && (_src[p] == 'e' || _src[p] == 'E'))
        {
            int q = p + 1;
            if (q < _src.Length && (_src[q] == '+' || _src[q] == '-'))
            {
                q++;
            }
            if (q < _src.Length && char.IsAsciiDigit(_src[q]))
            {
                p = q;
                SkipDigits(ref p);
                isFloat = true;
            }
        }
        string text = _src[start..p].Replace("_", "", StringComparison.Ordinal);
        return new Token(isFloat ? TokenKind.Float : TokenKind.Integer, text, line, col);
    }

    private void SkipDigits(ref int p)
    {
        while (p < _src.Length && (char.IsAsciiDigit(_src[p]) || (_src[p] == '_' && p + 1 < _src.Length && char.IsAsciiDigit(_src[p + 1]))))
        {
            p++;
        }
    }

    /// <summary>A quoted literal with Python's escapes (\n, \t, \xNN, \uNNNN, \UNNNNNNNN, octal); unknown escapes stay as written.</summary>
    private string LexString(ref int p)
    {
        int start = p;
        char quote = _src[p++];
        var sb = new StringBuilder();
        while (true)
        {
            if (p >= _src.Length)
            {
                throw Error(start, "unterminated string literal");
            }
            char c = _src[p++];
            if (c == quote)
            {
                return sb.ToString();
            }
            if (c != '\\' || p >= _src.Length)
            {
                sb.Append(c);
                continue;
            }
            char e = _src[p++];
            switch (e)
            {
                case '\n':
                    break;
                case '\\' or '\'' or '"':
                    sb.Append(e);
                    break;
                case 'a':
                    sb.Append('\a');
                    break;
                case 'b':
                    sb.Append('\b');
                    break;
                case 'f':
                    sb.Append('\f');
                    break;
                case 'n':
                    sb.Append('\n');
                    break;
                case 'r':
                    sb.Append('\r');
                    break;
                case 't':
                    sb.Append('\t');
                    break;
                case 'v':
                    sb.Append('\v');
                    break;
                case 'x':
                    AppendHexEscape(sb, ref p, 2, start);
                    break;
                case 'u':
                    AppendHexEscape(sb, ref p, 4, start);
                    break;
                case 'U':
                    AppendHexEscape(sb, ref p, 8, start);
                    break;
                case >= '0' and <= '7':
                    int value = e - '0';
                    for (int n = 0; n < 2 && p < _src.Length && _src[p] is >= '0' and <= '7'; n++)
                    {
                        value = (value * 8) + (_src[p++] - '0');
                    }
                    sb.Append((char)value);
                    break;
                default:
                    sb.Append('\\').Append(e);
                    break;
            }
        }
    }

    private void AppendHexEscape(StringBuilder sb, ref int p, int digits, int literalStart)
    {
        if (p + digits > _src.Length
            || !int.TryParse(_src.AsSpan(p, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int code)
            || (digits != 4 && !Rune.IsValid(code)))
        {
            throw Error(literalStart, $"invalid \\{(digits == 2 ? "x" : digits == 4 ? "u" : "U")} escape in string literal");
        }
        if (digits == 4)
        {
            sb.Append((char)code);
        }
        else
        {
            sb.Append(char.ConvertFromUtf32(code));
        }
        p += digits;
    }
}
