using System.Text;

namespace Cria.Core.Tokenization;

/// <summary>
/// SentencePiece BPE as llama.cpp's <c>llm_tokenizer_spm</c> runs it: every character starts as
/// a symbol, and the adjacent pair whose concatenation is the highest-scoring vocabulary piece
/// merges first (ties to the left), until no pair forms a piece. A final symbol that is not a
/// piece (a character missing from the vocabulary) is written as its UTF-8 bytes, &lt;0xNN&gt;
/// tokens ("byte fallback"), or as the unknown token when the vocabulary lacks one of those.
/// </summary>
internal sealed class SentencePieceEncoder(
    Dictionary<string, int> pieces,
    float[] scores,
    int[] byteTokens,
    int unknownId,
    JoinablePairs joinable) : EscapedTextEncoder(joinable)
{
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _pieces = pieces.GetAlternateLookup<ReadOnlySpan<char>>();

    protected override void EncodeChunk(ReadOnlySpan<char> buf, int from, int to, MergeWork w, List<int> output)
    {
        int count = StartSymbols(buf, from, to, w);
        for (int k = 1; k < count; k++)
        {
            TryQueue(buf, w, k - 1, k);
        }
        while (w.TryPopValid(out Bigram b))
        {
            w.Merge(b.Left, b.Right, b.B);
            TryQueue(buf, w, w.Prev[b.Left], b.Left);
            TryQueue(buf, w, b.Left, w.Next[b.Left]);
        }

        Span<byte> bytes = stackalloc byte[8];
        for (int k = 0; k != -1; k = w.Next[k])
        {
            if (w.Id[k] >= 0)
            {
                output.Add(w.Id[k]);
                continue;
            }
            ReadOnlySpan<char> symbol = buf.Slice(w.Start[k], w.Length[k]);
            if (_pieces.TryGetValue(symbol, out int id))
            {
                output.Add(id);
                continue;
            }
            int nb = Encoding.UTF8.GetBytes(symbol, bytes);
            bool allBytes = true;
            for (int j = 0; j < nb; j++)
            {
                allBytes &= byteTokens[bytes[j]] >= 0;
            }
            for (int j = 0; allBytes && j < nb; j++)
            {
                output.Add(byteTokens[bytes[j]]);
            }
            if (!allBytes && unknownId >= 0)
            {
                output.Add(unknownId); // llama.cpp stops with an error here
            }
        }
    }

    private void TryQueue(ReadOnlySpan<char> buf, MergeWork w, int left, int right)
    {
        if (left < 0 || right < 0)
        {
            return;
        }
        int length = w.Length[left] + w.Length[right];
        if (_pieces.TryGetValue(buf.Slice(w.Start[left], length), out int id))
        {
            w.Heap.Push(new Bigram(scores[id], left, right, length, id));
        }
    }
}
