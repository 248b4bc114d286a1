using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Cria.Core.Tokenization;

/// <summary>
/// Token ids of recently seen words (or SentencePiece chunks). A word's tokens depend on nothing
/// but its text, so a hit is exact. Bounded: emptied when full, and long words are not kept.
/// Safe for concurrent encoders.
/// </summary>
internal sealed class WordCache
{
    private const int MaxEntries = 1 << 16;
    private const int MaxWordLength = 64;

    private readonly ConcurrentDictionary<string, int[]> _ids = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _bySpan;

    public WordCache()
    {
        _bySpan = _ids.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Appends the cached ids of <paramref name="word"/> to <paramref name="output"/>, if any.</summary>
    public bool TryGet(ReadOnlySpan<char> word, List<int> output)
    {
        if (word.Length > MaxWordLength || !_bySpan.TryGetValue(word, out int[]? ids))
        {
            return false;
        }
        output.AddRange(ids);
        return true;
    }

    /// <summary>Remembers <paramref name="output"/>[<paramref name="from"/>..] as the ids of <paramref name="word"/>.</summary>
    public void Add(ReadOnlySpan<char> word, List<int> output, int from)
    {
        if (word.Length > MaxWordLength)
        {
            return;
        }
        if (_ids.Count >= MaxEntries)
        {
            _ids.Clear();
        }
        _bySpan.TryAdd(word, CollectionsMarshal.AsSpan(output)[from..].ToArray());
    }
}
