namespace Cria.Core.Tokenization;

/// <summary>
/// The character classes of the pre-tokenizer patterns that llama.cpp runs through std::regex
/// rather than a hand-written scanner (DeepSeek, the "default" fallback, Falcon, StarCoder).
/// std::regex sees a transformed text, and the classes here test that same view:
/// <list type="bullet">
/// <item>patterns with <c>\p{..}</c> see the "collapsed" text: ASCII as is, every other code point
/// replaced by one byte for its category (letter, number, punctuation, ...);</item>
/// <item>patterns without see the code points themselves;</item>
/// <item>in both, a non-ASCII White_Space code point is replaced by U+000B, so that <c>\s</c>
/// (std::regex's C-locale <c>[ \t\n\v\f\r]</c>) matches it and the other classes do not.</item>
/// </list>
/// Reference: llama.cpp src/unicode.cpp, <c>unicode_regex_split</c>.
/// </summary>
internal enum CharClass
{
    /// <summary><c>[\r\n]</c></summary>
    CrLf,

    /// <summary><c>\p{L}</c>, collapsed</summary>
    Letter,

    /// <summary><c>\p{N}</c>, collapsed</summary>
    Number,

    /// <summary><c>\p{P}</c>, collapsed (ASCII part: <c>!-#%-*,-/:-;?-@[-]_{}</c>)</summary>
    Punctuation,

    /// <summary><c>[\p{P}\$\+&lt;=&gt;\^~\|]</c>, the default pre-tokenizer's first pattern</summary>
    PunctuationAndSymbols,

    /// <summary><c>[\p{P}\$\+&lt;=&gt;\^~\|`]</c>, Falcon's first pattern</summary>
    PunctuationAndSymbolsWithBacktick,

    /// <summary><c>[0-9]</c></summary>
    AsciiDigit,

    /// <summary>DeepSeek LLM's letter class (Unicode cased letters), from its tokenizer.json</summary>
    DeepSeekLetter,

    /// <summary>DeepSeek LLM's <c>[!-/:-~！-／：-～‘-‟　-。]</c></summary>
    DeepSeekPunctuation,

    /// <summary>DeepSeek's <c>[一-龥ࠀ-一가-퟿]</c> (CJK ideographs, U+0800..U+9FA5, Hangul)</summary>
    DeepSeekCjk,
}

internal static class CharClasses
{
    // DeepSeek LLM's letter class as inclusive code point ranges, sorted.
    private static readonly (int Lo, int Hi)[] s_deepSeekLetters =
    [
        (0x0041, 0x005A), (0x0061, 0x007A), (0x00B5, 0x00B5), (0x00C0, 0x00D6), (0x00D8, 0x00F6), (0x00F8, 0x01BA),
        (0x01BC, 0x01BF), (0x01C4, 0x0293), (0x0295, 0x02AF), (0x0370, 0x0373), (0x0376, 0x0377), (0x037B, 0x037D),
        (0x037F, 0x037F), (0x0386, 0x0386), (0x0388, 0x038A), (0x038C, 0x038C), (0x038E, 0x03A1), (0x03A3, 0x03F5),
        (0x03F7, 0x0481), (0x048A, 0x052F), (0x0531, 0x0556), (0x10A0, 0x10C5), (0x13A0, 0x13F5), (0x13F8, 0x13FD),
        (0x1C90, 0x1CBA), (0x1CBD, 0x1CBF), (0x1D00, 0x1D2B), (0x1D6B, 0x1D77), (0x1D79, 0x1D9A), (0x1E00, 0x1F15),
        (0x1F18, 0x1F1D), (0x1F20, 0x1F45), (0x1F48, 0x1F4D), (0x1F50, 0x1F57), (0x1F59, 0x1F59), (0x1F5B, 0x1F5B),
        (0x1F5D, 0x1F5D), (0x1F5F, 0x1F7D), (0x1F80, 0x1FB4), (0x1FB6, 0x1FBC), (0x1FBE, 0x1FBE), (0x1FC2, 0x1FC4),
        (0x1FC6, 0x1FCC), (0x1FD0, 0x1FD3), (0x1FD6, 0x1FDB), (0x1FE0, 0x1FEC), (0x1FF2, 0x1FF4), (0x1FF6, 0x1FFC),
        (0x2102, 0x2102), (0x2107, 0x2107), (0x210A, 0x2113), (0x2115, 0x2115), (0x2119, 0x211D), (0x2124, 0x2124),
        (0x2126, 0x2126), (0x2128, 0x2128), (0x212A, 0x212D), (0x212F, 0x2134), (0x2139, 0x2139), (0x213C, 0x213F),
        (0x2145, 0x2149), (0x214E, 0x214E), (0x2183, 0x2184), (0x2C00, 0x2C7B), (0x2C7E, 0x2CE4), (0x2CEB, 0x2CEE),
        (0x2CF2, 0x2CF3), (0xA640, 0xA66D), (0xA680, 0xA69B), (0xA722, 0xA76F), (0xA771, 0xA787), (0xA78B, 0xA78E),
        (0xAB70, 0xABBF), (0xFB00, 0xFB06), (0xFB13, 0xFB17), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A), (0x10400, 0x1044F),
        (0x104B0, 0x104D3), (0x104D8, 0x104FB), (0x10C80, 0x10CB2), (0x10CC0, 0x10CF2), (0x118A0, 0x118DF), (0x1E900, 0x1E943),
    ];

    /// <summary><c>\s</c> on the transformed text: ASCII <c>[ \t\n\v\f\r]</c>, or any non-ASCII White_Space code point.</summary>
    public static bool IsSpace(int cp) => cp < 0x80 ? cp is (>= 0x09 and <= 0x0D) or 0x20 : Codepoints.IsWhitespace(cp);

    public static bool Contains(CharClass cls, int cp)
    {
        if (cp >= 0x80 && Codepoints.IsWhitespace(cp))
        {
            return false; // seen by std::regex as U+000B
        }
        return cls switch
        {
            CharClass.CrLf => cp is '\r' or '\n',
            CharClass.Letter => cp < 0x80 ? cp is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') : Category(cp) == CodepointFlags.Letter,
            CharClass.Number => cp < 0x80 ? cp is >= '0' and <= '9' : Category(cp) == CodepointFlags.Number,
            CharClass.Punctuation => IsPunctuation(cp),
            CharClass.PunctuationAndSymbols => IsPunctuation(cp) || cp is '$' or '+' or '<' or '=' or '>' or '^' or '~' or '|',
            CharClass.PunctuationAndSymbolsWithBacktick => IsPunctuation(cp) || cp is '$' or '+' or '<' or '=' or '>' or '^' or '~' or '|' or '`',
            CharClass.AsciiDigit => cp is >= '0' and <= '9',
            CharClass.DeepSeekLetter => InRanges(cp),
            CharClass.DeepSeekPunctuation => cp is (>= 0x21 and <= 0x2F) or (>= 0x3A and <= 0x7E) or (>= 0xFF01 and <= 0xFF0F)
                or (>= 0xFF1A and <= 0xFF5E) or (>= 0x2018 and <= 0x201F) or (>= 0x3000 and <= 0x3002),
            CharClass.DeepSeekCjk => cp is (>= 0x0800 and <= 0x9FA5) or (>= 0xAC00 and <= 0xD7FF),
            _ => false,
        };
    }

    // The collapsed \p{P}: llama.cpp's ASCII list !-#%-*,-/:-;?-@[-]_{} (no $+<=>^`|~, which are \p{S}).
    private static bool IsPunctuation(int cp) => cp < 0x80
        ? cp is (>= 0x21 and <= 0x23) or (>= 0x25 and <= 0x2A) or (>= 0x2C and <= 0x2F) or 0x3A or 0x3B or 0x3F or 0x40
            or (>= 0x5B and <= 0x5D) or 0x5F or 0x7B or 0x7D
        : Category(cp) == CodepointFlags.Punctuation;

    private static CodepointFlags Category(int cp) => Codepoints.Flags(cp) & ~CodepointFlags.Whitespace;

    private static bool InRanges(int cp)
    {
        (int Lo, int Hi)[] r = s_deepSeekLetters;
        int lo = 0;
        int hi = r.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (cp < r[mid].Lo)
            {
                hi = mid - 1;
            }
            else if (cp > r[mid].Hi)
            {
                lo = mid + 1;
            }
            else
            {
                return true;
            }
        }
        return false;
    }
}
