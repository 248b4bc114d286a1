using System.Text;
using System.Text.Json;

namespace Cria.Grammar;

/// <summary>
/// A compiled grammar (GBNF, or a JSON Schema converted to GBNF) that constrains generated text. Immutable
/// and thread-safe: compile once and share it across requests; each generation makes its own
/// <see cref="GrammarMatcher"/> with <see cref="CreateMatcher"/>. Internally it caches the states its matchers
/// reach (bounded by <see cref="GrammarLimits.MaxCachedStates"/>), so later generations are faster than the first.
/// </summary>
public sealed class CompiledGrammar
{
    private static readonly Lazy<CompiledGrammar> s_jsonObject = new(() => Parse(JsonSchemaConverter.AnyJson(objectOnly: true)));
    private static readonly Lazy<CompiledGrammar> s_jsonValue = new(() => Parse(JsonSchemaConverter.AnyJson(objectOnly: false)));

    private CompiledGrammar(string gbnf, GrammarProgram program)
    {
        Gbnf = gbnf;
        Program = program;
        Automaton = new GrammarAutomaton(program);
    }

    /// <summary>The GBNF source of this grammar (for a JSON Schema, the generated rules).</summary>
    public string Gbnf { get; }

    /// <summary>Rules after repetitions were expanded.</summary>
    public int RuleCount => Program.Alternatives.Length;

    /// <summary>Any JSON object (OpenAI's <c>response_format: {"type": "json_object"}</c>, Ollama's <c>format: "json"</c>).</summary>
    public static CompiledGrammar JsonObject => s_jsonObject.Value;

    /// <summary>Any JSON value.</summary>
    public static CompiledGrammar JsonValue => s_jsonValue.Value;

    internal GrammarProgram Program { get; }

    internal GrammarAutomaton Automaton { get; }

    /// <summary>Compiles GBNF text whose start rule is <c>root</c>.</summary>
    /// <exception cref="GrammarException">A syntax error, an undefined or twice-defined rule, no root, left recursion, a rule that can never finish, or a limit crossed; the message has line and column.</exception>
    public static CompiledGrammar Parse(string gbnf)
    {
        ArgumentNullException.ThrowIfNull(gbnf);
        List<GbnfRule> rules = GbnfParser.Parse(gbnf);
        return new CompiledGrammar(gbnf, GrammarCompiler.Compile(gbnf, rules));
    }

    /// <summary>The grammar of the JSON texts valid under <paramref name="schema"/> (see <see cref="JsonSchemaGrammar"/>).</summary>
    /// <exception cref="GrammarException">The schema uses a keyword that cannot be enforced; the message names it and its JSON pointer.</exception>
    public static CompiledGrammar FromJsonSchema(JsonElement schema) => Parse(JsonSchemaGrammar.ToGbnf(schema));

    /// <summary>Like <see cref="FromJsonSchema(JsonElement)"/>, from the schema's JSON text.</summary>
    /// <exception cref="GrammarException">The text is not JSON, or the schema cannot be enforced.</exception>
    public static CompiledGrammar FromJsonSchema(string schemaJson)
    {
        ArgumentNullException.ThrowIfNull(schemaJson);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(schemaJson);
        }
        catch (JsonException e)
        {
            throw new GrammarException($"the JSON Schema is not valid JSON: {e.Message}", e);
        }
        using (doc)
        {
            return FromJsonSchema(doc.RootElement);
        }
    }

    /// <summary>A matcher for one generation over <paramref name="vocabulary"/> (a tokenizer).</summary>
    public GrammarMatcher CreateMatcher(ITokenVocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        return new GrammarMatcher(this, vocabulary);
    }

    /// <summary>True when the whole of <paramref name="text"/> is a sentence of the grammar.</summary>
    public bool Matches(string text) => Walk(text).CanEnd;

    /// <summary>True when <paramref name="text"/> can be continued to a sentence of the grammar (or is one).</summary>
    public bool IsPrefix(string text) => !Walk(text).IsDead;

    private GrammarState Walk(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        lock (Automaton.Gate)
        {
            Automaton.BeginCall();
            return Automaton.Walk(Automaton.Initial, bytes);
        }
    }
}
