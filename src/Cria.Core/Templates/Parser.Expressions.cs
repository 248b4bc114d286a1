using System.Globalization;

namespace Cria.Core.Templates;

// Expression grammar, lowest precedence first, as in Jinja2's parser:
//   conditional (a if c else b) < or < and < not < comparison (== != < <= > >= in, not in)
//   < + - < ~ < * / // % < ** < unary - + < primary with postfix (.x [i] (args)), then | filter and `is` test.
// Filters bind tighter than arithmetic: 'a' + x | trim is 'a' + (x | trim).

internal sealed partial class Parser
{
    private static readonly HashSet<string> s_compareOperators = ["==", "!=", "<", "<=", ">", ">="];

    /// <summary>An expression, or an implicit tuple <c>a, b</c>.</summary>
    private Expr ParseTuple(bool withCondition)
    {
        Token start = Current;
        Expr first = withCondition ? ParseExpression() : ParseOr();
        if (!Current.IsOperator(","))
        {
            return first;
        }
        var items = new List<Expr> { first };
        while (Current.IsOperator(","))
        {
            Advance();
            if (IsTupleEnd())
            {
                break;
            }
            items.Add(withCondition ? ParseExpression() : ParseOr());
        }
        return new ListExpr(items, IsTuple: true, start.Line, start.Column);
    }

    private bool IsTupleEnd() =>
        Current.Kind is TokenKind.BlockEnd or TokenKind.VariableEnd or TokenKind.End
        || Current.IsName("if") || Current.IsOperator(")");

    private Expr ParseExpression()
    {
        Expr expr = ParseOr();
        while (Current.IsName("if"))
        {
            Token t = Advance();
            Expr condition = ParseOr();
            Expr? otherwise = null;
            if (Current.IsName("else"))
            {
                Advance();
                otherwise = ParseExpression();
            }
            expr = new ConditionalExpr(condition, expr, otherwise, t.Line, t.Column);
        }
        return expr;
    }

    private Expr ParseOr()
    {
        Expr left = ParseAnd();
        while (Current.IsName("or"))
        {
            Token t = Advance();
            left = new BinaryExpr("or", left, ParseAnd(), t.Line, t.Column);
        }
        return left;
    }

    private Expr ParseAnd()
    {
        Expr left = ParseNot();
        while (Current.IsName("and"))
        {
            Token t = Advance();
            left = new BinaryExpr("and", left, ParseNot(), t.Line, t.Column);
        }
        return left;
    }

    private Expr ParseNot()
    {
        if (Current.IsName("not"))
        {
            Token t = Advance();
            EnterNesting(t);
            try
            {
                return new UnaryExpr("not", ParseNot(), t.Line, t.Column);
            }
            finally
            {
                _depth--;
            }
        }
        return ParseCompare();
    }

    private Expr ParseCompare()
    {
        Token start = Current;
        Expr first = ParseMath1();
        var rest = new List<(string, Expr)>();
        while (true)
        {
            if (Current.Kind == TokenKind.Operator && s_compareOperators.Contains(Current.Value))
            {
                string op = Advance().Value;
                rest.Add((op, ParseMath1()));
            }
            else if (Current.IsName("in"))
            {
                Advance();
                rest.Add(("in", ParseMath1()));
            }
            else if (Current.IsName("not") && PeekToken().IsName("in"))
            {
                Advance();
                Advance();
                rest.Add(("not in", ParseMath1()));
            }
            else
            {
                break;
            }
        }
        return rest.Count == 0 ? first : new CompareExpr(first, rest, start.Line, start.Column);
    }

    private Expr ParseMath1()
    {
        Expr left = ParseConcat();
        while (Current.IsOperator("+") || Current.IsOperator("-"))
        {
            Token t = Advance();
            left = new BinaryExpr(t.Value, left, ParseConcat(), t.Line, t.Column);
        }
        return left;
    }

    private Expr ParseConcat()
    {
        Expr left = ParseMath2();
        while (Current.IsOperator("~"))
        {
            Token t = Advance();
            left = new BinaryExpr("~", left, ParseMath2(), t.Line, t.Column);
        }
        return left;
    }

    private Expr ParseMath2()
    {
        Expr left = ParsePow();
        while (Current.Kind == TokenKind.Operator && Current.Value is "*" or "/" or "//" or "%")
        {
            Token t = Advance();
            left = new BinaryExpr(t.Value, left, ParsePow(), t.Line, t.Column);
        }
        return left;
    }

    private Expr ParsePow()
    {
        Expr left = ParseUnary(withFilter: true);
        while (Current.IsOperator("**"))
        {
            Token t = Advance();
            left = new BinaryExpr("**", left, ParseUnary(withFilter: true), t.Line, t.Column);
        }
        return left;
    }

    private Expr ParseUnary(bool withFilter)
    {
        Token t = Current;
        EnterNesting(t);
        try
        {
            Expr node;
            if (t.IsOperator("-") || t.IsOperator("+"))
            {
                Advance();
                node = new UnaryExpr(t.Value, ParseUnary(withFilter: false), t.Line, t.Column);
            }
            else
            {
                node = ParsePostfix(ParsePrimary());
            }
            return withFilter ? ParseFilterChain(node) : node;
        }
        finally
        {
            _depth--;
        }
    }

    private Expr ParsePrimary()
    {
        Token t = Current;
        switch (t.Kind)
        {
            case TokenKind.Name:
                Advance();
                return t.Value switch
                {
                    "true" or "True" => new LiteralExpr(BoolValue.True, t.Line, t.Column),
                    "false" or "False" => new LiteralExpr(BoolValue.False, t.Line, t.Column),
                    "none" or "None" => new LiteralExpr(NoneValue.Instance, t.Line, t.Column),
                    _ => new NameExpr(t.Value, t.Line, t.Column),
                };
            case TokenKind.String:
                string text = Advance().Value;
                while (Current.Kind == TokenKind.String)
                {
                    text += Advance().Value;
                }
                return new LiteralExpr(StringValue.Of(text), t.Line, t.Column);
            case TokenKind.Integer:
                Advance();
                return long.TryParse(t.Value, NumberStyles.None, CultureInfo.InvariantCulture, out long n)
                    ? new LiteralExpr(IntValue.Of(n), t.Line, t.Column)
                    : throw Error(t, $"integer literal {t.Value} is too large");
            case TokenKind.Float:
                Advance();
                return new LiteralExpr(new FloatValue(double.Parse(t.Value, NumberStyles.Float, CultureInfo.InvariantCulture)), t.Line, t.Column);
            case TokenKind.Operator when t.Value == "(":
                return ParseParenthesized();
            case TokenKind.Operator when t.Value == "[":
                Advance();
                return new ListExpr(ParseItems("]"), IsTuple: false, t.Line, t.Column);
            case TokenKind.Operator when t.Value == "{":
                return ParseDict();
            default:
                throw Error(t, $"expected an expression but found {t}");
        }
    }

    private Expr ParseParenthesized()
    {
        Token open = Advance();
        if (Current.IsOperator(")"))
        {
            Advance();
            return new ListExpr([], IsTuple: true, open.Line, open.Column);
        }
        Expr first = ParseExpression();
        if (Current.IsOperator(")"))
        {
            Advance();
            return first;
        }
        ExpectOperator(",");
        List<Expr> items = [first, .. ParseItems(")")];
        return new ListExpr(items, IsTuple: true, open.Line, open.Column);
    }

    /// <summary>Comma-separated expressions up to <paramref name="close"/> (a trailing comma is allowed); consumes the close.</summary>
    private List<Expr> ParseItems(string close)
    {
        var items = new List<Expr>();
        while (!Current.IsOperator(close))
        {
            if (items.Count > 0)
            {
                ExpectOperator(",");
                if (Current.IsOperator(close))
                {
                    break;
                }
            }
            items.Add(ParseExpression());
        }
        Advance();
        return items;
    }

    private DictExpr ParseDict()
    {
        Token open = Advance();
        var pairs = new List<(Expr, Expr)>();
        while (!Current.IsOperator("}"))
        {
            if (pairs.Count > 0)
            {
                ExpectOperator(",");
                if (Current.IsOperator("}"))
                {
                    break;
                }
            }
            Expr key = ParseExpression();
            ExpectOperator(":");
            pairs.Add((key, ParseExpression()));
        }
        Advance();
        return new DictExpr(pairs, open.Line, open.Column);
    }

    private Expr ParsePostfix(Expr node)
    {
        while (true)
        {
            Token t = Current;
            if (t.IsOperator("."))
            {
                Advance();
                Token name = Current;
                if (name.Kind == TokenKind.Name)
                {
                    Advance();
                    node = new AttributeExpr(node, name.Value, t.Line, t.Column);
                }
                else if (name.Kind == TokenKind.Integer)
                {
                    Advance();
                    node = new ItemExpr(node, new LiteralExpr(IntValue.Of(long.Parse(name.Value, CultureInfo.InvariantCulture)), name.Line, name.Column), t.Line, t.Column);
                }
                else
                {
                    throw Error(name, $"expected an attribute name after '.' but found {name}");
                }
            }
            else if (t.IsOperator("["))
            {
                node = ParseSubscript(node);
            }
            else if (t.IsOperator("("))
            {
                node = new CallExpr(node, ParseArguments(), t.Line, t.Column);
            }
            else
            {
                return node;
            }
        }
    }

    private Expr ParseSubscript(Expr target)
    {
        Token open = Advance();
        Expr? start = null;
        if (!Current.IsOperator(":"))
        {
            start = ParseExpression();
        }
        if (!Current.IsOperator(":"))
        {
            ExpectOperator("]");
            return new ItemExpr(target, start!, open.Line, open.Column);
        }
        Advance();
        Expr? stop = null;
        Expr? step = null;
        if (!Current.IsOperator("]") && !Current.IsOperator(":"))
        {
            stop = ParseExpression();
        }
        if (Current.IsOperator(":"))
        {
            Advance();
            if (!Current.IsOperator("]"))
            {
                step = ParseExpression();
            }
        }
        ExpectOperator("]");
        return new SliceExpr(target, start, stop, step, open.Line, open.Column);
    }

    private ArgumentList ParseArguments()
    {
        ExpectOperator("(");
        var positional = new List<Expr>();
        var named = new List<(string, Expr)>();
        while (!Current.IsOperator(")"))
        {
            if (positional.Count + named.Count > 0)
            {
                ExpectOperator(",");
                if (Current.IsOperator(")"))
                {
                    break;
                }
            }
            if (Current.IsOperator("*") || Current.IsOperator("**"))
            {
                throw Error(Current, "*args and **kwargs in calls are not supported");
            }
            if (Current.Kind == TokenKind.Name && PeekToken().IsOperator("="))
            {
                string name = Advance().Value;
                Advance();
                named.Add((name, ParseExpression()));
            }
            else
            {
                if (named.Count > 0)
                {
                    throw Error(Current, "positional argument follows keyword argument");
                }
                positional.Add(ParseExpression());
            }
        }
        Advance();
        return new ArgumentList(positional, named);
    }

    /// <summary>After a primary: <c>| filter</c>, <c>is [not] test</c> and calls on their results, in any order.</summary>
    private Expr ParseFilterChain(Expr node)
    {
        while (true)
        {
            if (Current.IsOperator("|"))
            {
                Advance();
                node = ParseFilter(node);
            }
            else if (Current.IsName("is"))
            {
                node = ParseTest(node);
            }
            else if (Current.IsOperator("("))
            {
                Token t = Current;
                node = new CallExpr(node, ParseArguments(), t.Line, t.Column);
            }
            else
            {
                return node;
            }
        }
    }

    private FilterExpr ParseFilter(Expr? input)
    {
        Token name = ExpectName();
        string full = name.Value;
        while (Current.IsOperator(".") && PeekToken().Kind == TokenKind.Name)
        {
            Advance();
            full += "." + Advance().Value;
        }
        ArgumentList args = Current.IsOperator("(") ? ParseArguments() : ArgumentList.Empty;
        return new FilterExpr(input, full, args, name.Line, name.Column);
    }

    /// <summary><c>is [not] name</c>, with arguments in parentheses or one bare argument (<c>is divisibleby 3</c>).</summary>
    private TestExpr ParseTest(Expr input)
    {
        Token isToken = Advance();
        bool negated = false;
        if (Current.IsName("not"))
        {
            Advance();
            negated = true;
        }
        Token name = ExpectName();
        ArgumentList args = ArgumentList.Empty;
        if (Current.IsOperator("("))
        {
            args = ParseArguments();
        }
        else if ((Current.Kind == TokenKind.Name && !(Current.Value is "else" or "or" or "and"))
            || Current.Kind is TokenKind.String or TokenKind.Integer or TokenKind.Float
            || Current.IsOperator("[") || Current.IsOperator("{"))
        {
            args = new ArgumentList([ParsePostfix(ParsePrimary())], []);
        }
        return new TestExpr(input, name.Value, args, negated, isToken.Line, isToken.Column);
    }
}
