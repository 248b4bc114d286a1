namespace Cria.Templates;

// The expression tree. Every node keeps the line and column of its first token so that runtime
// errors can point into the template.

internal abstract record Expr(int Line, int Column);

internal sealed record LiteralExpr(Value Value, int Line, int Column) : Expr(Line, Column);

internal sealed record NameExpr(string Name, int Line, int Column) : Expr(Line, Column);

internal sealed record ListExpr(IReadOnlyList<Expr> Items, bool IsTuple, int Line, int Column) : Expr(Line, Column);

internal sealed record DictExpr(IReadOnlyList<(Expr Key, Expr Value)> Pairs, int Line, int Column) : Expr(Line, Column);

internal sealed record AttributeExpr(Expr Target, string Name, int Line, int Column) : Expr(Line, Column);

internal sealed record ItemExpr(Expr Target, Expr Key, int Line, int Column) : Expr(Line, Column);

internal sealed record SliceExpr(Expr Target, Expr? Start, Expr? Stop, Expr? Step, int Line, int Column) : Expr(Line, Column);

/// <summary>Positional and keyword arguments of a call, filter or test.</summary>
internal sealed record ArgumentList(IReadOnlyList<Expr> Positional, IReadOnlyList<(string Name, Expr Value)> Named)
{
    public static ArgumentList Empty { get; } = new([], []);
}

internal sealed record CallExpr(Expr Callee, ArgumentList Arguments, int Line, int Column) : Expr(Line, Column);

/// <summary><c>input | name(args)</c>; <see cref="Input"/> is null in a <c>{% filter %}</c> block head.</summary>
internal sealed record FilterExpr(Expr? Input, string Name, ArgumentList Arguments, int Line, int Column) : Expr(Line, Column);

internal sealed record TestExpr(Expr Input, string Name, ArgumentList Arguments, bool Negated, int Line, int Column) : Expr(Line, Column);

/// <summary><c>not</c>, unary <c>-</c> and <c>+</c>.</summary>
internal sealed record UnaryExpr(string Operator, Expr Operand, int Line, int Column) : Expr(Line, Column);

/// <summary>Arithmetic, <c>~</c>, <c>and</c>, <c>or</c>.</summary>
internal sealed record BinaryExpr(string Operator, Expr Left, Expr Right, int Line, int Column) : Expr(Line, Column);

/// <summary>A comparison chain: <c>a &lt; b &lt;= c</c>, <c>x in y</c>, <c>x not in y</c>.</summary>
internal sealed record CompareExpr(Expr First, IReadOnlyList<(string Operator, Expr Operand)> Rest, int Line, int Column) : Expr(Line, Column);

/// <summary><c>then if condition else otherwise</c>; a missing else yields undefined.</summary>
internal sealed record ConditionalExpr(Expr Condition, Expr Then, Expr? Otherwise, int Line, int Column) : Expr(Line, Column);
