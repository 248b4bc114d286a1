namespace Cria.Grammar;

/// <summary>
/// The grammar state of one generation: which tokens may come next, and advancing by the token chosen.
/// Invariant: the text of the tokens accepted so far (their UTF-8 bytes, a character may be split across
/// tokens) is a prefix of some sentence of the grammar, and <see cref="CanEnd"/> is true exactly when it is
/// a whole sentence. End-of-generation tokens are allowed only then; control tokens never. Small: a state
/// reference and per-sequence scratch; the automaton and the token trie are shared. Not thread-safe: one
/// matcher per sequence (several matchers of one grammar may run on different threads).
/// </summary>
public sealed class GrammarMatcher
{
    private readonly GrammarAutomaton _automaton;
    private readonly ITokenVocabulary _vocabulary;
    private readonly TokenTrie _trie;
    private readonly GrammarState[] _path;  // [trie depth + 1] the state after each byte of the node being walked
    private readonly bool[] _allowed;       // [vocab] scratch of Mask
    private GrammarState _state;

    internal GrammarMatcher(CompiledGrammar grammar, ITokenVocabulary vocabulary)
    {
        _automaton = grammar.Automaton;
        _vocabulary = vocabulary;
        _trie = TokenTrie.For(vocabulary);
        _path = new GrammarState[_trie.MaxDepth + 1];
        _allowed = new bool[_trie.VocabSize];
        _state = _automaton.Initial;
        Grammar = grammar;
    }

    public CompiledGrammar Grammar { get; }

    /// <summary>The text so far is a complete sentence: end-of-generation tokens are allowed.</summary>
    public bool CanEnd => _state.CanEnd;

    /// <summary>The text so far is complete and nothing may follow it: generation should stop.</summary>
    public bool IsComplete => _state.IsComplete;

    /// <summary>True when <paramref name="token"/> may come next.</summary>
    public bool IsAllowed(int token)
    {
        if ((uint)token >= (uint)_trie.VocabSize)
        {
            return false;
        }
        switch (_trie.Kinds[token])
        {
            case TokenTrie.TokenKind.EndOfGeneration:
                return _state.CanEnd;
            case TokenTrie.TokenKind.Text:
                lock (_automaton.Gate)
                {
                    _automaton.BeginCall();
                    return !_automaton.Walk(_state, _vocabulary.TokenBytes(token)).IsDead;
                }
            default:
                return false;
        }
    }

    /// <summary>Advances by <paramref name="token"/>, which must be allowed (an end-of-generation token changes nothing).</summary>
    /// <exception cref="InvalidOperationException">The token is not allowed here.</exception>
    public void Accept(int token)
    {
        if ((uint)token < (uint)_trie.VocabSize)
        {
            switch (_trie.Kinds[token])
            {
                case TokenTrie.TokenKind.EndOfGeneration when _state.CanEnd:
                    return;
                case TokenTrie.TokenKind.Text:
                    GrammarState next;
                    lock (_automaton.Gate)
                    {
                        _automaton.BeginCall();
                        next = _automaton.Walk(_state, _vocabulary.TokenBytes(token));
                    }
                    if (!next.IsDead)
                    {
                        _state = next;
                        return;
                    }
                    break;
            }
        }
        throw new InvalidOperationException($"token {token} is not allowed by the grammar here");
    }

    /// <summary>
    /// Sets the logit of every token that may not come next to −∞ (<paramref name="logits"/>: [vocab], ids
    /// beyond the vocabulary included, they are never allowed). Returns how many tokens stay allowed.
    /// </summary>
    /// <exception cref="GrammarException">No token at all is allowed (the vocabulary cannot write what the grammar needs, or has no end-of-generation token for a complete text).</exception>
    public int Mask(Span<float> logits)
    {
        bool[] allowed = _allowed;
        int count = FillAllowed(allowed);
        if (count == 0)
        {
            throw new GrammarException(_state.CanEnd
                ? "no token is allowed by the grammar here: the text is complete and the vocabulary has no end-of-generation token"
                : "no token is allowed by the grammar here: no token of the vocabulary can write what the grammar needs next");
        }
        int n = Math.Min(logits.Length, allowed.Length);
        for (int i = 0; i < n; i++)
        {
            if (!allowed[i])
            {
                logits[i] = float.NegativeInfinity;
            }
        }
        logits[n..].Fill(float.NegativeInfinity);
        return count;
    }

    /// <summary>Sets allowed[id] for every token that may come next (the rest false); returns their number.</summary>
    internal int FillAllowed(bool[] allowed)
    {
        Array.Clear(allowed);
        TokenTrie trie = _trie;
        byte[] bytes = trie.Bytes;
        int[] depth = trie.Depth;
        int[] subtreeEnd = trie.SubtreeEnd;
        int[] tokenStart = trie.TokenStart;
        int[] tokens = trie.Tokens;
        GrammarState[] path = _path;
        GrammarAutomaton automaton = _automaton;
        GrammarState dead = GrammarAutomaton.Dead;
        int count = 0;
        lock (automaton.Gate)
        {
            automaton.BeginCall();
            path[0] = _state;
            int n = trie.NodeCount;
            for (int i = 0; i < n;)
            {
                int d = depth[i];
                GrammarState s = automaton.Step(path[d - 1], bytes[i]);
                if (s == dead)
                {
                    i = subtreeEnd[i]; // every token under this prefix is rejected
                    continue;
                }
                path[d] = s;
                for (int t = tokenStart[i]; t < tokenStart[i + 1]; t++)
                {
                    allowed[tokens[t]] = true;
                    count++;
                }
                i++;
            }
        }
        if (_state.CanEnd)
        {
            foreach (int id in trie.EndOfGeneration)
            {
                allowed[id] = true;
                count++;
            }
        }
        return count;
    }
}
