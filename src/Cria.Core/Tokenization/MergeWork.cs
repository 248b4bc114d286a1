namespace Cria.Core.Tokenization;

/// <summary>
/// Scratch for one merge run: symbols as a doubly linked list over arrays (llama.cpp's
/// <c>llm_symbol</c>) and the bigram queue. A symbol that was merged into its left neighbour has
/// length 0. Reused across the words or chunks of one encode call; not shared between threads.
/// </summary>
internal sealed class MergeWork
{
    public int[] Start = new int[64];   // [symbols] first unit (UTF-16 index, or position in the word)
    public int[] Length = new int[64];  // [symbols] units covered; 0 once merged away
    public int[] Prev = new int[64];    // [symbols] previous live symbol, -1 at the start
    public int[] Next = new int[64];    // [symbols] next live symbol, -1 at the end
    public int[] Id = new int[64];      // [symbols] token (or BPE symbol) id, -1 when not known yet
    public readonly BigramHeap Heap = new();
    public readonly List<int> Pending = []; // initial symbol ids, before Reset

    public void Reset(int count)
    {
        if (Start.Length < count)
        {
            int n = Math.Max(count, Start.Length * 2);
            Start = new int[n];
            Length = new int[n];
            Prev = new int[n];
            Next = new int[n];
            Id = new int[n];
        }
        for (int i = 0; i < count; i++)
        {
            Prev[i] = i - 1;
            Next[i] = i + 1 < count ? i + 1 : -1;
        }
        Heap.Clear();
    }

    /// <summary>
    /// Pops the next bigram that is still valid. Symbols only grow, and only by taking in their
    /// right neighbour, so a queued bigram is current exactly when both symbols are live and
    /// their lengths still add up to the length recorded when it was queued (llama.cpp checks the
    /// same, by length for SPM and by text for BPE).
    /// </summary>
    public bool TryPopValid(out Bigram bigram)
    {
        while (Heap.Count > 0)
        {
            bigram = Heap.Pop();
            int l = Length[bigram.Left];
            int r = Length[bigram.Right];
            if (l != 0 && r != 0 && l + r == bigram.A)
            {
                return true;
            }
        }
        bigram = default;
        return false;
    }

    /// <summary>Merges <paramref name="right"/> into <paramref name="left"/>, which becomes token <paramref name="id"/>.</summary>
    public void Merge(int left, int right, int id)
    {
        Length[left] += Length[right];
        Length[right] = 0;
        Id[left] = id;
        int after = Next[right];
        Next[left] = after;
        if (after >= 0)
        {
            Prev[after] = left;
        }
    }
}
