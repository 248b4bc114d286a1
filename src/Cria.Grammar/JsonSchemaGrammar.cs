using System.Text.Json;

namespace Cria.Grammar;

/// <summary>
/// JSON Schema to GBNF (like llama.cpp's json-schema-to-grammar; our own code). Enforced: <c>type</c> (one or
/// an array of object, array, string, number, integer, boolean, null), <c>properties</c> (written in schema
/// order; properties not in <c>required</c> may be left out), <c>required</c>, <c>additionalProperties</c>
/// (false, true or a schema; when absent it is <b>false</b> if <c>properties</c> is given, else true — the
/// strict reading structured output wants), <c>enum</c>, <c>const</c>, <c>items</c>, <c>prefixItems</c>
/// (and draft-7 tuple <c>items</c> with <c>additionalItems</c>), <c>minItems</c>, <c>maxItems</c>,
/// <c>minLength</c>, <c>maxLength</c> (in code points), <c>anyOf</c>, <c>oneOf</c> (as anyOf: the branches
/// should not overlap), <c>allOf</c> with one schema, <c>$ref</c> to any JSON pointer in the document
/// (<c>#/$defs/..</c>, <c>#/definitions/..</c>, <c>#</c>; recursion works), <c>pattern</c> (see
/// <see cref="PatternConverter"/>), and <c>format</c> date, time, date-time and uuid.
/// Not enforced (documented, ignored): <c>minimum</c>, <c>maximum</c>, <c>exclusiveMinimum</c>,
/// <c>exclusiveMaximum</c>, <c>multipleOf</c>, other <c>format</c>s (annotations in JSON Schema 2020-12),
/// annotations (title, description, default, examples, ...) and unknown keywords. Rejected with a
/// <see cref="GrammarException"/> naming the keyword and its JSON pointer: not, if/then/else, dependent*,
/// patternProperties, propertyNames, unevaluated*, contains, min/maxProperties, uniqueItems: true, allOf with
/// several schemas, $ref to other documents or anchors, pattern beside min/maxLength, a validation keyword
/// beside $ref, anyOf, oneOf or allOf. Numbers are bounded (16 integer digits, 16 fraction digits, 3 exponent
/// digits) and whitespace between tokens is at most a newline and 20 spaces, so a model cannot run forever
/// inside one value; strings and arrays without maxLength/maxItems are unbounded. Extra property names are
/// kept apart from the listed ones (except listed names that need JSON escapes).
/// </summary>
public static class JsonSchemaGrammar
{
    /// <summary>
    /// GBNF rules for the schema's values. With the default <paramref name="rootRule"/> the result is a whole
    /// grammar; with another name (such as "tool-args") every rule is prefixed with it, so the rules can be
    /// pasted beside others, e.g. <c>root ::= "&lt;tool_call&gt;" tool-args "&lt;/tool_call&gt;"</c>.
    /// </summary>
    /// <exception cref="GrammarException">The schema uses a keyword that cannot be enforced.</exception>
    public static string ToGbnf(JsonElement schema, string rootRule = "root")
    {
        ArgumentNullException.ThrowIfNull(rootRule);
        if (rootRule.Length == 0 || !rootRule.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            throw new ArgumentException("a rule name is letters, digits, '-' and '_'", nameof(rootRule));
        }
        return JsonSchemaConverter.Convert(schema, rootRule);
    }
}
