namespace Cria.Grammar;

/// <summary>
/// One parse in progress, as an immutable linked stack of element positions (llama.cpp's grammar stacks):
/// the top is the next thing to read, each entry below is where to go on when the rule above it ends.
/// Interned by <see cref="GrammarAutomaton"/>, so equal stacks are the same object and share their tails;
/// ids are never reused, not even after the automaton drops its cache.
/// </summary>
internal sealed class GrammarStack
{
    public GrammarStack(int position, GrammarStack? parent, long id)
    {
        Position = position;
        Parent = parent;
        Id = id;
        Depth = parent is null ? 1 : parent.Depth + 1;
    }

    /// <summary>An index into <see cref="GrammarProgram.Elements"/>; on top of a state's stack it is always a Chars element.</summary>
    public int Position { get; }

    public GrammarStack? Parent { get; }

    public long Id { get; }

    public int Depth { get; }
}
