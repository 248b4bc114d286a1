namespace Cria.Core.Tokenization;

/// <summary>
/// The pairs of code points that stand next to each other in at least one vocabulary piece.
/// SentencePiece-style merging only ever forms pieces of the vocabulary, so no merge can cross a
/// boundary between two characters that never touch in a piece: the text can be cut there and
/// each part tokenized alone with exactly the same result. This is what keeps a 4 MB text from
/// becoming one 4-million-symbol merge problem (llama.cpp tokenizes it as one).
/// </summary>
internal sealed class JoinablePairs
{
    private readonly HashSet<long>? _pairs = [];

    private JoinablePairs()
    {
        _pairs = null;
    }

    /// <summary>Every pair may join: the text is never cut.</summary>
    public static JoinablePairs Everything { get; } = new();

    public JoinablePairs(IEnumerable<string> pieces)
    {
        foreach (string piece in pieces)
        {
            int previous = -1;
            for (int i = 0; i < piece.Length; i++)
            {
                int cp = piece[i];
                if (char.IsHighSurrogate(piece[i]) && i + 1 < piece.Length && char.IsLowSurrogate(piece[i + 1]))
                {
                    cp = char.ConvertToUtf32(piece[i], piece[i + 1]);
                    i++;
                }
                if (previous >= 0)
                {
                    _pairs!.Add(Key(previous, cp));
                }
                previous = cp;
            }
        }
    }

    public bool Contains(int left, int right) => _pairs is null || _pairs.Contains(Key(left, right));

    private static long Key(int left, int right) => ((long)left << 21) | (uint)right;
}
