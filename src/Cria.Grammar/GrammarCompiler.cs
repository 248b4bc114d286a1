namespace Cria.Grammar;

/// <summary>
/// Lowers parsed GBNF rules to a <see cref="GrammarProgram"/>: literals become one element per code point,
/// groups with several alternatives and repeated items become helper rules, and repetitions expand as in
/// llama.cpp: <c>x{2,4}</c> is <c>x x r2</c> with <c>r2 ::= x r1 |</c> and <c>r1 ::= x |</c>; <c>x*</c> is
/// <c>r</c> with <c>r ::= x r |</c> (right recursion, which a matcher runs without growing its stack).
/// Then <see cref="GrammarChecks"/> proves the result cannot loop.
/// </summary>
internal sealed class GrammarCompiler
{
    private readonly string _source;
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly List<List<List<GrammarElement>>?> _bodies = [];   // [rules][alternatives][elements], End not yet added
    private readonly List<string> _names = [];
    private readonly List<int> _origins = [];                           // [rules] source offset of the definition or construct
    private readonly List<bool> _isLoop = [];                           // [rules] the helper of an unbounded repetition
    private readonly Dictionary<CodePointSet, int> _setIds = [];
    private readonly List<CodePointSet> _sets = [];
    private int _elements;

    private GrammarCompiler(string source)
    {
        _source = source;
    }

    public static GrammarProgram Compile(string source, IReadOnlyList<GbnfRule> rules)
    {
        var c = new GrammarCompiler(source);
        return c.Run(rules);
    }

    private GrammarProgram Run(IReadOnlyList<GbnfRule> rules)
    {
        foreach (GbnfRule rule in rules)
        {
            if (_ids.ContainsKey(rule.Name))
            {
                throw ErrorAt(rule.Position, $"rule '{rule.Name}' is defined twice");
            }
            _ids[rule.Name] = NewRule(rule.Name, rule.Position, isLoop: false);
        }
        if (!_ids.TryGetValue("root", out int root))
        {
            throw new GrammarException("the grammar has no rule named 'root'");
        }
        foreach (GbnfRule rule in rules)
        {
            int id = _ids[rule.Name];
            _bodies[id] = LowerChoice(rule.Body, id);
        }

        var starts = new int[_bodies.Count][];
        var elements = new GrammarElement[_elements];
        int n = 0;
        for (int r = 0; r < _bodies.Count; r++)
        {
            List<List<GrammarElement>> alternatives = _bodies[r]!;
            starts[r] = new int[alternatives.Count];
            for (int a = 0; a < alternatives.Count; a++)
            {
                starts[r][a] = n;
                foreach (GrammarElement e in alternatives[a])
                {
                    elements[n++] = e;
                }
                elements[n++] = new GrammarElement(ElementKind.End, 0);
            }
        }
        var program = new GrammarProgram(elements, [.. _sets], starts, [.. _names], root);
        GrammarChecks.Run(program, rules.Count, [.. _isLoop], (rule, message) => ErrorAt(_origins[rule], message));
        return program;
    }

    private int NewRule(string name, int origin, bool isLoop)
    {
        if (_bodies.Count >= GrammarLimits.MaxRules)
        {
            throw ErrorAt(origin, $"the grammar expands to more than {GrammarLimits.MaxRules} rules");
        }
        _bodies.Add(null);
        _names.Add(name);
        _origins.Add(origin);
        _isLoop.Add(isLoop);
        return _bodies.Count - 1;
    }

    private int NewHelper(int owner, int origin, bool isLoop) => NewRule($"{_names[owner]}-{_bodies.Count}", origin, isLoop);

    private List<List<GrammarElement>> LowerChoice(GbnfChoice choice, int owner)
    {
        var alternatives = new List<List<GrammarElement>>(choice.Alternatives.Count);
        foreach (GbnfSequence sequence in choice.Alternatives)
        {
            var elements = new List<GrammarElement>();
            Append(sequence, elements, owner);
            AddEnd(elements, choice.Position);
            alternatives.Add(elements);
        }
        return alternatives;
    }

    private void Append(GbnfExpr expr, List<GrammarElement> output, int owner)
    {
        switch (expr)
        {
            case GbnfChars c:
                Add(output, new GrammarElement(ElementKind.Chars, SetId(c.Set)), c.Position);
                break;
            case GbnfLiteral l:
                foreach (int cp in l.CodePoints)
                {
                    Add(output, new GrammarElement(ElementKind.Chars, SetId(CodePointSet.Single(cp))), l.Position);
                }
                break;
            case GbnfRef r:
                Add(output, new GrammarElement(ElementKind.Rule, Resolve(r)), r.Position);
                break;
            case GbnfSequence s:
                foreach (GbnfExpr item in s.Items)
                {
                    Append(item, output, owner);
                }
                break;
            case GbnfChoice g when g.Alternatives.Count == 1:
                Append(g.Alternatives[0], output, owner);
                break;
            case GbnfChoice g:
                int helper = NewHelper(owner, g.Position, isLoop: false);
                _bodies[helper] = LowerChoice(g, helper);
                Add(output, new GrammarElement(ElementKind.Rule, helper), g.Position);
                break;
            case GbnfRepeat rep:
                AppendRepeat(rep, output, owner);
                break;
            default:
                throw new InvalidOperationException($"unknown GBNF node {expr.GetType().Name}");
        }
    }

    private void AppendRepeat(GbnfRepeat rep, List<GrammarElement> output, int owner)
    {
        GrammarElement item = Symbol(rep.Item, owner);
        for (int i = 0; i < rep.Min; i++)
        {
            Add(output, item, rep.Position);
        }
        if (rep.Max < 0)
        {
            // r ::= item r | ε
            int loop = NewHelper(owner, rep.Position, isLoop: true);
            var again = new List<GrammarElement>();
            Add(again, item, rep.Position);
            Add(again, new GrammarElement(ElementKind.Rule, loop), rep.Position);
            AddEnd(again, rep.Position);
            _bodies[loop] = [again, Empty(rep.Position)];
            Add(output, new GrammarElement(ElementKind.Rule, loop), rep.Position);
        }
        else if (rep.Max > rep.Min)
        {
            // r1 ::= item | ε;  rk ::= item r(k-1) | ε
            int previous = -1;
            for (int k = rep.Min; k < rep.Max; k++)
            {
                int r = NewHelper(owner, rep.Position, isLoop: false);
                var some = new List<GrammarElement>();
                Add(some, item, rep.Position);
                if (previous >= 0)
                {
                    Add(some, new GrammarElement(ElementKind.Rule, previous), rep.Position);
                }
                AddEnd(some, rep.Position);
                _bodies[r] = [some, Empty(rep.Position)];
                previous = r;
            }
            Add(output, new GrammarElement(ElementKind.Rule, previous), rep.Position);
        }
    }

    /// <summary>The item of a repetition as one element: a character set, a rule, or a new helper rule.</summary>
    private GrammarElement Symbol(GbnfExpr item, int owner)
    {
        switch (item)
        {
            case GbnfChars c:
                return new GrammarElement(ElementKind.Chars, SetId(c.Set));
            case GbnfLiteral { CodePoints.Length: 1 } l:
                return new GrammarElement(ElementKind.Chars, SetId(CodePointSet.Single(l.CodePoints[0])));
            case GbnfRef r:
                return new GrammarElement(ElementKind.Rule, Resolve(r));
            case GbnfChoice { Alternatives.Count: > 1 } g:
                int choice = NewHelper(owner, g.Position, isLoop: false);
                _bodies[choice] = LowerChoice(g, choice);
                return new GrammarElement(ElementKind.Rule, choice);
            default:
                int helper = NewHelper(owner, item.Position, isLoop: false);
                var elements = new List<GrammarElement>();
                Append(item, elements, helper);
                AddEnd(elements, item.Position);
                _bodies[helper] = [elements];
                return new GrammarElement(ElementKind.Rule, helper);
        }
    }

    private List<GrammarElement> Empty(int position)
    {
        var empty = new List<GrammarElement>();
        AddEnd(empty, position);
        return empty;
    }

    private int Resolve(GbnfRef r) =>
        _ids.TryGetValue(r.Name, out int id) ? id : throw ErrorAt(r.Position, $"undefined rule '{r.Name}'");

    private int SetId(CodePointSet set)
    {
        if (!_setIds.TryGetValue(set, out int id))
        {
            id = _sets.Count;
            _sets.Add(set);
            _setIds[set] = id;
        }
        return id;
    }

    private void Add(List<GrammarElement> output, GrammarElement e, int position)
    {
        Count(position);
        output.Add(e);
    }

    /// <summary>Counts the End element an alternative will get when flattened.</summary>
    private void AddEnd(List<GrammarElement> alternative, int position)
    {
        _ = alternative;
        Count(position);
    }

    private void Count(int position)
    {
        if (++_elements > GrammarLimits.MaxElements)
        {
            throw ErrorAt(position, $"the grammar expands to more than {GrammarLimits.MaxElements} symbols");
        }
    }

    private GrammarException ErrorAt(int position, string message)
    {
        (int line, int column) = GbnfParser.LineColumn(_source, position);
        return new GrammarException(message, line, column);
    }
}
