namespace Cria.Core.Tokenization;

/// <summary>
/// Byte-level BPE as llama.cpp's <c>llm_tokenizer_bpe_session</c> runs it: the pre-tokenizer cuts
/// the text into words; each word's UTF-8 bytes become GPT-2 byte characters, one symbol each;
/// merges apply in rank order within the word. With <c>ignore_merges</c> (Llama 3) a word that is
/// itself a vocabulary piece is taken whole. Results are cached per word, which makes repeated
/// words (most of any text) a dictionary lookup.
/// </summary>
internal sealed class ByteLevelBpeEncoder : TextEncoder
{
    private readonly PreTokenizer _preTokenizer;
    private readonly BpeMerges _merges;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _vocab;
    private readonly bool _ignoreMerges;
    private readonly int[] _byteSymbols = new int[256]; // [256] symbol of each byte's GPT-2 character
    private readonly WordCache _cache = new();

    public ByteLevelBpeEncoder(PreTokenizer preTokenizer, BpeMerges merges, Dictionary<string, int> vocab, bool ignoreMerges)
    {
        _preTokenizer = preTokenizer;
        _merges = merges;
        _vocab = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _ignoreMerges = ignoreMerges;
        Span<char> one = stackalloc char[1];
        for (int b = 0; b < 256; b++)
        {
            one[0] = ByteLevel.ToChar((byte)b);
            _byteSymbols[b] = merges.Find(one);
        }
    }

    public override void Encode(ReadOnlySpan<char> text, bool addSpacePrefix, List<int> output)
    {
        var cps = new CodepointText();
        cps.Load(text);
        var words = new List<TextPiece>();
        _preTokenizer.Split(cps, words, new List<TextPiece>());
        var scratch = new WordScratch();
        foreach (TextPiece word in words)
        {
            ReadOnlySpan<char> key = text[cps.CharStart(word.Start)..cps.CharStart(word.End)];
            if (_cache.TryGet(key, output))
            {
                continue;
            }
            int before = output.Count;
            EncodeWord(cps, word, output, scratch);
            _cache.Add(key, output, before);
        }
    }

    private void EncodeWord(CodepointText cps, TextPiece word, List<int> output, WordScratch s)
    {
        // UTF-8 bytes of the word, then their GPT-2 characters
        s.Bytes.Clear();
        cps.AppendUtf8(word.Start, word.End, s.Bytes);
        int n = s.Bytes.Count;
        if (s.Chars.Length < n)
        {
            s.Chars = new char[Math.Max(n, s.Chars.Length * 2)];
        }
        for (int i = 0; i < n; i++)
        {
            s.Chars[i] = ByteLevel.ToChar(s.Bytes[i]);
        }
        ReadOnlySpan<char> mapped = s.Chars.AsSpan(0, n);
        if (_ignoreMerges && _vocab.TryGetValue(mapped, out int whole))
        {
            output.Add(whole);
            return;
        }

        MergeWork w = s.Work;
        w.Reset(n);
        for (int i = 0; i < n; i++)
        {
            w.Start[i] = i;
            w.Length[i] = 1;
            w.Id[i] = _byteSymbols[s.Bytes[i]];
        }
        _merges.Run(w, n);
        for (int k = 0; k != -1; k = w.Next[k])
        {
            int id = w.Id[k];
            if ((uint)id < (uint)_merges.VocabSize)
            {
                output.Add(id);
            }
            else
            {
                // Not a vocabulary piece (a merge result missing from the vocabulary, or a byte
                // with no character token): llama.cpp keeps whichever single bytes are tokens.
                ReadOnlySpan<char> text = id >= 0 ? _merges.VirtualText(id) : mapped.Slice(w.Start[k], w.Length[k]);
                AppendSingleBytes(text, output);
            }
        }
    }

    /// <summary>The bytes of <paramref name="text"/> that are one-byte pieces: only ASCII characters are one byte in UTF-8.</summary>
    private void AppendSingleBytes(ReadOnlySpan<char> text, List<int> output)
    {
        Span<char> one = stackalloc char[1];
        foreach (char c in text)
        {
            one[0] = c;
            if (c < 0x80 && _vocab.TryGetValue(one, out int id))
            {
                output.Add(id);
            }
        }
    }

    private sealed class WordScratch
    {
        public readonly List<byte> Bytes = [];
        public readonly MergeWork Work = new();
        public char[] Chars = new char[64];
    }
}
