using System.Runtime.CompilerServices;

namespace Cria.Grammar;

/// <summary>
/// The bytes of every token a grammar may allow, as a prefix tree flattened in preorder, so a walk can skip
/// a whole subtree (every token that starts with a rejected prefix) by jumping to <see cref="SubtreeEnd"/>.
/// Built once per vocabulary and cached for its lifetime. Tokens in the tree: those with bytes (control and
/// unknown tokens have none), except end-of-generation tokens (end of generation is the grammar's <c>CanEnd</c>, not text).
/// </summary>
internal sealed class TokenTrie
{
    private static readonly ConditionalWeakTable<ITokenVocabulary, TokenTrie> s_cache = [];

    private TokenTrie(ITokenVocabulary vocabulary)
    {
        int vocab = vocabulary.VocabSize;
        Kinds = new TokenKind[vocab];
        var texts = new List<(byte[] Bytes, int Id)>(vocab);
        var ends = new List<int>();
        for (int id = 0; id < vocab; id++)
        {
            if (vocabulary.IsEndOfGeneration(id))
            {
                Kinds[id] = TokenKind.EndOfGeneration;
                ends.Add(id);
                continue;
            }
            ReadOnlySpan<byte> bytes = vocabulary.TokenBytes(id);
            if (bytes.IsEmpty)
            {
                continue; // control, unknown and unused tokens print nothing; allowing them could loop forever
            }
            Kinds[id] = TokenKind.Text;
            texts.Add((bytes.ToArray(), id));
        }
        EndOfGeneration = [.. ends];
        texts.Sort(static (a, b) =>
        {
            int c = a.Bytes.AsSpan().SequenceCompareTo(b.Bytes);
            return c != 0 ? c : a.Id.CompareTo(b.Id);
        });

        var nodeBytes = new List<byte>();
        var depths = new List<int>();
        var subtreeEnd = new List<int>();
        var tokenNode = new List<int>(texts.Count); // token i of `texts` ends at this node
        var path = new List<int>();                 // open nodes, path[d] at depth d + 1
        byte[] previous = [];
        foreach ((byte[] bytes, int _) in texts)
        {
            int common = bytes.AsSpan().CommonPrefixLength(previous);
            while (path.Count > common)
            {
                subtreeEnd[path[^1]] = nodeBytes.Count;
                path.RemoveAt(path.Count - 1);
            }
            for (int k = common; k < bytes.Length; k++)
            {
                path.Add(nodeBytes.Count);
                nodeBytes.Add(bytes[k]);
                depths.Add(k + 1);
                subtreeEnd.Add(-1);
            }
            tokenNode.Add(path[^1]);
            previous = bytes;
        }
        while (path.Count > 0)
        {
            subtreeEnd[path[^1]] = nodeBytes.Count;
            path.RemoveAt(path.Count - 1);
        }

        Bytes = [.. nodeBytes];
        Depth = [.. depths];
        SubtreeEnd = [.. subtreeEnd];
        TokenStart = new int[Bytes.Length + 1];
        Tokens = new int[texts.Count];
        foreach (int node in tokenNode)
        {
            TokenStart[node + 1]++;
        }
        for (int i = 0; i < Bytes.Length; i++)
        {
            TokenStart[i + 1] += TokenStart[i];
        }
        // tokens of a node are consecutive in sorted order, and nodes were created in that order
        for (int i = 0; i < texts.Count; i++)
        {
            Tokens[i] = texts[i].Id;
        }
        MaxDepth = depths.Count == 0 ? 0 : depths.Max();
        VocabSize = vocab;
    }

    /// <summary>How the grammar treats a token.</summary>
    public enum TokenKind : byte
    {
        /// <summary>Never allowed (control, unknown, unused).</summary>
        Never,

        /// <summary>Its bytes must fit the grammar.</summary>
        Text,

        /// <summary>Allowed exactly when the grammar can end.</summary>
        EndOfGeneration,
    }

    public int VocabSize { get; }

    /// <summary>[vocab] how each token is treated.</summary>
    public TokenKind[] Kinds { get; }

    /// <summary>The end-of-generation token ids.</summary>
    public int[] EndOfGeneration { get; }

    /// <summary>[nodes] the byte on the edge into each node, in preorder.</summary>
    public byte[] Bytes { get; }

    /// <summary>[nodes] 1 for children of the root.</summary>
    public int[] Depth { get; }

    /// <summary>[nodes] the first node after this node's subtree.</summary>
    public int[] SubtreeEnd { get; }

    /// <summary>[nodes + 1] the tokens whose bytes end at node i are Tokens[TokenStart[i] .. TokenStart[i + 1]).</summary>
    public int[] TokenStart { get; }

    public int[] Tokens { get; }

    public int MaxDepth { get; }

    public int NodeCount => Bytes.Length;

    public static TokenTrie For(ITokenVocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        return s_cache.GetValue(vocabulary, static v => new TokenTrie(v));
    }
}
