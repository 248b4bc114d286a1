using System.Text;

namespace Cria.Templates;

/// <summary>
/// Python counts and slices strings by code point; .NET by UTF-16 unit. Strings without surrogates
/// (nearly all) take the direct path; the others are split into code points first.
/// </summary>
internal static class PyString
{
    public static bool HasSurrogates(string s) => s.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') >= 0;

    /// <summary>The string as code points, each as its own string (a lone surrogate counts as one).</summary>
    public static List<string> CodePoints(string s)
    {
        var points = new List<string>(s.Length);
        for (int i = 0; i < s.Length;)
        {
            int width = char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]) ? 2 : 1;
            points.Add(s.Substring(i, width));
            i += width;
        }
        return points;
    }

    public static int Length(string s) => HasSurrogates(s) ? CodePoints(s).Count : s.Length;

    /// <summary>The code point at <paramref name="index"/> (negative counts from the end), or null when out of range.</summary>
    public static string? At(string s, long index)
    {
        if (!HasSurrogates(s))
        {
            long i = index < 0 ? index + s.Length : index;
            return i >= 0 && i < s.Length ? s[(int)i].ToString() : null;
        }
        List<string> points = CodePoints(s);
        long j = index < 0 ? index + points.Count : index;
        return j >= 0 && j < points.Count ? points[(int)j] : null;
    }

    public static string Slice(string s, long? start, long? stop, long? step)
    {
        if (!HasSurrogates(s) && (step ?? 1) == 1)
        {
            (int from, int to) = SliceBounds(s.Length, start, stop);
            return to > from ? s[from..to] : "";
        }
        List<string> points = CodePoints(s);
        var sb = new StringBuilder();
        foreach (int i in SliceIndices(points.Count, start, stop, step))
        {
            sb.Append(points[i]);
        }
        return sb.ToString();
    }

    public static string Reverse(string s)
    {
        List<string> points = CodePoints(s);
        points.Reverse();
        return string.Concat(points);
    }

    /// <summary>Python's slice.indices for step 1.</summary>
    private static (int From, int To) SliceBounds(int length, long? start, long? stop)
    {
        long from = Clamp(start ?? 0, length);
        long to = Clamp(stop ?? length, length);
        return ((int)from, (int)to);

        static long Clamp(long v, int length) => v < 0 ? Math.Max(0, v + length) : Math.Min(v, length);
    }

    /// <summary>The indices a Python slice <c>[start:stop:step]</c> visits in a sequence of <paramref name="length"/>.</summary>
    public static IEnumerable<int> SliceIndices(int length, long? start, long? stop, long? step)
    {
        long st = step ?? 1;
        if (st == 0)
        {
            throw Errors.Runtime("slice step cannot be zero");
        }
        long lo, hi;
        if (st > 0)
        {
            lo = start is null ? 0 : Adjust(start.Value, length, 0, length);
            hi = stop is null ? length : Adjust(stop.Value, length, 0, length);
            for (long i = lo; i < hi; i += st)
            {
                yield return (int)i;
            }
        }
        else
        {
            lo = start is null ? length - 1 : Adjust(start.Value, length, -1, length - 1);
            hi = stop is null ? -1 : Adjust(stop.Value, length, -1, length - 1);
            for (long i = lo; i > hi; i += st)
            {
                yield return (int)i;
            }
        }

        static long Adjust(long v, int length, long min, long max)
        {
            if (v < 0)
            {
                v += length;
            }
            return Math.Clamp(v, min, max);
        }
    }
}
