using System.Runtime.CompilerServices;
using System.Text;

namespace Cria.Templates;

/// <summary>
/// Walks a parsed template and writes its output. One interpreter renders once. Invariants: the
/// output never exceeds <see cref="TemplateOptions.MaxOutputChars"/>, all loops together never run
/// more than <see cref="TemplateOptions.MaxIterations"/> times, macro calls never nest deeper than
/// <see cref="TemplateOptions.MaxCallDepth"/>, and every error that leaves is a
/// <see cref="TemplateException"/> located at the innermost node that saw it.
/// </summary>
internal sealed partial class Interpreter(TemplateOptions options)
{
    private enum Flow
    {
        Normal,
        Break,
        Continue,
    }

    private StringBuilder _out = new();
    private long _iterations;
    private int _callDepth;

    public TemplateOptions Options { get; } = options;

    public string Run(IReadOnlyList<Node> body, Scope scope)
    {
        Execute(body, scope);
        return _out.ToString();
    }

    private Flow Execute(IReadOnlyList<Node> nodes, Scope scope)
    {
        foreach (Node node in nodes)
        {
            Flow flow = ExecuteNode(node, scope);
            if (flow != Flow.Normal)
            {
                return flow;
            }
        }
        return Flow.Normal;
    }

    private Flow ExecuteNode(Node node, Scope scope)
    {
        try
        {
            RuntimeHelpers.EnsureSufficientExecutionStack();
            return ExecuteCore(node, scope);
        }
        catch (TemplateException ex)
        {
            ex.Locate(node.Line, node.Column);
            throw;
        }
        catch (InsufficientExecutionStackException)
        {
            throw new TemplateException(TemplateErrorKind.Limit, "template or value nests too deeply (a list or namespace that contains itself?)", node.Line, node.Column);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A bug in the engine rather than in the template; still report where it happened.
            var wrapped = new TemplateException(TemplateErrorKind.Runtime, ex.Message, ex);
            wrapped.Locate(node.Line, node.Column);
            throw wrapped;
        }
    }

    private Flow ExecuteCore(Node node, Scope scope)
    {
        switch (node)
        {
            case TextNode text:
                Write(text.Text);
                return Flow.Normal;
            case OutputNode output:
                Write(Eval(output.Value, scope).ToString());
                return Flow.Normal;
            case IfNode ifNode:
                foreach ((Expr condition, IReadOnlyList<Node> body) in ifNode.Branches)
                {
                    if (Eval(condition, scope).IsTrue)
                    {
                        return Execute(body, scope);
                    }
                }
                return ifNode.Else is null ? Flow.Normal : Execute(ifNode.Else, scope);
            case ForNode forNode:
                ExecuteFor(forNode, scope);
                return Flow.Normal;
            case SetNode set:
                Assign(set.Targets, set.Attribute, Eval(set.Value, scope), scope);
                return Flow.Normal;
            case SetBlockNode setBlock:
                Value captured = StringValue.Of(Capture(setBlock.Body, new Scope(scope)));
                foreach (FilterExpr filter in setBlock.Filters)
                {
                    captured = ApplyFilter(filter, captured, scope);
                }
                Assign([setBlock.Target], setBlock.Attribute, captured, scope);
                return Flow.Normal;
            case MacroNode macro:
                scope.Set(macro.Name, MakeMacro(macro.Name, macro.Parameters, macro.Body, scope));
                return Flow.Normal;
            case CallBlockNode callBlock:
                ExecuteCallBlock(callBlock, scope);
                return Flow.Normal;
            case FilterBlockNode filterBlock:
                Value filtered = StringValue.Of(Capture(filterBlock.Body, new Scope(scope)));
                foreach (FilterExpr filter in filterBlock.Filters)
                {
                    filtered = ApplyFilter(filter, filtered, scope);
                }
                Write(filtered.ToString());
                return Flow.Normal;
            case WithNode with:
                var inner = new Scope(scope);
                foreach ((string name, Expr value) in with.Assignments)
                {
                    inner.Set(name, Eval(value, scope));
                }
                return Execute(with.Body, inner);
            case DoNode doNode:
                Eval(doNode.Value, scope);
                return Flow.Normal;
            case BreakNode:
                return Flow.Break;
            case ContinueNode:
                return Flow.Continue;
            default:
                throw Errors.Runtime($"cannot execute {node.GetType().Name}");
        }
    }

    private void ExecuteFor(ForNode node, Scope scope)
    {
        List<Value> items = ValueOps.Iterate(Eval(node.Iterable, scope));
        if (node.Filter is not null)
        {
            var kept = new List<Value>(items.Count);
            foreach (Value item in items)
            {
                CountIteration();
                var filterScope = new Scope(scope);
                Bind(node.Targets, item, filterScope);
                if (Eval(node.Filter, filterScope).IsTrue)
                {
                    kept.Add(item);
                }
            }
            items = kept;
        }
        if (items.Count == 0)
        {
            if (node.Else is not null)
            {
                Execute(node.Else, scope);
            }
            return;
        }
        for (int i = 0; i < items.Count; i++)
        {
            CountIteration();
            var iteration = new Scope(scope);
            Bind(node.Targets, items[i], iteration);
            iteration.Set("loop", MakeLoop(items, i));
            if (Execute(node.Body, iteration) == Flow.Break)
            {
                break;
            }
        }
    }

    /// <summary>Jinja's <c>loop</c> object for iteration <paramref name="i"/>.</summary>
    private static DictValue MakeLoop(List<Value> items, int i)
    {
        int n = items.Count;
        var loop = new DictValue();
        loop.Set("index", IntValue.Of(i + 1));
        loop.Set("index0", IntValue.Of(i));
        loop.Set("revindex", IntValue.Of(n - i));
        loop.Set("revindex0", IntValue.Of(n - i - 1));
        loop.Set("first", BoolValue.Of(i == 0));
        loop.Set("last", BoolValue.Of(i == n - 1));
        loop.Set("length", IntValue.Of(n));
        loop.Set("depth", IntValue.Of(1));
        loop.Set("depth0", IntValue.Of(0));
        loop.Set("previtem", i > 0 ? items[i - 1] : new UndefinedValue("there is no previous item"));
        loop.Set("nextitem", i + 1 < n ? items[i + 1] : new UndefinedValue("there is no next item"));
        loop.Set("cycle", new FunctionValue("loop.cycle", (_, args) => args.Positional.Count > 0
            ? args.Positional[i % args.Positional.Count]
            : throw Errors.Runtime("no items for cycling given")));
        return loop;
    }

    private static void Bind(IReadOnlyList<string> targets, Value value, Scope scope)
    {
        if (targets.Count == 1)
        {
            scope.Set(targets[0], value);
            return;
        }
        List<Value> parts = ValueOps.Iterate(value);
        if (parts.Count != targets.Count)
        {
            throw Errors.Runtime(parts.Count > targets.Count
                ? $"too many values to unpack (expected {targets.Count})"
                : $"not enough values to unpack (expected {targets.Count}, got {parts.Count})");
        }
        for (int i = 0; i < targets.Count; i++)
        {
            scope.Set(targets[i], parts[i]);
        }
    }

    private static void Assign(IReadOnlyList<string> targets, string? attribute, Value value, Scope scope)
    {
        if (attribute is null)
        {
            Bind(targets, value, scope);
            return;
        }
        if (!scope.TryGet(targets[0], out Value? target) || target is not NamespaceValue ns)
        {
            throw Errors.Runtime($"cannot assign attribute '{attribute}' on '{targets[0]}': it is not a namespace()");
        }
        ns.Set(attribute, value);
    }

    private FunctionValue MakeMacro(string name, IReadOnlyList<MacroParameter> parameters, IReadOnlyList<Node> body, Scope closure) =>
        new(name, (interpreter, args) => interpreter.CallMacro(name, parameters, body, closure, args));

    private StringValue CallMacro(string name, IReadOnlyList<MacroParameter> parameters, IReadOnlyList<Node> body, Scope closure, Arguments args)
    {
        if (_callDepth >= Options.MaxCallDepth)
        {
            throw Errors.Limit($"macro calls nest deeper than {Options.MaxCallDepth} (runaway recursion in '{name}'?)");
        }
        if (args.Positional.Count > parameters.Count)
        {
            throw Errors.Runtime($"macro '{name}' takes not more than {parameters.Count} argument(s)");
        }
        var local = new Scope(closure);
        var given = new Value?[parameters.Count];
        for (int i = 0; i < args.Positional.Count; i++)
        {
            given[i] = args.Positional[i];
        }
        foreach ((string key, Value value) in args.Named)
        {
            if (key == "caller")
            {
                local.Set("caller", value);
                continue;
            }
            int index = -1;
            for (int i = 0; i < parameters.Count; i++)
            {
                if (parameters[i].Name == key)
                {
                    index = i;
                }
            }
            if (index < 0)
            {
                throw Errors.Runtime($"macro '{name}' takes no keyword argument '{key}'");
            }
            if (given[index] is not null)
            {
                throw Errors.Runtime($"macro '{name}' got multiple values for argument '{key}'");
            }
            given[index] = value;
        }
        _callDepth++;
        try
        {
            for (int i = 0; i < parameters.Count; i++)
            {
                MacroParameter p = parameters[i];
                local.Set(p.Name, given[i]
                    ?? (p.Default is null ? new UndefinedValue($"parameter '{p.Name}' was not provided") : Eval(p.Default, local)));
            }
            return StringValue.Of(Capture(body, local));
        }
        finally
        {
            _callDepth--;
        }
    }

    private void ExecuteCallBlock(CallBlockNode node, Scope scope)
    {
        Value callee = Eval(node.Call.Callee, scope);
        Arguments args = EvalArguments(node.Call.Arguments, scope);
        args.Named.Add(KeyValuePair.Create<string, Value>("caller", MakeMacro("caller", node.Parameters, node.Body, scope)));
        Write(Call(callee, args).ToString());
    }

    /// <summary>Runs <paramref name="body"/> into a fresh buffer and returns what it wrote.</summary>
    private string Capture(IReadOnlyList<Node> body, Scope scope)
    {
        StringBuilder saved = _out;
        _out = new StringBuilder();
        try
        {
            Execute(body, scope);
            return _out.ToString();
        }
        finally
        {
            _out = saved;
        }
    }

    private void Write(string text)
    {
        if (_out.Length + text.Length > Options.MaxOutputChars)
        {
            throw Errors.Limit($"output exceeds {Options.MaxOutputChars} characters");
        }
        _out.Append(text);
    }

    private void CountIteration()
    {
        if (++_iterations > Options.MaxIterations)
        {
            throw Errors.Limit($"loops ran more than {Options.MaxIterations} iterations");
        }
    }

    /// <summary>Refuses strings (and list lengths) that would exceed the output limit before building them.</summary>
    public void CheckSize(long length)
    {
        if (length > Options.MaxOutputChars)
        {
            throw Errors.Limit($"a value of {length} characters or items exceeds the limit of {Options.MaxOutputChars}");
        }
    }
}
