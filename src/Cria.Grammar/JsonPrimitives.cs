namespace Cria.Grammar;

/// <summary>
/// The GBNF rules JSON Schema grammars are built from (JSON's own grammar, RFC 8259, with bounds). Every value
/// rule ends with <c>space</c>, at most one space or a newline and 20 spaces or tabs, so a model cannot spin on
/// whitespace; numbers have at most 16 integer digits, 16 fraction digits and 3 exponent digits. <c>\u</c>
/// escapes exclude surrogates, so every string decodes to valid Unicode.
/// </summary>
internal static class JsonPrimitives
{
    /// <summary>The names every converter reserves (it adds the rules it uses, prefixed).</summary>
    public static readonly string[] Names =
    [
        "space", "boolean", "null", "integral-part", "integer", "number", "esc", "char", "string", "value", "object", "array",
        "date", "time", "date-time", "uuid",
    ];

    /// <summary>The body of primitive <paramref name="name"/> and the primitives it uses; <paramref name="r"/> names a rule.</summary>
    public static (string Body, string[] Uses) Get(string name, Func<string, string> r) => name switch
    {
        "space" => ("\"\" | \" \" | \"\\n\" [ \\t]{0,20}", []),
        "boolean" => ($"(\"true\" | \"false\") {r("space")}", ["space"]),
        "null" => ($"\"null\" {r("space")}", ["space"]),
        "integral-part" => ("[0] | [1-9] [0-9]{0,15}", []),
        "integer" => ($"\"-\"? {r("integral-part")} {r("space")}", ["integral-part", "space"]),
        "number" => ($"\"-\"? {r("integral-part")} (\".\" [0-9]{{1,16}})? ([eE] [-+]? [0-9]{{1,3}})? {r("space")}", ["integral-part", "space"]),
        "esc" => ("[\"\\\\/bfnrt] | \"u\" ([0-9a-cA-CefEF] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2})", []),
        "char" => ($"[^\"\\\\\\x00-\\x1F] | \"\\\\\" {r("esc")}", ["esc"]),
        "string" => ($"\"\\\"\" {r("char")}* \"\\\"\" {r("space")}", ["char", "space"]),
        "value" => ($"{r("object")} | {r("array")} | {r("string")} | {r("number")} | {r("boolean")} | {r("null")}",
            ["object", "array", "string", "number", "boolean", "null"]),
        "object" => ($"\"{{\" {r("space")} ({r("string")} \":\" {r("space")} {r("value")} (\",\" {r("space")} {r("string")} \":\" {r("space")} {r("value")})*)? \"}}\" {r("space")}",
            ["space", "string", "value"]),
        "array" => ($"\"[\" {r("space")} ({r("value")} (\",\" {r("space")} {r("value")})*)? \"]\" {r("space")}", ["space", "value"]),
        "date" => ("[0-9]{4} \"-\" (\"0\" [1-9] | \"1\" [0-2]) \"-\" (\"0\" [1-9] | [12] [0-9] | \"3\" [01])", []),
        "time" => ("([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9] \":\" [0-5] [0-9] (\".\" [0-9]{1,9})? (\"Z\" | [+-] ([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9])", []),
        "date-time" => ($"{r("date")} \"T\" {r("time")}", ["date", "time"]),
        "uuid" => ("[0-9a-fA-F]{8} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{12}", []),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "no such JSON primitive"),
    };
}
