using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;

using Cria.Core.Gguf;
using Cria.Grammar;

namespace Cria.Core.Tokenization;

/// <summary>
/// Text to token ids and back, with llama.cpp's results: SentencePiece BPE (<c>llama</c> vocabularies),
/// byte-level BPE (<c>gpt2</c> vocabularies with their pre-tokenizers), and Hugging Face BPE
/// <c>tokenizer.json</c> files. Immutable after construction and safe to use from several threads. As an
/// <see cref="ITokenVocabulary"/> it gives a grammar each token's bytes (<see cref="TokenBytes"/> without special text).
/// </summary>
public sealed class Tokenizer : ITokenVocabulary
{
    private readonly string[] _texts;            // [vocab] pieces as stored
    private readonly TokenType[] _types;         // [vocab] after control overrides for named end tokens
    private readonly Dictionary<string, int> _ids;
    private readonly bool[] _endOfGeneration;    // [vocab]
    private readonly PieceBytes _pieces;
    private readonly SpecialTokenSplitter _splitter;
    private readonly TextEncoder _encoder;

    private Tokenizer(TokenizerVocab vocab)
    {
        int n = vocab.Tokens.Count;
        if (n == 0)
        {
            throw new TokenizerException($"{vocab.Source}: the vocabulary is empty");
        }
        CheckLength(vocab, vocab.Scores?.Count, "scores");
        CheckLength(vocab, vocab.Types?.Count, "token types");
        Kind = vocab.Kind;
        _texts = new string[n];
        _types = new TokenType[n];
        _ids = new Dictionary<string, int>(n, StringComparer.Ordinal);
        for (int i = 0; i < n; i++)
        {
            // llama.cpp renames empty pieces so that each has a distinct text; later duplicates win
            string text = vocab.Tokens[i];
            _texts[i] = text.Length == 0 ? $"[EMPTY_{i}]" : text;
            _types[i] = vocab.Types?[i] ?? TokenType.Normal;
            _ids[_texts[i]] = i;
        }

        BosId = ValidId(vocab.BosId);
        EosId = ValidId(vocab.EosId);
        UnknownId = ValidId(vocab.UnknownId);
        int eot = ValidId(vocab.EotId);
        int eom = ValidId(vocab.EomId);
        _endOfGeneration = SpecialTokenRoles.Resolve(_ids, _types, EosId, ref eot, ref eom);
        EotId = eot;
        EomId = eom;
        AddBos = vocab.AddBos && BosId >= 0;
        AddEos = vocab.AddEos && EosId >= 0;
        AddSpacePrefix = vocab.AddSpacePrefix && Kind != TokenizerKind.ByteLevelBpe;

        _pieces = new PieceBytes(_texts, _types, Kind);
        _splitter = new SpecialTokenSplitter(_texts, _types, Flags(n, vocab.StripLeft), Flags(n, vocab.StripRight));
        _encoder = TokenizerBuilder.CreateEncoder(vocab, _texts, _types, _ids, UnknownId, out string? preTokenizer, out string? warning);
        PreTokenizer = preTokenizer;
        Warnings = warning is null ? [] : [warning];
    }

    public TokenizerKind Kind { get; }

    public int VocabSize => _texts.Length;

    /// <summary>Beginning of sequence, or -1.</summary>
    public int BosId { get; }

    /// <summary>End of sequence, or -1.</summary>
    public int EosId { get; }

    /// <summary>The unknown token, or -1.</summary>
    public int UnknownId { get; }

    /// <summary>End of turn (declared, or found by name such as &lt;|eot_id|&gt;), or -1.</summary>
    public int EotId { get; }

    /// <summary>End of message (&lt;|eom_id|&gt;), or -1.</summary>
    public int EomId { get; }

    /// <summary>Encode with <c>addSpecial</c> puts BOS first.</summary>
    public bool AddBos { get; }

    /// <summary>Encode with <c>addSpecial</c> puts EOS last.</summary>
    public bool AddEos { get; }

    /// <summary>SentencePiece: a '▁' goes before the text, and decoding takes one leading space off.</summary>
    public bool AddSpacePrefix { get; }

    /// <summary>Byte-level BPE: the pre-tokenizer in use (a llama.cpp name, or "regex"); null otherwise.</summary>
    public string? PreTokenizer { get; }

    /// <summary>Problems found while loading that did not stop it (an unknown pre-tokenizer, ...).</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>Builds a tokenizer from vocabulary data.</summary>
    /// <exception cref="TokenizerException">The data is inconsistent or of an unsupported kind.</exception>
    public static Tokenizer FromVocab(TokenizerVocab vocab)
    {
        ArgumentNullException.ThrowIfNull(vocab);
        return new Tokenizer(vocab);
    }

    /// <summary>The tokenizer stored in a GGUF file's <c>tokenizer.ggml.*</c> metadata.</summary>
    /// <exception cref="TokenizerException">The metadata is missing, inconsistent or of an unsupported kind.</exception>
    public static Tokenizer FromGguf(GgufFile file) => new(GgufTokenizerReader.Read(file));

    /// <summary>
    /// A Hugging Face <c>tokenizer.json</c> (BPE models); BOS/EOS and add_bos/add_eos come from a
    /// <c>tokenizer_config.json</c> beside it when there is one.
    /// </summary>
    /// <exception cref="TokenizerException">The file is malformed or of an unsupported kind.</exception>
    public static Tokenizer FromHuggingFaceJson(string path) => new(HuggingFaceTokenizerReader.Read(path));

    /// <summary>True for tokens that end generation: EOS, EOT, EOM and the names llama.cpp treats so.</summary>
    public bool IsEndOfGeneration(int id) => (uint)id < (uint)_endOfGeneration.Length && _endOfGeneration[id];

    public bool IsControl(int id) => TypeOf(id) == TokenType.Control;

    public TokenType TypeOf(int id) => (uint)id < (uint)_types.Length ? _types[id] : TokenType.Undefined;

    /// <summary>The piece as stored in the vocabulary.</summary>
    public string TokenText(int id)
    {
        CheckId(id);
        return _texts[id];
    }

    /// <summary>The id of a piece, by its stored text.</summary>
    public bool TryGetId(string piece, out int id) => _ids.TryGetValue(piece, out id);

    /// <param name="text">The text.</param>
    /// <param name="addSpecial">Put BOS first when <see cref="AddBos"/>, and EOS last when <see cref="AddEos"/>.</param>
    /// <param name="parseSpecial">Read control tokens written in the text (such as "&lt;|eot_id|&gt;") as those tokens.</param>
    public int[] Encode(string text, bool addSpecial = true, bool parseSpecial = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        Encode(text, ids, addSpecial, parseSpecial);
        return [.. ids];
    }

    /// <summary>Appends the ids of <paramref name="text"/> to <paramref name="output"/>.</summary>
    public void Encode(ReadOnlySpan<char> text, List<int> output, bool addSpecial, bool parseSpecial)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (addSpecial && AddBos)
        {
            output.Add(BosId);
        }
        var fragments = new List<TextFragment>();
        _splitter.Split(text, parseSpecial, fragments);
        bool afterSpecial = true; // llama.cpp puts the space prefix at the start and after each special token
        foreach (TextFragment f in fragments)
        {
            if (f.IsText)
            {
                _encoder.Encode(text.Slice(f.Start, f.Length), AddSpacePrefix && afterSpecial, output);
                afterSpecial = false;
            }
            else
            {
                output.Add(f.TokenId);
                afterSpecial = true;
            }
        }
        if (addSpecial && AddEos)
        {
            output.Add(EosId);
        }
    }

    /// <summary>
    /// The bytes token <paramref name="id"/> adds to the text. Control and unknown tokens add
    /// nothing unless <paramref name="special"/> is set, then their text; unused tokens never add anything.
    /// </summary>
    public ReadOnlySpan<byte> TokenBytes(int id, bool special = false)
    {
        CheckId(id);
        return _pieces.Get(id, special);
    }

    ReadOnlySpan<byte> ITokenVocabulary.TokenBytes(int id) => TokenBytes(id);

    /// <summary>
    /// The text of <paramref name="ids"/>; the inverse of <see cref="Encode(string, bool, bool)"/>.
    /// With <see cref="AddSpacePrefix"/>, one leading space (the one encoding adds) is taken off.
    /// Bytes that are not valid UTF-8 become U+FFFD.
    /// </summary>
    /// <param name="ids">Token ids.</param>
    /// <param name="skipSpecial">Leave out control and unknown tokens; otherwise they appear as their text.</param>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecial = true) => Decode(ids, skipSpecial, AddSpacePrefix);

    /// <param name="ids">Token ids.</param>
    /// <param name="skipSpecial">Leave out control and unknown tokens; otherwise they appear as their text.</param>
    /// <param name="removeSpacePrefix">Take one leading space off the result, if it starts with one.</param>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecial, bool removeSpacePrefix)
    {
        int total = 0;
        foreach (int id in ids)
        {
            total += TokenBytes(id, !skipSpecial).Length;
        }
        byte[] rented = ArrayPool<byte>.Shared.Rent(Math.Max(total, 1));
        try
        {
            int o = 0;
            foreach (int id in ids)
            {
                ReadOnlySpan<byte> piece = _pieces.Get(id, !skipSpecial);
                piece.CopyTo(rented.AsSpan(o));
                o += piece.Length;
            }
            ReadOnlySpan<byte> bytes = rented.AsSpan(0, total);
            if (removeSpacePrefix && bytes.Length > 0 && bytes[0] == (byte)' ')
            {
                bytes = bytes[1..];
            }
            return Encoding.UTF8.GetString(bytes);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private int ValidId(int id) => (uint)id < (uint)_texts.Length ? id : -1;

    private void CheckId(int id)
    {
        if ((uint)id >= (uint)_texts.Length)
        {
            ThrowBadId(id, _texts.Length);
        }
    }

    [DoesNotReturn]
    private static void ThrowBadId(int id, int vocabSize) =>
        throw new ArgumentOutOfRangeException(nameof(id), id, $"token id must be in [0, {vocabSize})");

    private static void CheckLength(TokenizerVocab vocab, int? count, string what)
    {
        if (count is int c && c != vocab.Tokens.Count)
        {
            throw new TokenizerException($"{vocab.Source}: {c} {what} for {vocab.Tokens.Count} tokens");
        }
    }

    private static bool[] Flags(int n, IReadOnlyCollection<int>? ids)
    {
        var flags = new bool[n];
        if (ids is not null)
        {
            foreach (int id in ids)
            {
                if ((uint)id < (uint)n)
                {
                    flags[id] = true;
                }
            }
        }
        return flags;
    }
}
