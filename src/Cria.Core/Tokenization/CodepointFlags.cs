using System.Globalization;

namespace Cria.Core.Tokenization;

/// <summary>
/// The Unicode classes llama.cpp's pre-tokenizers test (unicode.h <c>unicode_cpt_flags</c>): one
/// general-category group per code point, plus White_Space as a separate bit.
/// </summary>
[Flags]
internal enum CodepointFlags : ushort
{
    None = 0,
    Undefined = 1 << 0,   // Cn: unassigned
    Number = 1 << 1,      // \p{N}
    Letter = 1 << 2,      // \p{L}
    Separator = 1 << 3,   // \p{Z}
    Mark = 1 << 4,        // \p{M}
    Punctuation = 1 << 5, // \p{P}
    Symbol = 1 << 6,      // \p{S}
    Control = 1 << 7,     // \p{C}
    Whitespace = 1 << 8,  // \s as llama.cpp defines it (Unicode White_Space)
}

/// <summary>Category lookups for code points; the BMP is a table, the rest is asked of .NET's Unicode data.</summary>
internal static class Codepoints
{
    public const int Replacement = 0xFFFD;

    private static readonly CodepointFlags[] s_bmp = BuildBmp();

    public static CodepointFlags Flags(int cp) => (uint)cp < 0x10000 ? s_bmp[cp] : Classify(cp);

    /// <summary>
    /// Unicode's White_Space property: the set llama.cpp's unicode-data.cpp lists. It leaves out
    /// U+001C..U+001F, which .NET's char.IsWhiteSpace and Python's str.isspace include.
    /// </summary>
    public static bool IsWhitespace(int cp) => cp switch
    {
        >= 0x09 and <= 0x0D => true,
        0x20 or 0x85 or 0xA0 or 0x1680 => true,
        >= 0x2000 and <= 0x200A => true,
        0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000 => true,
        _ => false,
    };

    private static CodepointFlags[] BuildBmp()
    {
        var table = new CodepointFlags[0x10000];
        for (int cp = 0; cp < table.Length; cp++)
        {
            table[cp] = Classify(cp);
        }
        return table;
    }

    private static CodepointFlags Classify(int cp)
    {
        CodepointFlags flags = CharUnicodeInfo.GetUnicodeCategory(cp) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CodepointFlags.Letter,
            UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark => CodepointFlags.Mark,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => CodepointFlags.Number,
            UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator => CodepointFlags.Separator,
            UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
                or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
                or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation => CodepointFlags.Punctuation,
            UnicodeCategory.MathSymbol or UnicodeCategory.CurrencySymbol or UnicodeCategory.ModifierSymbol
                or UnicodeCategory.OtherSymbol => CodepointFlags.Symbol,
            UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse => CodepointFlags.Control,
            _ => CodepointFlags.Undefined,
        };
        return IsWhitespace(cp) ? flags | CodepointFlags.Whitespace : flags;
    }
}
