using System.Globalization;

namespace Cria.Grammar;

/// <summary>
/// Characters as they are written inside a JSON string (RFC 8259 §7): most as themselves, <c>"</c> and
/// <c>\</c> and control characters only escaped. Used for the character classes of a schema's <c>pattern</c>.
/// </summary>
internal static class JsonStringContent
{
    private static readonly CodePointSet s_surrogates = CodePointSet.FromRanges([(0xD800, 0xDFFF)]);
    private static readonly CodePointSet s_needsEscape = CodePointSet.FromRanges([(0, 0x1F), ('"', '"'), ('\\', '\\')]);

    /// <summary>GBNF for <paramref name="set"/> written inside a JSON string (without a rule around it).</summary>
    public static string Gbnf(CodePointSet set)
    {
        var parts = new List<string>();
        CodePointSet plain = set.Except(s_needsEscape).Except(s_surrogates);
        if (!plain.IsEmpty)
        {
            parts.Add(plain.RangeCount == 1 && plain.Range(0).Lo == plain.Range(0).Hi
                ? GbnfText.Literal(char.ConvertFromUtf32(plain.Range(0).Lo))
                : plain.ToString());
        }
        foreach ((int lo, int hi) in set.Intersect(s_needsEscape).Ranges())
        {
            for (int c = lo; c <= hi; c++)
            {
                string escaped = c switch
                {
                    '"' => "\\\"",
                    '\\' => "\\\\",
                    '\b' => "\\b",
                    '\f' => "\\f",
                    '\n' => "\\n",
                    '\r' => "\\r",
                    '\t' => "\\t",
                    _ => string.Create(CultureInfo.InvariantCulture, $"\\u{c:x4}"),
                };
                parts.Add(GbnfText.Literal(escaped));
            }
        }
        if (parts.Count == 0)
        {
            return "";
        }
        return parts.Count == 1 ? parts[0] : "(" + string.Join(" | ", parts) + ")";
    }
}
