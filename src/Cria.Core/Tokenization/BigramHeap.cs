namespace Cria.Core.Tokenization;

/// <summary>A candidate merge of symbol <see cref="Left"/> with its neighbour <see cref="Right"/>.</summary>
/// <param name="Priority">Higher merges first: a SentencePiece score, or minus a BPE merge rank.</param>
/// <param name="A">Check value recorded when queued (merged length, or the left symbol's id).</param>
/// <param name="B">Second check value (the right symbol's id), or 0.</param>
internal readonly record struct Bigram(float Priority, int Left, int Right, int A, int B);

/// <summary>
/// Max-heap of bigrams: highest priority first, ties to the leftmost, which is the order of
/// llama.cpp's <c>llm_bigram_spm::comparator</c> and <c>llm_bigram_bpe::comparator</c>. Entries go
/// stale when a neighbour merges first; the tokenizers check and skip them when popped.
/// </summary>
internal sealed class BigramHeap
{
    private Bigram[] _items = new Bigram[64];

    public int Count { get; private set; }

    public void Clear() => Count = 0;

    public void Push(in Bigram item)
    {
        if (Count == _items.Length)
        {
            Array.Resize(ref _items, _items.Length * 2);
        }
        int i = Count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!Before(item, _items[parent]))
            {
                break;
            }
            _items[i] = _items[parent];
            i = parent;
        }
        _items[i] = item;
    }

    public Bigram Pop()
    {
        Bigram top = _items[0];
        Bigram last = _items[--Count];
        int i = 0;
        while (true)
        {
            int child = (2 * i) + 1;
            if (child >= Count)
            {
                break;
            }
            if (child + 1 < Count && Before(_items[child + 1], _items[child]))
            {
                child++;
            }
            if (!Before(_items[child], last))
            {
                break;
            }
            _items[i] = _items[child];
            i = child;
        }
        if (Count > 0)
        {
            _items[i] = last;
        }
        return top;
    }

    private static bool Before(in Bigram x, in Bigram y) =>
        x.Priority > y.Priority || (x.Priority == y.Priority && x.Left < y.Left);
}
