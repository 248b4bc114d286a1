namespace Cria.Core.Tokenization;

/// <summary>Picks and builds the <see cref="TextEncoder"/> for a vocabulary.</summary>
internal static class TokenizerBuilder
{
    public static TextEncoder CreateEncoder(
        TokenizerVocab vocab, string[] texts, TokenType[] types, Dictionary<string, int> ids, int unknownId,
        out string? preTokenizerName, out string? warning)
    {
        preTokenizerName = null;
        warning = null;
        return vocab.Kind switch
        {
            TokenizerKind.SentencePiece => SentencePiece(vocab, texts, ids, unknownId),
            TokenizerKind.SentencePieceBpe => SentencePieceBpe(vocab, texts, types, ids, unknownId),
            TokenizerKind.ByteLevelBpe => ByteLevelBpe(vocab, ids, out preTokenizerName, out warning),
            _ => throw new TokenizerException($"{vocab.Source}: unsupported tokenizer kind {vocab.Kind}"),
        };
    }

    private static SentencePieceEncoder SentencePiece(TokenizerVocab vocab, string[] texts, Dictionary<string, int> ids, int unknownId)
    {
        var scores = new float[texts.Length];
        for (int i = 0; vocab.Scores is not null && i < scores.Length; i++)
        {
            scores[i] = vocab.Scores[i];
        }
        return new SentencePieceEncoder(ids, scores, ByteTokens(ids, singleCharFallback: true), unknownId, new JoinablePairs(texts));
    }

    private static SentencePieceBpeEncoder SentencePieceBpe(TokenizerVocab vocab, string[] texts, TokenType[] types, Dictionary<string, int> ids, int unknownId)
    {
        IReadOnlyList<(string Left, string Right)> mergeList = RequireMerges(vocab);
        var merges = new BpeMerges(ids, texts.Length, mergeList);
        int[] byteTokens = vocab.ByteFallback ? ByteTokens(ids, singleCharFallback: false) : NoBytes();
        return new SentencePieceBpeEncoder(merges, byteTokens, unknownId, vocab.FuseUnknown, Joinable(texts, types, ids, mergeList));
    }

    private static ByteLevelBpeEncoder ByteLevelBpe(TokenizerVocab vocab, Dictionary<string, int> ids, out string preTokenizerName, out string? warning)
    {
        var merges = new BpeMerges(ids, vocab.Tokens.Count, RequireMerges(vocab));
        warning = null;
        PreTokenizer? pre;
        if (vocab.SplitPatterns is not null)
        {
            pre = PreTokenizer.FromRegexes(vocab.SplitPatterns, vocab.Source);
        }
        else if (string.IsNullOrEmpty(vocab.PreTokenizer))
        {
            pre = PreTokenizer.ForLlamaCpp("default")!;
            warning = $"{vocab.Source}: no pre-tokenizer named (tokenizer.ggml.pre); using llama.cpp's 'default', so tokens may differ from the model's own tokenizer";
        }
        else
        {
            pre = PreTokenizer.ForLlamaCpp(vocab.PreTokenizer);
            if (pre is null)
            {
                warning = $"{vocab.Source}: unknown pre-tokenizer '{vocab.PreTokenizer}'; using llama.cpp's 'default', so tokens may differ from the model's own tokenizer";
                pre = PreTokenizer.ForLlamaCpp("default")!;
            }
        }
        preTokenizerName = pre.Name;
        return new ByteLevelBpeEncoder(pre, merges, ids, vocab.IgnoreMerges);
    }

    private static IReadOnlyList<(string Left, string Right)> RequireMerges(TokenizerVocab vocab) =>
        vocab.Merges ?? throw new TokenizerException($"{vocab.Source}: a BPE vocabulary needs its merges (tokenizer.ggml.merges)");

    /// <summary>
    /// The token for each byte: &lt;0xNN&gt;; for SentencePiece, llama.cpp's <c>byte_to_token</c> also
    /// tries the byte as a one-character piece; else -1.
    /// </summary>
    private static int[] ByteTokens(Dictionary<string, int> ids, bool singleCharFallback)
    {
        var tokens = new int[256];
        for (int b = 0; b < 256; b++)
        {
            if (ids.TryGetValue($"<0x{b:X2}>", out int id) || (singleCharFallback && b < 0x80 && ids.TryGetValue(((char)b).ToString(), out id)))
            {
                tokens[b] = id;
            }
            else
            {
                tokens[b] = -1;
            }
        }
        return tokens;
    }

    private static int[] NoBytes()
    {
        var tokens = new int[256];
        Array.Fill(tokens, -1);
        return tokens;
    }

    /// <summary>
    /// The pairs that can join in a merge-list BPE: those inside pieces and merge results. A merge
    /// that takes a byte token as a part would join across characters that never touch in text, so
    /// then the text is not cut at all.
    /// </summary>
    private static JoinablePairs Joinable(string[] texts, TokenType[] types, Dictionary<string, int> ids, IReadOnlyList<(string Left, string Right)> merges)
    {
        var strings = new List<string>(texts.Length + merges.Count);
        strings.AddRange(texts);
        foreach ((string left, string right) in merges)
        {
            if (IsByteToken(left, types, ids) || IsByteToken(right, types, ids))
            {
                return JoinablePairs.Everything;
            }
            strings.Add(string.Concat(left, right));
        }
        return new JoinablePairs(strings);
    }

    private static bool IsByteToken(string text, TokenType[] types, Dictionary<string, int> ids) =>
        ids.TryGetValue(text, out int id) && types[id] == TokenType.Byte;
}
