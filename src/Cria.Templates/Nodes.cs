namespace Cria.Templates;

// The statement tree: what a parsed template is made of. Bodies are plain lists of nodes.

internal abstract record Node(int Line, int Column);

internal sealed record TextNode(string Text, int Line, int Column) : Node(Line, Column);

internal sealed record OutputNode(Expr Value, int Line, int Column) : Node(Line, Column);

internal sealed record IfNode(IReadOnlyList<(Expr Condition, IReadOnlyList<Node> Body)> Branches, IReadOnlyList<Node>? Else, int Line, int Column) : Node(Line, Column);

internal sealed record ForNode(
    IReadOnlyList<string> Targets,
    Expr Iterable,
    Expr? Filter,
    IReadOnlyList<Node> Body,
    IReadOnlyList<Node>? Else,
    int Line,
    int Column) : Node(Line, Column);

/// <summary><c>{% set a = … %}</c>, <c>{% set a, b = … %}</c> or <c>{% set ns.attr = … %}</c> (then <see cref="Attribute"/> is set).</summary>
internal sealed record SetNode(IReadOnlyList<string> Targets, string? Attribute, Expr Value, int Line, int Column) : Node(Line, Column);

/// <summary><c>{% set name | filters %}…{% endset %}</c>: captures the body's output.</summary>
internal sealed record SetBlockNode(string Target, string? Attribute, IReadOnlyList<FilterExpr> Filters, IReadOnlyList<Node> Body, int Line, int Column) : Node(Line, Column);

internal sealed record MacroParameter(string Name, Expr? Default);

internal sealed record MacroNode(string Name, IReadOnlyList<MacroParameter> Parameters, IReadOnlyList<Node> Body, int Line, int Column) : Node(Line, Column);

/// <summary><c>{% call(params) macro(args) %}body{% endcall %}</c>: the body becomes <c>caller()</c> inside the macro.</summary>
internal sealed record CallBlockNode(CallExpr Call, IReadOnlyList<MacroParameter> Parameters, IReadOnlyList<Node> Body, int Line, int Column) : Node(Line, Column);

internal sealed record FilterBlockNode(IReadOnlyList<FilterExpr> Filters, IReadOnlyList<Node> Body, int Line, int Column) : Node(Line, Column);

internal sealed record WithNode(IReadOnlyList<(string Name, Expr Value)> Assignments, IReadOnlyList<Node> Body, int Line, int Column) : Node(Line, Column);

internal sealed record DoNode(Expr Value, int Line, int Column) : Node(Line, Column);

internal sealed record BreakNode(int Line, int Column) : Node(Line, Column);

internal sealed record ContinueNode(int Line, int Column) : Node(Line, Column);
