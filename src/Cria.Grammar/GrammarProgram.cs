namespace Cria.Grammar;

/// <summary>What one position of a compiled alternative holds.</summary>
internal enum ElementKind : byte
{
    /// <summary>The end of an alternative.</summary>
    End,

    /// <summary>One code point from <see cref="GrammarProgram.Sets"/>[Value].</summary>
    Chars,

    /// <summary>A reference to rule Value.</summary>
    Rule,
}

/// <summary>One position of a compiled alternative.</summary>
internal readonly record struct GrammarElement(ElementKind Kind, int Value);

/// <summary>
/// A grammar lowered for matching: repetitions expanded into helper rules, every alternative a run of
/// elements in one flat array ending with <see cref="ElementKind.End"/>, so a parse position is one int.
/// Checked when built: every reference resolves, no rule can reach itself without reading a character
/// (left recursion), and every rule reachable from the root can finish.
/// </summary>
internal sealed class GrammarProgram
{
    public GrammarProgram(GrammarElement[] elements, CodePointSet[] sets, int[][] alternatives, string[] ruleNames, int root)
    {
        Elements = elements;
        Sets = sets;
        Alternatives = alternatives;
        RuleNames = ruleNames;
        Root = root;
    }

    /// <summary>[elements] all alternatives of all rules, each ending with End.</summary>
    public GrammarElement[] Elements { get; }

    /// <summary>[sets] the distinct code point sets Chars elements refer to.</summary>
    public CodePointSet[] Sets { get; }

    /// <summary>[rules][alternatives] the element index where each alternative starts.</summary>
    public int[][] Alternatives { get; }

    /// <summary>[rules] names; helper rules of repetitions and groups are named after their rule ("item-3").</summary>
    public string[] RuleNames { get; }

    public int Root { get; }
}
