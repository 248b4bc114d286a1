using System.Globalization;
using System.Text;

namespace Cria.Templates;

/// <summary>Python's <c>repr()</c> for floats and strings, which templates print and <c>tojson</c> writes.</summary>
internal static class PyFormat
{
    /// <summary>
    /// <c>repr(float)</c>: the shortest digits that round-trip, written positionally when the decimal
    /// exponent is in [-4, 16) (<c>0.0001</c>, <c>1e+16</c>, <c>1e-05</c>) and always with a
    /// fractional part (<c>1.0</c>).
    /// </summary>
    public static string FloatRepr(double d)
    {
        if (double.IsNaN(d))
        {
            return "nan";
        }
        if (double.IsInfinity(d))
        {
            return d > 0 ? "inf" : "-inf";
        }
        if (d == 0)
        {
            return double.IsNegative(d) ? "-0.0" : "0.0";
        }
        // .NET's "R" is the shortest round-trip form; re-lay its digits out Python's way.
        string r = Math.Abs(d).ToString("R", CultureInfo.InvariantCulture);
        int exponent = 0;
        int e = r.IndexOf('E', StringComparison.Ordinal);
        if (e >= 0)
        {
            exponent = int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            r = r[..e];
        }
        int dot = r.IndexOf('.', StringComparison.Ordinal);
        string intPart = dot >= 0 ? r[..dot] : r;
        string all = dot >= 0 ? intPart + r[(dot + 1)..] : intPart;
        string digits = all.TrimStart('0');
        // value = 0.<digits> x 10^decimalPoint
        int decimalPoint = intPart.Length + exponent - (all.Length - digits.Length);
        digits = digits.TrimEnd('0');
        string body;
        if (decimalPoint > 16 || decimalPoint < -3)
        {
            int exp = decimalPoint - 1;
            string mantissa = digits.Length > 1 ? $"{digits[0]}.{digits[1..]}" : digits;
            body = $"{mantissa}e{(exp < 0 ? '-' : '+')}{Math.Abs(exp).ToString("00", CultureInfo.InvariantCulture)}";
        }
        else if (decimalPoint <= 0)
        {
            body = "0." + new string('0', -decimalPoint) + digits;
        }
        else if (decimalPoint >= digits.Length)
        {
            body = digits + new string('0', decimalPoint - digits.Length) + ".0";
        }
        else
        {
            body = $"{digits[..decimalPoint]}.{digits[decimalPoint..]}";
        }
        return d < 0 ? "-" + body : body;
    }

    /// <summary><c>repr(str)</c>: single quotes unless the text has a single quote and no double quote.</summary>
    public static string StringRepr(string s)
    {
        char quote = s.Contains('\'', StringComparison.Ordinal) && !s.Contains('"', StringComparison.Ordinal) ? '"' : '\'';
        var sb = new StringBuilder(s.Length + 2);
        sb.Append(quote);
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == quote || c == '\\')
            {
                sb.Append('\\').Append(c);
            }
            else if (c == '\n')
            {
                sb.Append("\\n");
            }
            else if (c == '\r')
            {
                sb.Append("\\r");
            }
            else if (c == '\t')
            {
                sb.Append("\\t");
            }
            else if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                var rune = new Rune(c, s[i + 1]);
                if (IsPrintable(rune))
                {
                    sb.Append(c).Append(s[i + 1]);
                }
                else
                {
                    sb.Append(CultureInfo.InvariantCulture, $"\\U{rune.Value:x8}");
                }
                i++;
            }
            else if (char.IsSurrogate(c) || !IsPrintable(new Rune(c)))
            {
                sb.Append(c <= 0xff
                    ? string.Create(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}")
                    : string.Create(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"));
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.Append(quote).ToString();
    }

    /// <summary>Python's str.isprintable for one code point: not a control, format, separator (except space) or unassigned.</summary>
    private static bool IsPrintable(Rune rune)
    {
        if (rune.Value == ' ')
        {
            return true;
        }
        return Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
                or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned
                or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
                or UnicodeCategory.SpaceSeparator => false,
            _ => true,
        };
    }
}
