using System.Runtime.CompilerServices;

namespace Cria.Grammar;

/// <summary>
/// The set-of-stacks matcher of a <see cref="GrammarProgram"/> (llama.cpp's idea), run over UTF-8 bytes and
/// memoized into a lazily built automaton: each distinct set of parses is interned as one
/// <see cref="GrammarState"/>, and each (state, byte) transition is computed once and cached in the state.
/// A token trie walked against it (<see cref="GrammarMatcher"/>) then costs about one array load per trie node.
/// Invariants: the top of every stack in a state is a Chars element (rule references and rule ends are
/// expanded eagerly, in <see cref="Expand"/>); equal sets of stacks are one state; the cache holds at most
/// <see cref="GrammarLimits.MaxCachedStates"/> states and is dropped whole when it would hold more (states
/// already handed out stay valid: they recompute what they lose). One automaton serves every matcher of a
/// grammar; callers hold <see cref="Gate"/> around every call.
/// </summary>
internal sealed class GrammarAutomaton
{
    private readonly GrammarProgram _program;
    private readonly Dictionary<(int Position, long Parent), GrammarStack> _stacks = [];
    private readonly Dictionary<StateKey, GrammarState> _states = [];
    private readonly List<GrammarState> _cached = [];
    private readonly Stack<(int Position, GrammarStack? Parent)> _work = new();
    private readonly HashSet<(int Position, long Parent)> _visited = [];
    private readonly List<GrammarStack> _found = [];
    private long _nextStackId;
    private long _cachedStackRefs; // sum of Stacks.Length over the interned states
    private long _spent;           // parse steps since BeginCall

    public GrammarAutomaton(GrammarProgram program)
    {
        _program = program;
        lock (Gate)
        {
            Initial = Start();
        }
    }

    /// <summary>Held by callers around every use of the automaton and of the states it returns.</summary>
    public Lock Gate { get; } = new();

    /// <summary>The state before any text: every alternative of the root, expanded.</summary>
    public GrammarState Initial { get; }

    /// <summary>The one state no text can continue from (every dead end returns this object).</summary>
    public static GrammarState Dead { get; } = new([], hasEmpty: false);

    /// <summary>Starts the work budget of one call (<see cref="GrammarLimits.MaxWorkPerCall"/>).</summary>
    public void BeginCall() => _spent = 0;

    /// <summary>The state after <paramref name="b"/>; <see cref="Dead"/> when no parse can read it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public GrammarState Step(GrammarState s, byte b)
    {
        GrammarState?[]? next = s.Next;
        int i = b - s.NextOffset;
        if (next is not null && (uint)i < (uint)next.Length && next[i] is { } cached)
        {
            return cached;
        }
        return StepSlow(s, b);
    }

    /// <summary>The state after <paramref name="bytes"/>, or <see cref="Dead"/>.</summary>
    public GrammarState Walk(GrammarState s, ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            s = Step(s, b);
            if (s.IsDead)
            {
                return s;
            }
        }
        return s;
    }

    private GrammarState StepSlow(GrammarState s, byte b)
    {
        if (s.IsDead)
        {
            return s;
        }
        if (_cached.Count >= GrammarLimits.MaxCachedStates || _cachedStackRefs >= GrammarLimits.MaxCachedStacks || _stacks.Count >= GrammarLimits.MaxCachedStacks)
        {
            DropCache();
        }
        GrammarState next;
        if (s.PendingNeed == 0)
        {
            if (b < 0x80)
            {
                next = StepCodePoint(s, b);
            }
            else if (b is >= 0xC2 and <= 0xF4)
            {
                int length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
                next = Pending(s, b & (0x7F >> length), length - 1, length);
            }
            else
            {
                next = Dead; // a continuation byte with nothing to continue, or a byte UTF-8 never uses
            }
        }
        else if ((b & 0xC0) != 0x80)
        {
            return Dead; // not a continuation byte: outside the pending state's table, not cached
        }
        else
        {
            int value = (s.PendingValue << 6) | (b & 0x3F);
            GrammarState complete = s.Complete!;
            next = s.PendingNeed == 1
                ? (IsScalar(value, s.PendingLength) ? StepCodePoint(complete, value) : Dead)
                : Pending(complete, value, s.PendingNeed - 1, s.PendingLength);
        }
        GrammarState?[] table = s.Next ??= new GrammarState?[s.PendingNeed == 0 ? 256 : 64];
        table[b - s.NextOffset] = next;
        return next;
    }

    /// <summary>A character's first bytes: viable when some parse's next class holds a code point they can begin.</summary>
    private GrammarState Pending(GrammarState complete, int value, int need, int length)
    {
        int lo = value << (6 * need);
        int hi = lo | ((1 << (6 * need)) - 1);
        lo = Math.Max(lo, MinimumOf(length));
        hi = Math.Min(hi, CodePointSet.MaxCodePoint);
        if (lo > hi || (lo >= 0xD800 && hi <= 0xDFFF))
        {
            return Dead; // overlong, beyond U+10FFFF, or a surrogate
        }
        foreach (GrammarStack stack in complete.Stacks)
        {
            if (SetAt(stack.Position).Intersects(lo, hi))
            {
                var state = new GrammarState(complete, value, need, length);
                _cached.Add(state);
                return state;
            }
        }
        return Dead;
    }

    private static int MinimumOf(int length) => length switch { 2 => 0x80, 3 => 0x800, _ => 0x10000 };

    private static bool IsScalar(int cp, int length) =>
        cp >= MinimumOf(length) && cp <= CodePointSet.MaxCodePoint && cp is < 0xD800 or > 0xDFFF;

    private CodePointSet SetAt(int position) => _program.Sets[_program.Elements[position].Value];

    private GrammarState Start()
    {
        _work.Clear();
        _visited.Clear();
        _found.Clear();
        foreach (int start in _program.Alternatives[_program.Root])
        {
            _work.Push((start, null));
        }
        bool hasEmpty = Expand();
        return Intern(hasEmpty);
    }

    private GrammarState StepCodePoint(GrammarState s, int cp)
    {
        _work.Clear();
        _visited.Clear();
        _found.Clear();
        _spent += s.Stacks.Length;
        foreach (GrammarStack stack in s.Stacks)
        {
            if (SetAt(stack.Position).Contains(cp))
            {
                _work.Push((stack.Position + 1, stack.Parent));
            }
        }
        bool hasEmpty = Expand();
        return _found.Count == 0 && !hasEmpty ? Dead : Intern(hasEmpty);
    }

    /// <summary>
    /// Expands the positions in <c>_work</c> until every stack's top reads a character: a rule reference
    /// is replaced by each of its alternatives (with the position after it below, unless that is the end,
    /// so right recursion does not grow the stack); the end of a rule pops to what is below. Each
    /// (position, rest of stack) is expanded once. Returns true when some stack emptied (the root finished).
    /// </summary>
    private bool Expand()
    {
        GrammarElement[] elements = _program.Elements;
        bool hasEmpty = false;
        while (_work.Count > 0)
        {
            (int position, GrammarStack? parent) = _work.Pop();
            if (++_spent > GrammarLimits.MaxWorkPerCall)
            {
                throw new GrammarException($"the grammar is too costly to match: more than {GrammarLimits.MaxWorkPerCall} parse steps for one token");
            }
            if (!_visited.Add((position, parent?.Id ?? -1)))
            {
                continue;
            }
            GrammarElement e = elements[position];
            switch (e.Kind)
            {
                case ElementKind.Chars:
                    _found.Add(InternStack(position, parent));
                    if (_found.Count > GrammarLimits.MaxStacks)
                    {
                        throw new GrammarException($"the grammar is too ambiguous: more than {GrammarLimits.MaxStacks} parses are alive at once");
                    }
                    break;
                case ElementKind.End:
                    if (parent is null)
                    {
                        hasEmpty = true;
                    }
                    else
                    {
                        _work.Push((parent.Position, parent.Parent));
                    }
                    break;
                default:
                    int after = position + 1;
                    GrammarStack? below = elements[after].Kind == ElementKind.End ? parent : InternStack(after, parent);
                    foreach (int start in _program.Alternatives[e.Value])
                    {
                        _work.Push((start, below));
                    }
                    break;
            }
        }
        return hasEmpty;
    }

    private GrammarStack InternStack(int position, GrammarStack? parent)
    {
        var key = (position, parent?.Id ?? -1);
        if (!_stacks.TryGetValue(key, out GrammarStack? stack))
        {
            if (parent is { Depth: >= GrammarLimits.MaxStackDepth })
            {
                throw new GrammarException($"the text nests deeper than {GrammarLimits.MaxStackDepth} open rules");
            }
            stack = new GrammarStack(position, parent, _nextStackId++);
            _stacks[key] = stack;
        }
        return stack;
    }

    private GrammarState Intern(bool hasEmpty)
    {
        _found.Sort(static (a, b) => a.Id.CompareTo(b.Id));
        var ids = new long[_found.Count];
        for (int i = 0; i < ids.Length; i++)
        {
            ids[i] = _found[i].Id;
        }
        var key = new StateKey(ids, hasEmpty);
        if (!_states.TryGetValue(key, out GrammarState? state))
        {
            state = new GrammarState([.. _found], hasEmpty);
            _states[key] = state;
            _cached.Add(state);
            _cachedStackRefs += state.Stacks.Length;
        }
        return state;
    }

    /// <summary>Forgets every cached transition and interned object; states in use go on working.</summary>
    private void DropCache()
    {
        foreach (GrammarState s in _cached)
        {
            s.Next = null;
        }
        Initial.Next = null;
        _cached.Clear();
        _states.Clear();
        _stacks.Clear();
        _cachedStackRefs = 0;
    }

    private sealed class StateKey : IEquatable<StateKey>
    {
        private readonly long[] _ids;
        private readonly bool _hasEmpty;
        private readonly int _hash;

        public StateKey(long[] ids, bool hasEmpty)
        {
            _ids = ids;
            _hasEmpty = hasEmpty;
            var h = new HashCode();
            h.Add(hasEmpty);
            foreach (long id in ids)
            {
                h.Add(id);
            }
            _hash = h.ToHashCode();
        }

        public bool Equals(StateKey? other) => other is not null && other._hasEmpty == _hasEmpty && other._ids.AsSpan().SequenceEqual(_ids);

        public override bool Equals(object? obj) => Equals(obj as StateKey);

        public override int GetHashCode() => _hash;
    }
}
