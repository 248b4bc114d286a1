namespace Cria.Core.Tokenization;

/// <summary>
/// One pass of a pre-tokenizer. It cuts a piece of text into consecutive pieces that cover it
/// exactly: the matches of its pattern and the gaps between them, as llama.cpp's
/// <c>unicode_regex_split</c> keeps both.
/// </summary>
internal abstract class SplitStep
{
    public abstract void Split(CodepointText text, int start, int end, List<TextPiece> output);

    /// <summary>Flags of the code point at <paramref name="pos"/>, or None past the piece's end (llama.cpp's OUT_OF_RANGE).</summary>
    protected static CodepointFlags FlagsAt(CodepointText text, int pos, int end) =>
        pos < end ? Codepoints.Flags(text[pos]) : CodepointFlags.None;

    /// <summary><c>[^\s\p{L}\p{N}]</c>, false past the piece's end.</summary>
    protected static bool IsOther(CodepointFlags f) =>
        f != CodepointFlags.None && (f & (CodepointFlags.Whitespace | CodepointFlags.Letter | CodepointFlags.Number)) == 0;

    /// <summary>Appends [from, to) when it is not empty; returns <paramref name="to"/>.</summary>
    protected static int Emit(List<TextPiece> output, ref int from, int to)
    {
        if (to > from)
        {
            output.Add(new TextPiece(from, to - from));
        }
        from = to;
        return to;
    }
}
