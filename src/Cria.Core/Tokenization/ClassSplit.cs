namespace Cria.Core.Tokenization;

/// <summary>How a <see cref="ClassSplit"/> pattern uses its class X.</summary>
internal enum ClassPattern
{
    /// <summary><c>X</c>: one character</summary>
    One,

    /// <summary><c>X+</c></summary>
    Run,

    /// <summary><c>\s?X+</c></summary>
    SpaceThenRun,

    /// <summary><c>XXX</c>: exactly three</summary>
    Three,
}

/// <summary>
/// A single-class regex pattern (<c>[\r\n]</c>, <c>\s?\p{L}+</c>, <c>\p{N}</c>, <c>[0-9][0-9][0-9]</c> ...)
/// matched leftmost-first over a piece, keeping matches and the gaps between them, which is what
/// llama.cpp's std::regex splitter does with these patterns.
/// </summary>
internal sealed class ClassSplit(CharClass cls, ClassPattern pattern) : SplitStep
{
    // [0x10000 / 64] membership of each BMP code point, so the scan does one bit test per character
    private readonly ulong[] _bmp = BuildBmp(cls);

    public override void Split(CodepointText text, int start, int end, List<TextPiece> output)
    {
        int emitted = start;
        int pos = start;
        while (pos < end)
        {
            int matchEnd = MatchAt(text, pos, end);
            if (matchEnd < 0)
            {
                pos++;
                continue;
            }
            Emit(output, ref emitted, pos);
            pos = Emit(output, ref emitted, matchEnd);
        }
        Emit(output, ref emitted, end);
    }

    private int MatchAt(CodepointText text, int pos, int end)
    {
        switch (pattern)
        {
            case ClassPattern.One:
                return In(text[pos]) ? pos + 1 : -1;
            case ClassPattern.Run:
                return In(text[pos]) ? RunEnd(text, pos, end) : -1;
            case ClassPattern.SpaceThenRun:
                // \s? takes the space when a run follows it; otherwise the run must start here
                if (CharClasses.IsSpace(text[pos]) && pos + 1 < end && In(text[pos + 1]))
                {
                    return RunEnd(text, pos + 1, end);
                }
                return In(text[pos]) ? RunEnd(text, pos, end) : -1;
            default:
                return pos + 3 <= end && In(text[pos]) && In(text[pos + 1]) && In(text[pos + 2]) ? pos + 3 : -1;
        }
    }

    private bool In(int cp) => cp < 0x10000 ? (_bmp[cp >> 6] & (1UL << (cp & 63))) != 0 : CharClasses.Contains(cls, cp);

    private static ulong[] BuildBmp(CharClass cls)
    {
        var bits = new ulong[0x10000 / 64];
        for (int cp = 0; cp < 0x10000; cp++)
        {
            if (CharClasses.Contains(cls, cp))
            {
                bits[cp >> 6] |= 1UL << (cp & 63);
            }
        }
        return bits;
    }

    private int RunEnd(CodepointText text, int p, int end)
    {
        while (p < end && In(text[p]))
        {
            p++;
        }
        return p;
    }
}
