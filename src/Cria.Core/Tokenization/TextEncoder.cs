namespace Cria.Core.Tokenization;

/// <summary>Turns a run of plain text (no special tokens in it) into token ids.</summary>
internal abstract class TextEncoder
{
    /// <param name="text">The text; special tokens were already cut out by <see cref="SpecialTokenSplitter"/>.</param>
    /// <param name="addSpacePrefix">SentencePiece: put one '▁' in front (llama.cpp does after BOS or a special token).</param>
    /// <param name="output">Ids are appended here.</param>
    public abstract void Encode(ReadOnlySpan<char> text, bool addSpacePrefix, List<int> output);
}
