using System.Text;

namespace Cria.Templates.Tests;

/// <summary>Golden-string comparison that fails with the first differing position and both sides escaped around it.</summary>
internal static class TextDiff
{
    public static void AssertSame(string expected, string actual, string label)
    {
        if (string.Equals(expected, actual, StringComparison.Ordinal))
        {
            return;
        }
        int at = 0;
        while (at < expected.Length && at < actual.Length && expected[at] == actual[at])
        {
            at++;
        }
        int from = Math.Max(0, at - 40);
        Assert.Fail(
            $"{label}: renders differ at char {at} (expected {expected.Length} chars, got {actual.Length})\n" +
            $"  expected: ...{Escape(expected, from, at + 40)}...\n" +
            $"  actual:   ...{Escape(actual, from, at + 40)}...\n" +
            $"  full expected: {Escape(expected, 0, expected.Length)}\n" +
            $"  full actual:   {Escape(actual, 0, actual.Length)}");
    }

    private static string Escape(string s, int from, int to)
    {
        var sb = new StringBuilder();
        for (int i = from; i < Math.Min(to, s.Length); i++)
        {
            sb.Append(s[i] switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ => s[i].ToString(),
            });
        }
        return sb.ToString();
    }
}
