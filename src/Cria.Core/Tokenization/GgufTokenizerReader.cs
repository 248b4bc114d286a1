using Cria.Core.Gguf;

namespace Cria.Core.Tokenization;

/// <summary>
/// Reads <c>tokenizer.ggml.*</c> metadata into a <see cref="TokenizerVocab"/>, with llama.cpp's
/// defaults for keys that are absent (llama-vocab.cpp <c>llama_vocab::impl::load</c>).
/// </summary>
internal static class GgufTokenizerReader
{
    public static TokenizerVocab Read(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        string source = file.FilePath;
        string model = file.GetString("tokenizer.ggml.model")
            ?? throw new TokenizerException($"{source}: no tokenizer (tokenizer.ggml.model is missing)");
        string[] tokens = file.GetStringArray("tokenizer.ggml.tokens")
            ?? throw new TokenizerException($"{source}: tokenizer.ggml.tokens is missing or not an array of strings");
        float[]? scores = file.GetFloat32Array("tokenizer.ggml.scores");
        int[]? rawTypes = file.GetInt32Array("tokenizer.ggml.token_type");
        TokenType[]? types = rawTypes is null ? null : Array.ConvertAll(rawTypes, t => t is >= 0 and <= 6 ? (TokenType)t : TokenType.Undefined);
        string? pre = file.GetString("tokenizer.ggml.pre");

        TokenizerKind kind;
        int bos;
        int eos;
        int unk;
        bool addBos;
        bool addSpacePrefix;
        bool ignoreMerges = false;
        IReadOnlyList<(string, string)>? merges = null;
        switch (model)
        {
            case "llama":
                kind = TokenizerKind.SentencePiece;
                (bos, eos, unk) = (1, 2, 0);
                addBos = true;
                addSpacePrefix = true;
                break;
            case "gpt2":
                kind = TokenizerKind.ByteLevelBpe;
                (bos, eos, unk) = (-1, -1, -1);
                string[] raw = file.GetStringArray("tokenizer.ggml.merges")
                    ?? throw new TokenizerException($"{source}: a gpt2 tokenizer needs tokenizer.ggml.merges");
                merges = SplitMerges(raw, source);
                // llama.cpp: Llama 3 style vocabularies take a word that is a piece whole, and add BOS
                bool llama3 = pre is "llama3" or "llama-v3" or "llama-bpe" or "falcon3";
                ignoreMerges = llama3;
                addBos = llama3;
                addSpacePrefix = false;
                break;
            default:
                throw new TokenizerException($"{source}: tokenizer.ggml.model '{model}' is not supported (supported: llama, gpt2)");
        }

        int n = tokens.Length;
        return new TokenizerVocab
        {
            Source = source,
            Kind = kind,
            Tokens = tokens,
            Scores = scores,
            Types = types,
            Merges = merges,
            PreTokenizer = pre,
            BosId = Id(file, "tokenizer.ggml.bos_token_id", n, bos),
            EosId = Id(file, "tokenizer.ggml.eos_token_id", n, eos),
            UnknownId = Id(file, "tokenizer.ggml.unknown_token_id", n, unk),
            EotId = Id(file, "tokenizer.ggml.eot_token_id", n, -1),
            EomId = Id(file, "tokenizer.ggml.eom_token_id", n, -1),
            AddBos = file.GetBool("tokenizer.ggml.add_bos_token") ?? addBos,
            AddEos = file.GetBool("tokenizer.ggml.add_eos_token") ?? false,
            AddSpacePrefix = file.GetBool("tokenizer.ggml.add_space_prefix") ?? addSpacePrefix,
            IgnoreMerges = ignoreMerges,
            StripRight = Phi3RightStrip(file, tokens, types),
        };
    }

    /// <summary>
    /// Splits "left right" at the first space after the first character, as llama.cpp does
    /// (<c>word.find(' ', 1)</c>), so a left part may itself start with a space.
    /// </summary>
    private static (string, string)[] SplitMerges(string[] raw, string source)
    {
        var merges = new (string, string)[raw.Length];
        for (int i = 0; i < raw.Length; i++)
        {
            string m = raw[i];
            int space = m.Length > 1 ? m.IndexOf(' ', 1) : -1;
            if (space < 0)
            {
                throw new TokenizerException($"{source}: tokenizer.ggml.merges[{i}] = \"{m}\" is not two parts separated by a space");
            }
            merges[i] = (m[..space], m[(space + 1)..]);
        }
        return merges;
    }

    /// <summary>A declared special id; an out-of-range one keeps the default, as llama.cpp does.</summary>
    private static int Id(GgufFile file, string key, int vocabSize, int fallback)
    {
        long? v = file.GetInteger(key);
        return v is long id && id >= 0 && id < vocabSize ? (int)id : fallback;
    }

    /// <summary>
    /// llama.cpp gives Phi-3's special tokens "rstrip" by model name (general.name containing
    /// "phi-3" or "phi3"): all control, user-defined and unknown tokens, except &lt;unk&gt;, &lt;s&gt;
    /// and &lt;|endoftext|&gt;.
    /// </summary>
    private static int[]? Phi3RightStrip(GgufFile file, string[] tokens, TokenType[]? types)
    {
        string name = file.GetString("general.name")?.ToLowerInvariant() ?? "";
        if (types is null || !(name.Contains("phi-3", StringComparison.Ordinal) || name.Contains("phi3", StringComparison.Ordinal)))
        {
            return null;
        }
        var ids = new List<int>();
        for (int id = 0; id < tokens.Length; id++)
        {
            bool special = types[id] is TokenType.Control or TokenType.UserDefined or TokenType.Unknown || tokens[id] == "</s>";
            if (special && tokens[id] is not ("<unk>" or "<s>" or "<|endoftext|>"))
            {
                ids.Add(id);
            }
        }
        return [.. ids];
    }
}
