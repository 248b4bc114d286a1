namespace Cria.Templates;

// The less common block tags: macro, call, filter, with, do, generation, break and continue.

internal sealed partial class Parser
{
    private MacroNode ParseMacro(Token keyword)
    {
        string name = ExpectName().Value;
        List<MacroParameter> parameters = ParseParameters();
        ExpectBlockEnd();
        List<Node> body = ParseDetachedBody(["endmacro"], keyword);
        return new MacroNode(name, parameters, body, keyword.Line, keyword.Column);
    }

    private CallBlockNode ParseCallBlock(Token keyword)
    {
        List<MacroParameter> parameters = Current.IsOperator("(") ? ParseParameters() : [];
        Expr call = ParseExpression();
        if (call is not CallExpr callExpr)
        {
            throw Error(keyword, "expected a macro call after 'call'");
        }
        ExpectBlockEnd();
        List<Node> body = ParseDetachedBody(["endcall"], keyword);
        return new CallBlockNode(callExpr, parameters, body, keyword.Line, keyword.Column);
    }

    /// <summary>A macro-like body: break/continue inside it cannot reach an enclosing loop.</summary>
    private List<Node> ParseDetachedBody(string[] ends, Token keyword)
    {
        int savedLoops = _loopDepth;
        _loopDepth = 0;
        List<Node> body = ParseBody(ends, keyword, out _);
        _loopDepth = savedLoops;
        ExpectBlockEnd();
        return body;
    }

    private List<MacroParameter> ParseParameters()
    {
        ExpectOperator("(");
        var parameters = new List<MacroParameter>();
        while (!Current.IsOperator(")"))
        {
            if (parameters.Count > 0)
            {
                ExpectOperator(",");
                if (Current.IsOperator(")"))
                {
                    break;
                }
            }
            Token name = ExpectName();
            Expr? defaultValue = null;
            if (Current.IsOperator("="))
            {
                Advance();
                defaultValue = ParseExpression();
            }
            else if (parameters.Count > 0 && parameters[^1].Default is not null)
            {
                throw Error(name, "non-default parameter follows default parameter");
            }
            parameters.Add(new MacroParameter(name.Value, defaultValue));
        }
        Advance();
        return parameters;
    }

    private FilterBlockNode ParseFilterBlock(Token keyword)
    {
        var filters = new List<FilterExpr> { ParseFilter(null) };
        while (Current.IsOperator("|"))
        {
            Advance();
            filters.Add(ParseFilter(null));
        }
        ExpectBlockEnd();
        List<Node> body = ParseBody(["endfilter"], keyword, out _);
        ExpectBlockEnd();
        return new FilterBlockNode(filters, body, keyword.Line, keyword.Column);
    }

    private WithNode ParseWith(Token keyword)
    {
        var assignments = new List<(string, Expr)>();
        while (Current.Kind != TokenKind.BlockEnd)
        {
            if (assignments.Count > 0)
            {
                ExpectOperator(",");
            }
            string name = ExpectName().Value;
            ExpectOperator("=");
            assignments.Add((name, ParseExpression()));
        }
        ExpectBlockEnd();
        List<Node> body = ParseBody(["endwith"], keyword, out _);
        ExpectBlockEnd();
        return new WithNode(assignments, body, keyword.Line, keyword.Column);
    }

    private DoNode ParseDo(Token keyword)
    {
        Expr value = ParseTuple(withCondition: true);
        ExpectBlockEnd();
        return new DoNode(value, keyword.Line, keyword.Column);
    }

    /// <summary>
    /// Hugging Face's <c>{% generation %}</c> marks assistant text for training masks; rendering
    /// ignores the mark but, like its call-block implementation, gives the body its own scope.
    /// </summary>
    private WithNode ParseGeneration(Token keyword)
    {
        ExpectBlockEnd();
        List<Node> body = ParseBody(["endgeneration"], keyword, out _);
        ExpectBlockEnd();
        return new WithNode([], body, keyword.Line, keyword.Column);
    }

    private Node ParseLoopControl(Token keyword)
    {
        if (_loopDepth == 0)
        {
            throw Error(keyword, $"'{keyword.Value}' outside of a for loop");
        }
        ExpectBlockEnd();
        return keyword.Value == "break" ? new BreakNode(keyword.Line, keyword.Column) : new ContinueNode(keyword.Line, keyword.Column);
    }
}
