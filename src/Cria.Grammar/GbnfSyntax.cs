namespace Cria.Grammar;

// The syntax tree GbnfParser builds and GrammarCompiler lowers. Position: the UTF-16 offset in the
// source where the construct starts, for error messages. These types are tiny and only make sense together.

/// <summary>A parsed GBNF expression.</summary>
internal abstract record GbnfExpr(int Position);

/// <summary>Alternatives (a rule body or a parenthesized group); each alternative is a sequence.</summary>
internal sealed record GbnfChoice(int Position, IReadOnlyList<GbnfSequence> Alternatives) : GbnfExpr(Position);

/// <summary>Items matched one after the other; no items matches the empty string.</summary>
internal sealed record GbnfSequence(int Position, IReadOnlyList<GbnfExpr> Items) : GbnfExpr(Position);

/// <summary>One code point from a set: a character class, <c>.</c>, or one character of a literal.</summary>
internal sealed record GbnfChars(int Position, CodePointSet Set) : GbnfExpr(Position);

/// <summary>A string literal, as code points.</summary>
internal sealed record GbnfLiteral(int Position, int[] CodePoints) : GbnfExpr(Position);

/// <summary>A reference to a rule by name.</summary>
internal sealed record GbnfRef(int Position, string Name) : GbnfExpr(Position);

/// <summary><c>item{Min,Max}</c>; Max -1 means no upper bound (<c>*</c>, <c>+</c>, <c>{m,}</c>).</summary>
internal sealed record GbnfRepeat(int Position, GbnfExpr Item, int Min, int Max) : GbnfExpr(Position);

/// <summary><c>name ::= body</c>.</summary>
internal sealed record GbnfRule(string Name, int Position, GbnfChoice Body);
