using System.Runtime.CompilerServices;

namespace Cria.Templates;

/// <summary>
/// Recursive-descent parser from tokens to the statement tree. Statement tags follow Jinja2's
/// grammar for the subset chat templates use; <c>include</c>, <c>extends</c>, <c>import</c> and
/// <c>block</c> are rejected with a clear error. Nesting is capped so that a hostile template
/// cannot overflow the stack.
/// </summary>
internal sealed partial class Parser
{
    private const int MaxNesting = 256;

    private readonly List<Token> _tokens;
    private int _pos;
    private int _depth;
    private int _loopDepth;

    private Parser(List<Token> tokens)
    {
        _tokens = tokens;
    }

    public static IReadOnlyList<Node> Parse(List<Token> tokens)
    {
        var parser = new Parser(tokens);
        return parser.ParseBody([], null, out _);
    }

    private Token Current => _tokens[_pos];

    private Token PeekToken(int ahead = 1) => _tokens[Math.Min(_pos + ahead, _tokens.Count - 1)];

    private Token Advance()
    {
        Token t = _tokens[_pos];
        if (_pos < _tokens.Count - 1)
        {
            _pos++;
        }
        return t;
    }

    /// <summary>
    /// Parses nodes until a block tag named in <paramref name="ends"/>; consumes that tag's
    /// <c>{%</c> and name and reports which it was. With no ends, parses to the end of the template.
    /// </summary>
    private List<Node> ParseBody(string[] ends, Token? opener, out string end)
    {
        var nodes = new List<Node>();
        while (true)
        {
            Token t = Current;
            switch (t.Kind)
            {
                case TokenKind.Text:
                    nodes.Add(new TextNode(t.Value, t.Line, t.Column));
                    Advance();
                    break;
                case TokenKind.VariableBegin:
                    Advance();
                    Expr value = ParseTuple(withCondition: true);
                    Expect(TokenKind.VariableEnd);
                    nodes.Add(new OutputNode(value, t.Line, t.Column));
                    break;
                case TokenKind.BlockBegin:
                    Token name = PeekToken();
                    if (name.Kind != TokenKind.Name)
                    {
                        throw Error(name, $"expected a tag name after '{{%' but found {name}");
                    }
                    if (ends.Contains(name.Value))
                    {
                        Advance();
                        Advance();
                        end = name.Value;
                        return nodes;
                    }
                    if (name.Value.StartsWith("end", StringComparison.Ordinal) || name.Value is "elif" or "else")
                    {
                        string expected = ends.Length == 0 ? "" : $"; expected {Describe(ends)}";
                        throw Error(name, $"unexpected '{name.Value}'{expected}");
                    }
                    Advance();
                    nodes.Add(ParseStatement());
                    break;
                case TokenKind.End:
                    if (ends.Length == 0)
                    {
                        end = "";
                        return nodes;
                    }
                    throw Error(t, $"unexpected end of template; expected {Describe(ends)} to close the '{opener?.Value}' tag at line {opener?.Line}");
                default:
                    throw Error(t, $"unexpected {t}");
            }
        }
    }

    private static string Describe(string[] names) => string.Join(" or ", names.Select(n => $"'{n}'"));

    private Node ParseStatement()
    {
        Token keyword = Advance();
        EnterNesting(keyword);
        try
        {
            return keyword.Value switch
            {
                "if" => ParseIf(keyword),
                "for" => ParseFor(keyword),
                "set" => ParseSet(keyword),
                "macro" => ParseMacro(keyword),
                "call" => ParseCallBlock(keyword),
                "filter" => ParseFilterBlock(keyword),
                "with" => ParseWith(keyword),
                "do" => ParseDo(keyword),
                "generation" => ParseGeneration(keyword),
                "break" or "continue" => ParseLoopControl(keyword),
                "include" or "import" or "from" or "extends" or "block" =>
                    throw Error(keyword, $"'{keyword.Value}' is not supported in chat templates"),
                _ => throw Error(keyword, $"unknown tag '{keyword.Value}'"),
            };
        }
        finally
        {
            _depth--;
        }
    }

    private IfNode ParseIf(Token keyword)
    {
        var branches = new List<(Expr, IReadOnlyList<Node>)>();
        Expr condition = ParseTuple(withCondition: true);
        ExpectBlockEnd();
        while (true)
        {
            List<Node> body = ParseBody(["elif", "else", "endif"], keyword, out string end);
            branches.Add((condition, body));
            if (end == "elif")
            {
                condition = ParseTuple(withCondition: true);
                ExpectBlockEnd();
                continue;
            }
            List<Node>? elseBody = null;
            if (end == "else")
            {
                ExpectBlockEnd();
                elseBody = ParseBody(["endif"], keyword, out _);
            }
            ExpectBlockEnd();
            return new IfNode(branches, elseBody, keyword.Line, keyword.Column);
        }
    }

    private ForNode ParseFor(Token keyword)
    {
        List<string> targets = ParseTargets();
        if (!Current.IsName("in"))
        {
            throw Error(Current, $"expected 'in' but found {Current}");
        }
        Advance();
        Expr iterable = ParseTuple(withCondition: false);
        Expr? filter = null;
        if (Current.IsName("recursive"))
        {
            throw Error(Current, "recursive for loops are not supported");
        }
        if (Current.IsName("if"))
        {
            Advance();
            filter = ParseExpression();
        }
        ExpectBlockEnd();
        _loopDepth++;
        List<Node> body = ParseBody(["else", "endfor"], keyword, out string end);
        _loopDepth--;
        List<Node>? elseBody = null;
        if (end == "else")
        {
            ExpectBlockEnd();
            elseBody = ParseBody(["endfor"], keyword, out _);
        }
        ExpectBlockEnd();
        return new ForNode(targets, iterable, filter, body, elseBody, keyword.Line, keyword.Column);
    }

    /// <summary>Loop or set targets: <c>x</c>, <c>k, v</c> or <c>(k, v)</c>.</summary>
    private List<string> ParseTargets()
    {
        bool parenthesized = Current.IsOperator("(");
        if (parenthesized)
        {
            Advance();
        }
        var names = new List<string> { ExpectName().Value };
        while (Current.IsOperator(","))
        {
            Advance();
            if (parenthesized && Current.IsOperator(")"))
            {
                break;
            }
            names.Add(ExpectName().Value);
        }
        if (parenthesized)
        {
            ExpectOperator(")");
        }
        return names;
    }

    private Node ParseSet(Token keyword)
    {
        List<string> targets = ParseTargets();
        string? attribute = null;
        if (targets.Count == 1 && Current.IsOperator("."))
        {
            Advance();
            attribute = ExpectName().Value;
        }
        if (Current.IsOperator("="))
        {
            Advance();
            Expr value = ParseTuple(withCondition: true);
            ExpectBlockEnd();
            return new SetNode(targets, attribute, value, keyword.Line, keyword.Column);
        }
        if (targets.Count != 1)
        {
            throw Error(Current, "a block set takes a single name");
        }
        var filters = new List<FilterExpr>();
        while (Current.IsOperator("|"))
        {
            Advance();
            filters.Add(ParseFilter(null));
        }
        ExpectBlockEnd();
        List<Node> body = ParseBody(["endset"], keyword, out _);
        ExpectBlockEnd();
        return new SetBlockNode(targets[0], attribute, filters, body, keyword.Line, keyword.Column);
    }

    private void EnterNesting(Token at)
    {
        if (++_depth > MaxNesting)
        {
            throw new TemplateException(TemplateErrorKind.Limit, $"template nests deeper than {MaxNesting} levels", at.Line, at.Column);
        }
        try
        {
            RuntimeHelpers.EnsureSufficientExecutionStack();
        }
        catch (InsufficientExecutionStackException)
        {
            throw new TemplateException(TemplateErrorKind.Limit, "template nests too deeply", at.Line, at.Column);
        }
    }

    private void ExpectBlockEnd() => Expect(TokenKind.BlockEnd);

    private Token Expect(TokenKind kind)
    {
        if (Current.Kind != kind)
        {
            string wanted = kind == TokenKind.BlockEnd ? "'%}'" : kind == TokenKind.VariableEnd ? "'}}'" : kind.ToString();
            throw Error(Current, $"expected {wanted} but found {Current}");
        }
        return Advance();
    }

    private Token ExpectName()
    {
        if (Current.Kind != TokenKind.Name)
        {
            throw Error(Current, $"expected a name but found {Current}");
        }
        return Advance();
    }

    private Token ExpectOperator(string op)
    {
        if (!Current.IsOperator(op))
        {
            throw Error(Current, $"expected '{op}' but found {Current}");
        }
        return Advance();
    }

    private static TemplateException Error(Token at, string reason) =>
        new(TemplateErrorKind.Syntax, reason, at.Line, at.Column);
}
