namespace Cria.Core.Tokenization;

/// <summary>Either plain text [Start, Start + Length) of the input, or one special token (<see cref="TokenId"/> ≥ 0).</summary>
internal readonly record struct TextFragment(int Start, int Length, int TokenId)
{
    public bool IsText => TokenId < 0;
}
