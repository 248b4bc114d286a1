using System.Text;

namespace Cria.Core.Tokenization;

/// <summary>
/// Hugging Face's BPE model over SentencePiece pieces (a Llama/Mistral <c>tokenizer.json</c> with
/// <c>byte_fallback</c>): each character is its piece, or its UTF-8 bytes as &lt;0xNN&gt; tokens when
/// it has none; then merges apply in rank order (tokenizers' <c>Word::merge_all</c>, lowest rank
/// first, ties to the left).
/// </summary>
internal sealed class SentencePieceBpeEncoder(
    BpeMerges merges,
    int[] byteTokens,
    int unknownId,
    bool fuseUnknown,
    JoinablePairs joinable) : EscapedTextEncoder(joinable)
{
    protected override void EncodeChunk(ReadOnlySpan<char> buf, int from, int to, MergeWork w, List<int> output)
    {
        List<int> ids = w.Pending;
        ids.Clear();
        Span<byte> bytes = stackalloc byte[8];
        for (int i = from; i < to;)
        {
            int width = CharWidth(buf, i);
            ReadOnlySpan<char> ch = buf.Slice(i, width);
            int id = merges.Find(ch);
            if (id >= 0)
            {
                ids.Add(id);
            }
            else
            {
                int nb = Encoding.UTF8.GetBytes(ch, bytes);
                bool allBytes = true;
                for (int j = 0; j < nb; j++)
                {
                    allBytes &= byteTokens[bytes[j]] >= 0;
                }
                if (!allBytes)
                {
                    ids.Add(unknownId);
                }
                for (int j = 0; allBytes && j < nb; j++)
                {
                    ids.Add(byteTokens[bytes[j]]);
                }
            }
            i += width;
        }
        int k = ids.Count;
        w.Reset(k);
        for (int s = 0; s < k; s++)
        {
            w.Start[s] = s;
            w.Length[s] = 1;
            w.Id[s] = ids[s];
        }
        merges.Run(w, k);
        int previous = -2;
        for (int s = 0; s != -1; s = w.Next[s])
        {
            int id = w.Id[s];
            if (id < 0 || id >= merges.VocabSize)
            {
                id = unknownId;
            }
            if (id < 0 || (fuseUnknown && id == unknownId && previous == unknownId))
            {
                continue;
            }
            output.Add(id);
            previous = id;
        }
    }
}
