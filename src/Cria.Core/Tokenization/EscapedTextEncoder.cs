using System.Buffers;

namespace Cria.Core.Tokenization;

/// <summary>
/// The shared front of the SentencePiece-style encoders: ' ' becomes '▁', one '▁' goes in front
/// when asked, and the text is cut where <see cref="JoinablePairs"/> proves no merge can cross,
/// so that each chunk is merged on its own. Chunks are mostly words, so their results are cached.
/// </summary>
internal abstract class EscapedTextEncoder(JoinablePairs joinable) : TextEncoder
{
    public const char SpaceMark = '\u2581'; // '▁'

    private readonly WordCache _cache = new();

    public sealed override void Encode(ReadOnlySpan<char> text, bool addSpacePrefix, List<int> output)
    {
        int n = text.Length + (addSpacePrefix ? 1 : 0);
        if (n == 0)
        {
            return;
        }
        char[] rented = ArrayPool<char>.Shared.Rent(n);
        try
        {
            Span<char> buf = rented.AsSpan(0, n);
            int o = 0;
            if (addSpacePrefix)
            {
                buf[o++] = SpaceMark;
            }
            foreach (char c in text)
            {
                buf[o++] = c == ' ' ? SpaceMark : c;
            }
            EncodeEscaped(buf, output);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(rented);
        }
    }

    /// <summary>Tokenizes escaped text [from, to), a chunk no merge can leave.</summary>
    protected abstract void EncodeChunk(ReadOnlySpan<char> buf, int from, int to, MergeWork work, List<int> output);

    /// <summary>1, or 2 for a surrogate pair: one symbol per code point, as llama.cpp has one per UTF-8 character.</summary>
    protected static int CharWidth(ReadOnlySpan<char> s, int i) =>
        char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]) ? 2 : 1;

    /// <summary>Starts one symbol per code point of [from, to); returns the count.</summary>
    protected static int StartSymbols(ReadOnlySpan<char> buf, int from, int to, MergeWork w)
    {
        int count = 0;
        for (int i = from; i < to; i += CharWidth(buf, i))
        {
            count++;
        }
        w.Reset(count);
        for (int i = from, k = 0; i < to; k++)
        {
            int width = CharWidth(buf, i);
            w.Start[k] = i;
            w.Length[k] = width;
            w.Id[k] = -1;
            i += width;
        }
        return count;
    }

    private void EncodeEscaped(ReadOnlySpan<char> buf, List<int> output)
    {
        var work = new MergeWork();
        int chunkStart = 0;
        int previous = -1;
        int i = 0;
        while (i < buf.Length)
        {
            int width = CharWidth(buf, i);
            int cp = width == 2 ? char.ConvertToUtf32(buf[i], buf[i + 1]) : buf[i];
            if (previous >= 0 && !joinable.Contains(previous, cp))
            {
                EncodeCached(buf, chunkStart, i, work, output);
                chunkStart = i;
            }
            previous = cp;
            i += width;
        }
        EncodeCached(buf, chunkStart, buf.Length, work, output);
    }

    private void EncodeCached(ReadOnlySpan<char> buf, int from, int to, MergeWork work, List<int> output)
    {
        ReadOnlySpan<char> chunk = buf[from..to];
        if (_cache.TryGet(chunk, output))
        {
            return;
        }
        int before = output.Count;
        EncodeChunk(buf, from, to, work, output);
        _cache.Add(chunk, output, before);
    }
}
