namespace Cria.Grammar;

/// <summary>
/// Bounds that keep a hostile grammar or schema from hanging the parser or exhausting memory. Each is
/// far above what a real grammar needs; crossing one is a <see cref="GrammarException"/>, never a hang.
/// </summary>
public static class GrammarLimits
{
    /// <summary>GBNF source length, in UTF-16 code units.</summary>
    public const int MaxSourceLength = 1 << 20;

    /// <summary>Rules after repetitions are expanded (each bounded repetition adds rules).</summary>
    public const int MaxRules = 100_000;

    /// <summary>Symbols (characters, character classes, rule references) after expansion.</summary>
    public const int MaxElements = 1_000_000;

    /// <summary>Nesting of parentheses in GBNF, and of subschemas in a JSON Schema.</summary>
    public const int MaxNesting = 128;

    /// <summary>The largest m or n in <c>{m}</c>, <c>{m,}</c>, <c>{m,n}</c> (and minItems, maxLength ...).</summary>
    public const int MaxRepetition = 10_000;

    /// <summary>Parses alive at once in a matcher (an ambiguous grammar keeps several).</summary>
    public const int MaxStacks = 16_384;

    /// <summary>
    /// Parse steps (stack expansions) one call may spend computing new automaton states — one mask, one token
    /// check or one accept — about a second of work; past it the grammar is refused as too costly to match.
    /// Cached states cost nothing, so only a pathologically ambiguous grammar ever gets near it.
    /// </summary>
    public const int MaxWorkPerCall = 20_000_000;

    /// <summary>Nesting depth of one parse (open rules on a stack).</summary>
    public const int MaxStackDepth = 1 << 16;

    /// <summary>Automaton states a grammar caches before it drops its cache and starts again.</summary>
    public const int MaxCachedStates = 20_000;

    /// <summary>Parses held by all cached states together (about 8 bytes each) before the cache is dropped.</summary>
    public const int MaxCachedStacks = 4_000_000;
}
