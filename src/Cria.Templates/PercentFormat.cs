using System.Globalization;
using System.Text;

namespace Cria.Templates;

/// <summary>Python's printf-style <c>"%s and %d" % (a, b)</c>, used by the <c>%</c> operator and the <c>format</c> filter.</summary>
internal static class PercentFormat
{
    public static string Format(string format, Value args)
    {
        List<Value> values = args is ListValue { IsTuple: true } tuple ? tuple.Items : [args];
        DictValue? mapping = args as DictValue;
        int next = 0;
        var sb = new StringBuilder();
        int i = 0;
        while (i < format.Length)
        {
            char c = format[i++];
            if (c != '%')
            {
                sb.Append(c);
                continue;
            }
            if (i >= format.Length)
            {
                throw Errors.Runtime("incomplete format");
            }
            Value? value = null;
            if (format[i] == '(')
            {
                int close = format.IndexOf(')', i);
                if (close < 0 || mapping is null)
                {
                    throw Errors.Runtime("format requires a mapping");
                }
                string key = format[(i + 1)..close];
                value = mapping.TryGet(key, out Value v) ? v : throw Errors.Runtime($"format key '{key}' not found");
                i = close + 1;
            }
            string flags = "";
            while (i < format.Length && "-+ #0".Contains(format[i], StringComparison.Ordinal))
            {
                flags += format[i++];
            }
            int width = ReadNumber(format, ref i, values, ref next);
            int precision = -1;
            if (i < format.Length && format[i] == '.')
            {
                i++;
                precision = Math.Max(0, ReadNumber(format, ref i, values, ref next));
            }
            while (i < format.Length && format[i] is 'h' or 'l' or 'L')
            {
                i++;
            }
            if (i >= format.Length)
            {
                throw Errors.Runtime("incomplete format");
            }
            char conversion = format[i++];
            if (conversion == '%')
            {
                sb.Append('%');
                continue;
            }
            if (value is null)
            {
                if (next >= values.Count)
                {
                    throw Errors.Runtime("not enough arguments for format string");
                }
                value = values[next++];
            }
            sb.Append(Pad(Convert(conversion, value, flags, precision), width, flags, conversion));
        }
        if (mapping is null && next < values.Count)
        {
            throw Errors.Runtime("not all arguments converted during string formatting");
        }
        return sb.ToString();
    }

    private static int ReadNumber(string format, ref int i, List<Value> values, ref int next)
    {
        if (i < format.Length && format[i] == '*')
        {
            i++;
            return next < values.Count ? (int)ValueOps.ToLong(values[next++]) : throw Errors.Runtime("not enough arguments for format string");
        }
        int start = i;
        while (i < format.Length && char.IsAsciiDigit(format[i]))
        {
            i++;
        }
        return i > start ? int.Parse(format.AsSpan(start, i - start), CultureInfo.InvariantCulture) : -1;
    }

    private static string Convert(char conversion, Value value, string flags, int precision)
    {
        switch (conversion)
        {
            case 's' or 'r' or 'a':
                string text = conversion == 's' ? value.ToString() : value.Repr();
                return precision >= 0 && precision < text.Length ? text[..precision] : text;
            case 'd' or 'i' or 'u':
                return Signed(Integer(value, conversion).ToString(CultureInfo.InvariantCulture), flags);
            case 'x' or 'X' or 'o':
                long n = Integer(value, conversion);
                string digits = conversion == 'o' ? System.Convert.ToString(Math.Abs(n), 8) : Math.Abs(n).ToString(conversion == 'x' ? "x" : "X", CultureInfo.InvariantCulture);
                if (flags.Contains('#', StringComparison.Ordinal))
                {
                    digits = (conversion == 'o' ? "0o" : conversion == 'x' ? "0x" : "0X") + digits;
                }
                return Signed(n < 0 ? "-" + digits : digits, flags);
            case 'f' or 'F' or 'e' or 'E' or 'g' or 'G':
                return Signed(FormatFloat(Real(value, conversion), conversion, precision < 0 ? 6 : precision), flags);
            case 'c':
                return value is StringValue { Value.Length: 1 } s ? s.Value : char.ConvertFromUtf32((int)ValueOps.ToLong(value));
            default:
                throw Errors.Runtime($"unsupported format character '{conversion}'");
        }
    }

    private static long Integer(Value value, char conversion) => value switch
    {
        IntValue or BoolValue => ValueOps.ToLong(value),
        FloatValue f => (long)Math.Truncate(f.Value),
        _ => throw Errors.Runtime($"%{conversion} format: a real number is required, not {value.TypeName}"),
    };

    private static double Real(Value value, char conversion) => ValueOps.IsNumber(value)
        ? ValueOps.ToDouble(value)
        : throw Errors.Runtime($"%{conversion} format: a real number is required, not {value.TypeName}");

    /// <summary>C's %f/%e/%g with Python's two-digit minimum exponent.</summary>
    public static string FormatFloat(double d, char conversion, int precision)
    {
        if (double.IsNaN(d) || double.IsInfinity(d))
        {
            string special = double.IsNaN(d) ? "nan" : d > 0 ? "inf" : "-inf";
            return char.IsUpper(conversion) ? special.ToUpperInvariant() : special;
        }
        switch (char.ToLowerInvariant(conversion))
        {
            case 'f':
                return d.ToString("F" + precision.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
            case 'e':
                return Exponent(d, precision, conversion == 'E');
            default:
                int p = precision == 0 ? 1 : precision;
                if (d == 0)
                {
                    return "0";
                }
                int x = (int)Math.Floor(Math.Log10(Math.Abs(double.Parse(Exponent(d, p - 1, false), CultureInfo.InvariantCulture))));
                string s = x >= -4 && x < p
                    ? d.ToString("F" + (p - 1 - x).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture)
                    : Exponent(d, p - 1, conversion == 'G');
                int e = s.IndexOfAny(['e', 'E']);
                string mantissa = e >= 0 ? s[..e] : s;
                if (mantissa.Contains('.', StringComparison.Ordinal))
                {
                    mantissa = mantissa.TrimEnd('0').TrimEnd('.');
                }
                return e >= 0 ? mantissa + s[e..] : mantissa;
        }
    }

    private static string Exponent(double d, int precision, bool upper)
    {
        string s = d.ToString((upper ? "E" : "e") + precision.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        int e = s.IndexOfAny(['e', 'E']);
        int exp = int.Parse(s.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        return $"{s[..(e + 1)]}{(exp < 0 ? '-' : '+')}{Math.Abs(exp).ToString("00", CultureInfo.InvariantCulture)}";
    }

    private static string Signed(string number, string flags)
    {
        if (number.StartsWith('-'))
        {
            return number;
        }
        return flags.Contains('+', StringComparison.Ordinal) ? "+" + number
            : flags.Contains(' ', StringComparison.Ordinal) ? " " + number
            : number;
    }

    private static string Pad(string text, int width, string flags, char conversion)
    {
        if (width <= text.Length)
        {
            return text;
        }
        if (flags.Contains('-', StringComparison.Ordinal))
        {
            return text.PadRight(width);
        }
        if (flags.Contains('0', StringComparison.Ordinal) && conversion is not ('s' or 'r' or 'a' or 'c'))
        {
            int signLength = text.Length > 0 && text[0] is '-' or '+' or ' ' ? 1 : 0;
            return text[..signLength] + new string('0', width - text.Length) + text[signLength..];
        }
        return text.PadLeft(width);
    }
}
