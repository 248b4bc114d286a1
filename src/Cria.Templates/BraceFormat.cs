using System.Globalization;
using System.Text;

namespace Cria.Templates;

/// <summary>
/// Python's <c>str.format</c>: <c>{}</c>, <c>{0}</c>, <c>{name}</c>, <c>!r</c>/<c>!s</c>, and format
/// specs <c>[[fill]align][sign][0][width][,][.precision][type]</c>. Attribute and index chains inside
/// a field (<c>{0.name}</c>) are not supported.
/// </summary>
internal static class BraceFormat
{
    public static string Format(string format, Arguments args)
    {
        var sb = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c == '}')
            {
                if (i + 1 < format.Length && format[i + 1] == '}')
                {
                    sb.Append('}');
                    i++;
                    continue;
                }
                throw Errors.Runtime("Single '}' encountered in format string");
            }
            if (c != '{')
            {
                sb.Append(c);
                continue;
            }
            if (i + 1 < format.Length && format[i + 1] == '{')
            {
                sb.Append('{');
                i++;
                continue;
            }
            int close = format.IndexOf('}', i);
            if (close < 0)
            {
                throw Errors.Runtime("Single '{' encountered in format string");
            }
            string field = format[(i + 1)..close];
            i = close;
            string spec = "";
            int colon = field.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0)
            {
                spec = field[(colon + 1)..];
                field = field[..colon];
            }
            char conversion = 's';
            int bang = field.IndexOf('!', StringComparison.Ordinal);
            if (bang >= 0)
            {
                conversion = bang + 1 < field.Length ? field[bang + 1] : 's';
                field = field[..bang];
            }
            Value value;
            if (field.Length == 0)
            {
                value = auto < args.Positional.Count ? args.Positional[auto++] : throw Errors.Runtime("Replacement index out of range for positional args tuple");
            }
            else if (int.TryParse(field, NumberStyles.None, CultureInfo.InvariantCulture, out int index))
            {
                value = index < args.Positional.Count ? args.Positional[index] : throw Errors.Runtime($"Replacement index {index} out of range for positional args tuple");
            }
            else
            {
                value = args.Named.FirstOrDefault(kv => kv.Key == field).Value ?? throw Errors.Runtime($"format key '{field}' not given");
            }
            if (conversion is 'r' or 'a')
            {
                value = StringValue.Of(value.Repr());
            }
            sb.Append(ApplySpec(value, spec));
        }
        return sb.ToString();
    }

    private static string ApplySpec(Value value, string spec)
    {
        if (spec.Length == 0)
        {
            return value.ToString();
        }
        int i = 0;
        char fill = ' ';
        char align = '\0';
        if (spec.Length >= 2 && spec[1] is '<' or '>' or '^' or '=')
        {
            fill = spec[0];
            align = spec[1];
            i = 2;
        }
        else if (spec[0] is '<' or '>' or '^' or '=')
        {
            align = spec[0];
            i = 1;
        }
        char sign = '-';
        if (i < spec.Length && spec[i] is '+' or '-' or ' ')
        {
            sign = spec[i++];
        }
        if (i < spec.Length && spec[i] == '0')
        {
            fill = '0';
            align = align == '\0' ? '=' : align;
            i++;
        }
        int width = ReadInt(spec, ref i);
        bool grouping = i < spec.Length && spec[i] == ',';
        if (grouping)
        {
            i++;
        }
        int precision = -1;
        if (i < spec.Length && spec[i] == '.')
        {
            i++;
            precision = ReadInt(spec, ref i);
        }
        char type = i < spec.Length ? spec[i] : '\0';
        string text;
        bool numeric = ValueOps.IsNumber(value);
        if (type is 'f' or 'F' or 'e' or 'E' or 'g' or 'G' or '%' || (numeric && value is FloatValue && type == '\0' && precision >= 0))
        {
            double d = ValueOps.ToDouble(value) * (type == '%' ? 100 : 1);
            char conv = type is '\0' or '%' ? 'f' : type;
            text = PercentFormat.FormatFloat(Math.Abs(d), conv, precision < 0 ? 6 : precision) + (type == '%' ? "%" : "");
            text = SignOf(d < 0, sign) + text;
        }
        else if (type is 'd' or 'x' or 'X' or 'o' or 'b' || (numeric && type == '\0' && value is not FloatValue))
        {
            long n = ValueOps.ToLong(value);
            ulong magnitude = n == long.MinValue ? (ulong)long.MaxValue + 1 : (ulong)Math.Abs(n);
            string digits = type switch
            {
                'x' => magnitude.ToString("x", CultureInfo.InvariantCulture),
                'X' => magnitude.ToString("X", CultureInfo.InvariantCulture),
                'o' => Convert.ToString((long)magnitude, 8),
                'b' => Convert.ToString((long)magnitude, 2),
                _ => grouping ? magnitude.ToString("#,0", CultureInfo.InvariantCulture) : magnitude.ToString(CultureInfo.InvariantCulture),
            };
            text = SignOf(n < 0, sign) + digits;
        }
        else
        {
            text = value.ToString();
            if (precision >= 0 && precision < text.Length)
            {
                text = text[..precision];
            }
        }
        if (width <= text.Length)
        {
            return text;
        }
        align = align == '\0' ? numeric ? '>' : '<' : align;
        int pad = width - text.Length;
        return align switch
        {
            '<' => text + new string(fill, pad),
            '^' => new string(fill, pad / 2) + text + new string(fill, pad - (pad / 2)),
            '=' when text.Length > 0 && text[0] is '+' or '-' or ' ' => text[0] + new string(fill, pad) + text[1..],
            _ => new string(fill, pad) + text,
        };
    }

    private static string SignOf(bool negative, char sign) => negative ? "-" : sign == '+' ? "+" : sign == ' ' ? " " : "";

    private static int ReadInt(string spec, ref int i)
    {
        int start = i;
        while (i < spec.Length && char.IsAsciiDigit(spec[i]))
        {
            i++;
        }
        return i > start ? int.Parse(spec.AsSpan(start, i - start), CultureInfo.InvariantCulture) : -1;
    }
}
