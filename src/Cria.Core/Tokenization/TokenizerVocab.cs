namespace Cria.Core.Tokenization;

/// <summary>
/// Everything a <see cref="Tokenizer"/> is built from, independent of where it was read (GGUF
/// metadata, a Hugging Face tokenizer.json, or code). Plain data: the tokenizer copies what it
/// keeps and never changes this object.
/// </summary>
public sealed record TokenizerVocab
{
    /// <summary>Where this came from, for messages (a file path).</summary>
    public string Source { get; init; } = "";

    public required TokenizerKind Kind { get; init; }

    /// <summary>[vocab] the pieces as stored: SentencePiece pieces use '▁' for space; byte-level pieces use GPT-2's byte characters.</summary>
    public required IReadOnlyList<string> Tokens { get; init; }

    /// <summary>[vocab] SentencePiece merge scores (higher merges first); null means all 0.</summary>
    public IReadOnlyList<float>? Scores { get; init; }

    /// <summary>[vocab] token types; null means all <see cref="TokenType.Normal"/>.</summary>
    public IReadOnlyList<TokenType>? Types { get; init; }

    /// <summary>BPE merges in rank order (first merges first). Required for the BPE kinds.</summary>
    public IReadOnlyList<(string Left, string Right)>? Merges { get; init; }

    /// <summary>
    /// Byte-level BPE: llama.cpp's pre-tokenizer name (<c>tokenizer.ggml.pre</c>: "llama-bpe",
    /// "qwen2", "deepseek-llm", "gpt-2", ...). Used when <see cref="SplitPatterns"/> is null.
    /// </summary>
    public string? PreTokenizer { get; init; }

    /// <summary>Byte-level BPE: regexes to split with, in order, when the pre-tokenizer has no llama.cpp name.</summary>
    public IReadOnlyList<string>? SplitPatterns { get; init; }

    public int BosId { get; init; } = -1;

    public int EosId { get; init; } = -1;

    public int UnknownId { get; init; } = -1;

    /// <summary>End of turn (<c>tokenizer.ggml.eot_token_id</c>); found by name when -1.</summary>
    public int EotId { get; init; } = -1;

    /// <summary>End of message (<c>tokenizer.ggml.eom_token_id</c>); found by name when -1.</summary>
    public int EomId { get; init; } = -1;

    public bool AddBos { get; init; }

    public bool AddEos { get; init; }

    /// <summary>SentencePiece: put a '▁' before the text (and after each special token), and take one leading space off when decoding.</summary>
    public bool AddSpacePrefix { get; init; }

    /// <summary>Byte-level BPE: a word that is itself a piece is one token, without merging (Llama 3).</summary>
    public bool IgnoreMerges { get; init; }

    /// <summary>SentencePiece BPE: characters without a piece become &lt;0xNN&gt; tokens (else the unknown token).</summary>
    public bool ByteFallback { get; init; } = true;

    /// <summary>SentencePiece BPE: consecutive unknown tokens become one.</summary>
    public bool FuseUnknown { get; init; }

    /// <summary>Special tokens that take the ASCII whitespace before them when matched in text.</summary>
    public IReadOnlyCollection<int>? StripLeft { get; init; }

    /// <summary>Special tokens that take the ASCII whitespace after them when matched in text.</summary>
    public IReadOnlyCollection<int>? StripRight { get; init; }
}
