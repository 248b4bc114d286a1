namespace Cria.Guard.Detectors;

/// <summary>Small questions the detectors ask about the text around a candidate span.</summary>
internal static class TextScan
{
    /// <summary>
    /// True when [start, end) is not part of a longer token: no letter, digit or underscore touches it, nor a
    /// separator that continues into a digit (<c>1.2.3.4.5</c>, <c>12-34-56-78</c>).
    /// </summary>
    public static bool Isolated(string text, int start, int end)
    {
        if (start > 0)
        {
            char b = text[start - 1];
            if (char.IsLetterOrDigit(b) || b == '_')
            {
                return false;
            }
            if (b is '-' or '.' or '/' or ':' or '+' && start > 1 && char.IsAsciiDigit(text[start - 2]))
            {
                return false;
            }
        }
        if (end < text.Length)
        {
            char a = text[end];
            if (char.IsLetterOrDigit(a) || a == '_')
            {
                return false;
            }
            if (a is '-' or '.' or '/' or ':' && end + 1 < text.Length && char.IsAsciiDigit(text[end + 1]))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Whether any of <paramref name="words"/> (lower case) occurs in the <paramref name="width"/> characters before <paramref name="start"/>.</summary>
    public static bool Before(string text, int start, int width, ReadOnlySpan<string> words)
    {
        int from = Math.Max(0, start - width);
        ReadOnlySpan<char> window = text.AsSpan(from, start - from);
        foreach (string word in words)
        {
            if (window.Contains(word, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The ASCII digits of a span, separators dropped, into <paramref name="into"/>; returns how many.</summary>
    public static int Digits(ReadOnlySpan<char> span, Span<char> into)
    {
        int n = 0;
        foreach (char c in span)
        {
            if (char.IsAsciiDigit(c))
            {
                if (n == into.Length)
                {
                    return n + 1;
                }
                into[n++] = c;
            }
        }
        return n;
    }

    /// <summary>Shannon entropy in bits per character, for telling random keys from words.</summary>
    public static double Entropy(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty)
        {
            return 0;
        }
        Span<int> counts = stackalloc int[128];
        counts.Clear();
        int other = 0;
        foreach (char c in s)
        {
            if (c < 128)
            {
                counts[c]++;
            }
            else
            {
                other++;
            }
        }
        double h = 0;
        foreach (int count in counts)
        {
            if (count > 0)
            {
                double p = (double)count / s.Length;
                h -= p * Math.Log2(p);
            }
        }
        if (other > 0)
        {
            double p = (double)other / s.Length;
            h -= p * Math.Log2(p);
        }
        return h;
    }

    /// <summary>Whether a key-like string mixes character classes as generated keys do (letters and digits at least).</summary>
    public static bool LooksRandom(ReadOnlySpan<char> s, double minEntropy)
    {
        bool digit = false, lower = false, upper = false;
        foreach (char c in s)
        {
            digit |= char.IsAsciiDigit(c);
            lower |= char.IsAsciiLetterLower(c);
            upper |= char.IsAsciiLetterUpper(c);
        }
        int classes = (digit ? 1 : 0) + (lower ? 1 : 0) + (upper ? 1 : 0);
        return classes >= 2 && digit && Entropy(s) >= minEntropy;
    }
}
