using System.Text;

using Cria.Core.Tokenization;

namespace Cria.Core.Tests.Grammar;

/// <summary>
/// Token ids whose bytes are exactly a given text (greedy longest match over the vocabulary's pieces), the
/// way a model may write it; Encode would add SentencePiece's leading space.
/// </summary>
internal static class TokenText
{
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Tokenizer, Dictionary<string, int>> s_pieces = [];

    public static int[] Ids(Tokenizer tok, string text)
    {
        Dictionary<string, int> pieces = s_pieces.GetValue(tok, Build);
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var ids = new List<int>();
        for (int i = 0; i < bytes.Length;)
        {
            int best = -1, bestLength = 0;
            for (int n = Math.Min(48, bytes.Length - i); n >= 1 && best < 0; n--)
            {
                if (pieces.TryGetValue(Convert.ToHexString(bytes, i, n), out int id))
                {
                    best = id;
                    bestLength = n;
                }
            }
            if (best < 0)
            {
                throw new InvalidOperationException($"no token for byte {bytes[i]:X2}");
            }
            ids.Add(best);
            i += bestLength;
        }
        return [.. ids];
    }

    private static Dictionary<string, int> Build(Tokenizer tok)
    {
        var pieces = new Dictionary<string, int>();
        for (int id = 0; id < tok.VocabSize; id++)
        {
            ReadOnlySpan<byte> b = tok.TokenBytes(id);
            if (!b.IsEmpty && !tok.IsControl(id) && !tok.IsEndOfGeneration(id))
            {
                pieces.TryAdd(Convert.ToHexString(b), id);
            }
        }
        return pieces;
    }
}
