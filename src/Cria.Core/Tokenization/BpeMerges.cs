namespace Cria.Core.Tokenization;

/// <summary>
/// The merge list as a table over symbol ids: (left, right) → (rank, merged symbol). Symbols are
/// the vocabulary ids, plus "virtual" ids from <see cref="VocabSize"/> up for any merge part or
/// result that is not itself in the vocabulary, so that merging by id gives what llama.cpp's
/// merging by text gives on any merge list (<c>llm_tokenizer_bpe_session</c>, <c>find_bpe_rank</c>).
/// </summary>
internal sealed class BpeMerges
{
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _vocab;
    private readonly Dictionary<string, int> _virtualIds = new(StringComparer.Ordinal);
    private readonly List<string> _virtualTexts = [];
    private readonly Dictionary<long, (int Rank, int Result)> _pairs;

    public BpeMerges(Dictionary<string, int> vocab, int vocabSize, IReadOnlyList<(string Left, string Right)> merges)
    {
        _vocab = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        VocabSize = vocabSize;
        _pairs = new Dictionary<long, (int, int)>(merges.Count);
        for (int rank = 0; rank < merges.Count; rank++)
        {
            (string left, string right) = merges[rank];
            int l = Intern(left);
            int r = Intern(right);
            int result = Intern(string.Concat(left, right));
            _pairs.TryAdd(Key(l, r), (rank, result)); // a repeated pair keeps its first rank
        }
    }

    public int VocabSize { get; }

    /// <summary>The symbol id of <paramref name="text"/>: a vocabulary id, a virtual id, or -1.</summary>
    public int Find(ReadOnlySpan<char> text)
    {
        if (_vocab.TryGetValue(text, out int id))
        {
            return id;
        }
        return _virtualIds.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(text, out id) ? id : -1;
    }

    /// <summary>The text of a virtual symbol (id at or above <see cref="VocabSize"/>).</summary>
    public string VirtualText(int id) => _virtualTexts[id - VocabSize];

    /// <summary>
    /// Runs the merges over the symbols in <paramref name="w"/> (ids set, lengths 1): the
    /// lowest-ranked adjacent pair merges first, ties to the left.
    /// </summary>
    public void Run(MergeWork w, int count)
    {
        for (int k = 1; k < count; k++)
        {
            TryQueue(w, k - 1, k);
        }
        while (w.TryPopValid(out Bigram b))
        {
            w.Merge(b.Left, b.Right, b.B);
            TryQueue(w, w.Prev[b.Left], b.Left);
            TryQueue(w, b.Left, w.Next[b.Left]);
        }
    }

    private void TryQueue(MergeWork w, int left, int right)
    {
        if (left < 0 || right < 0)
        {
            return;
        }
        int l = w.Id[left];
        int r = w.Id[right];
        if (l >= 0 && r >= 0 && _pairs.TryGetValue(Key(l, r), out (int Rank, int Result) m))
        {
            // ranks are below 2^24, so -rank is exact as a float priority
            w.Heap.Push(new Bigram(-m.Rank, left, right, w.Length[left] + w.Length[right], m.Result));
        }
    }

    private int Intern(string text)
    {
        if (_vocab.TryGetValue(text.AsSpan(), out int id))
        {
            return id;
        }
        if (!_virtualIds.TryGetValue(text, out id))
        {
            id = VocabSize + _virtualTexts.Count;
            _virtualIds.Add(text, id);
            _virtualTexts.Add(text);
        }
        return id;
    }

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;
}
