namespace Cria.Grammar;

/// <summary>
/// A state of the byte-level automaton a <see cref="GrammarAutomaton"/> builds lazily: a set of parses
/// (<see cref="Stacks"/>, plus <see cref="HasEmpty"/> when one parse has finished the root), and possibly
/// the first bytes of a UTF-8 character that is not complete yet. Transitions are cached in <see cref="Next"/>,
/// so a byte the automaton has seen in this state before costs one array load.
/// </summary>
internal sealed class GrammarState
{
    /// <summary>A complete state (no pending character bytes).</summary>
    public GrammarState(GrammarStack[] stacks, bool hasEmpty)
    {
        Stacks = stacks;
        HasEmpty = hasEmpty;
    }

    /// <summary>A state inside a character: <paramref name="complete"/>'s parses, waiting for <paramref name="need"/> more bytes.</summary>
    public GrammarState(GrammarState complete, int value, int need, int length)
    {
        Stacks = complete.Stacks;
        Complete = complete;
        PendingValue = value;
        PendingNeed = need;
        PendingLength = length;
        NextOffset = 0x80;
    }

    /// <summary>[stacks] parses alive, sorted by id; each top is a Chars element.</summary>
    public GrammarStack[] Stacks { get; }

    /// <summary>Some parse has finished the root rule.</summary>
    public bool HasEmpty { get; }

    /// <summary>For a state inside a character: the complete state it started from; null otherwise.</summary>
    public GrammarState? Complete { get; }

    /// <summary>The code point bits read so far of a pending character.</summary>
    public int PendingValue { get; }

    /// <summary>Continuation bytes still needed; 0 in a complete state.</summary>
    public int PendingNeed { get; }

    /// <summary>The pending character's length in bytes (2–4), or 0.</summary>
    public int PendingLength { get; }

    /// <summary>
    /// Cached transitions: a complete state indexes by byte (256 entries), a pending one by byte − 0x80
    /// (64 continuation bytes). Null entries are not computed yet. Only the automaton writes it, under its lock.
    /// </summary>
    public GrammarState?[]? Next { get; set; }

    /// <summary>What <see cref="Next"/> is indexed from: 0, or 0x80 inside a character.</summary>
    public int NextOffset { get; }

    /// <summary>No text can follow (only <see cref="GrammarAutomaton.Dead"/> is such a state).</summary>
    public bool IsDead => Stacks.Length == 0 && !HasEmpty && PendingNeed == 0;

    /// <summary>The text so far is a complete sentence of the grammar.</summary>
    public bool CanEnd => HasEmpty && PendingNeed == 0;

    /// <summary>Complete, and nothing more can follow.</summary>
    public bool IsComplete => CanEnd && Stacks.Length == 0;
}
