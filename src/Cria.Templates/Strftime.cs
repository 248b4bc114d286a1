using System.Globalization;
using System.Text;

namespace Cria.Templates;

/// <summary>
/// Python's <c>datetime.strftime</c> in the C locale, for the <c>strftime_now</c> global that
/// Llama 3.x templates call (<c>strftime_now("%d %b %Y")</c>). Also glibc's <c>%-d</c> (no padding)
/// and <c>%e</c>. Unknown directives are copied through.
/// </summary>
internal static class Strftime
{
    public static string Format(DateTimeOffset t, string format)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length)
            {
                sb.Append(format[i]);
                continue;
            }
            bool noPad = format[i + 1] == '-' && i + 2 < format.Length;
            char d = format[noPad ? i + 2 : i + 1];
            string pad2 = noPad ? "0" : "00";
            string? text = d switch
            {
                'a' => t.ToString("ddd", c),
                'A' => t.ToString("dddd", c),
                'w' => ((int)t.DayOfWeek).ToString(c),
                'u' => (t.DayOfWeek == DayOfWeek.Sunday ? 7 : (int)t.DayOfWeek).ToString(c),
                'd' => t.Day.ToString(pad2, c),
                'e' => t.Day.ToString(c).PadLeft(2),
                'b' or 'h' => t.ToString("MMM", c),
                'B' => t.ToString("MMMM", c),
                'm' => t.Month.ToString(pad2, c),
                'y' => (t.Year % 100).ToString(pad2, c),
                'Y' => t.Year.ToString(c),
                'H' => t.Hour.ToString(pad2, c),
                'I' => (t.Hour % 12 == 0 ? 12 : t.Hour % 12).ToString(pad2, c),
                'p' => t.Hour < 12 ? "AM" : "PM",
                'M' => t.Minute.ToString(pad2, c),
                'S' => t.Second.ToString(pad2, c),
                'f' => (t.Ticks % TimeSpan.TicksPerSecond / 10).ToString("000000", c),
                'j' => t.DayOfYear.ToString(noPad ? "0" : "000", c),
                'z' => (t.Offset < TimeSpan.Zero ? "-" : "+") + t.Offset.ToString("hhmm", c),
                'Z' => t.Offset == TimeSpan.Zero ? "UTC" : "",
                'U' => ((t.DayOfYear + 6 - (int)t.DayOfWeek) / 7).ToString(pad2, c),
                'W' => ((t.DayOfYear + 6 - (((int)t.DayOfWeek + 6) % 7)) / 7).ToString(pad2, c),
                'V' => ISOWeek.GetWeekOfYear(t.DateTime).ToString(pad2, c),
                'G' => ISOWeek.GetYear(t.DateTime).ToString(c),
                'c' => $"{t.ToString("ddd MMM", c)} {t.Day.ToString(c).PadLeft(2)} {t.ToString("HH:mm:ss yyyy", c)}",
                'x' => t.ToString("MM/dd/yy", c),
                'X' => t.ToString("HH:mm:ss", c),
                'D' => t.ToString("MM/dd/yy", c),
                'F' => t.ToString("yyyy-MM-dd", c),
                'T' => t.ToString("HH:mm:ss", c),
                'R' => t.ToString("HH:mm", c),
                'n' => "\n",
                't' => "\t",
                '%' => "%",
                _ => null,
            };
            if (text is null)
            {
                sb.Append('%');
                continue;
            }
            sb.Append(text);
            i += noPad ? 2 : 1;
        }
        return sb.ToString();
    }
}
