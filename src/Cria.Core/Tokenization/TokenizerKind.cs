namespace Cria.Core.Tokenization;

/// <summary>How a vocabulary turns text into tokens.</summary>
public enum TokenizerKind
{
    /// <summary>
    /// SentencePiece BPE as llama.cpp runs it (<c>tokenizer.ggml.model = llama</c>): spaces become
    /// '▁', adjacent pieces merge by the score of the merged piece, and characters that form no
    /// piece fall back to &lt;0xNN&gt; byte tokens.
    /// </summary>
    SentencePiece,

    /// <summary>
    /// Byte-level BPE (<c>gpt2</c>): a pre-tokenizer splits the text into words, each word's UTF-8
    /// bytes are mapped to GPT-2's printable byte alphabet, and merges apply in rank order.
    /// </summary>
    ByteLevelBpe,

    /// <summary>
    /// A Hugging Face BPE model over SentencePiece pieces ('▁' for spaces, byte fallback): merges
    /// apply in the rank order of the merge list rather than by piece score.
    /// </summary>
    SentencePieceBpe,
}
