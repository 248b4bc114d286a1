namespace Cria.Core.Tokenization;

/// <summary>
/// <c>\s+$</c> (DeepSeek LLM): the whitespace that ends a piece becomes a piece of its own. The
/// leftmost match of this pattern is the longest all-space suffix, so no regex is needed.
/// </summary>
internal sealed class TrailingSpaceSplit : SplitStep
{
    public override void Split(CodepointText text, int start, int end, List<TextPiece> output)
    {
        int suffix = end;
        while (suffix > start && CharClasses.IsSpace(text[suffix - 1]))
        {
            suffix--;
        }
        int emitted = start;
        Emit(output, ref emitted, suffix);
        Emit(output, ref emitted, end);
    }
}
