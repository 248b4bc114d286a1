using System.Globalization;

namespace Cria.Templates;

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
                Token elseToken = Advance();
                EnterNesting(elseToken);
                try
                {
                    otherwise = ParseExpression();
                }
                finally
                {
                    _depth--;
                }
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
}
