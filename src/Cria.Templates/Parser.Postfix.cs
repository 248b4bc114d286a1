using System.Globalization;

namespace Cria.Templates;

// What can follow a primary expression: attribute access, subscripts and slices, calls, filters, tests.

internal sealed partial class Parser
{
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
