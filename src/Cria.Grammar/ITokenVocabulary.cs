namespace Cria.Grammar;

/// <summary>
/// What a grammar needs of a vocabulary: how many tokens there are, the bytes each one adds to the text, and
/// which ones end a generation. Cria.Core's tokenizer implements it; the grammar sees tokens no other way.
/// Implementations must not change: the token trie built from one is cached for the vocabulary's lifetime.
/// </summary>
public interface ITokenVocabulary
{
    /// <summary>Token ids are 0 to <c>VocabSize - 1</c>.</summary>
    int VocabSize { get; }

    /// <summary>True for an end-of-generation token (end of text, end of turn): allowed exactly when the grammar can end.</summary>
    bool IsEndOfGeneration(int id);

    /// <summary>
    /// The bytes token <paramref name="id"/> adds to generated text (a character may be split across tokens);
    /// empty for a token that adds none (control, unknown, unused), which a grammar never allows.
    /// </summary>
    ReadOnlySpan<byte> TokenBytes(int id);
}
