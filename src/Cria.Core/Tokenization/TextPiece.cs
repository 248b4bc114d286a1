namespace Cria.Core.Tokenization;

/// <summary>A run of code points [Start, Start + Length) of a <see cref="CodepointText"/>.</summary>
internal readonly record struct TextPiece(int Start, int Length)
{
    public int End => Start + Length;
}
