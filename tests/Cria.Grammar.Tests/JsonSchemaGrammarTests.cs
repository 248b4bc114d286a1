using System.Text.Json;

namespace Cria.Grammar.Tests;

/// <summary>
/// JSON Schema grammars accept the JSON texts of valid instances and reject invalid ones, keyword by keyword.
/// Every "valid" instance is also checked with an independent validator (JsonSchema.Net), and so is every
/// "invalid" one that is JSON at all; "stricter" lists texts the schema allows but the grammar does not, by
/// design (property order, additionalProperties false by default, compact enum literals).
/// </summary>
public sealed class JsonSchemaGrammarTests
{
    private static void Check(string schema, string[] valid, string[] invalid, string[]? stricter = null)
    {
        CompiledGrammar g = CompiledGrammar.FromJsonSchema(schema);
        foreach (string v in valid)
        {
            Assert.True(g.Matches(v), $"grammar rejects valid {v}\n{g.Gbnf}");
            Assert.True(SchemaValidator.IsValid(schema, v), $"the validator rejects {v}");
        }
        foreach (string v in invalid)
        {
            Assert.False(g.Matches(v), $"grammar accepts invalid {v}\n{g.Gbnf}");
            if (SchemaValidator.IsJson(v))
            {
                Assert.False(SchemaValidator.IsValid(schema, v), $"the validator accepts {v}");
            }
        }
        foreach (string v in stricter ?? [])
        {
            Assert.False(g.Matches(v), $"grammar accepts {v}");
            Assert.True(SchemaValidator.IsValid(schema, v), $"the validator rejects {v}");
        }
    }

    [Fact]
    public void String() => Check("""{"type": "string"}""",
        ["\"abc\"", "\"\"", "\"a\\\"b\\\\c\\n\\u00e9 é 😀 \\/\"", "\"\\ud7ff\\ue000\"", "\"abc\" ", "\"x\"\n    "],
        ["abc", "\"abc", "1", "\"\u0001\"", "\"\\q\""],
        // a lone surrogate escape is JSON but not text; whitespace is bounded (no leading, at most " " or "\n" + 20)
        ["\"\\ud800\"", " \"a\"", "\"a\"\n\n", "\"a\"  ", "\"a\"\n" + new string(' ', 21)]);

    [Fact]
    public void Integer() => Check("""{"type": "integer"}""",
        ["0", "-12", "1234567890123456", "7 "],
        ["1.5", "01", "\"1\"", "-", "+1"],
        ["12345678901234567"]); // at most 16 digits, so a model cannot write digits forever

    [Fact]
    public void Number() => Check("""{"type": "number"}""",
        ["1.5", "-0.25e-3", "3E+10", "0", "-7"],
        [".5", "1.", "\"x\"", "+1", "1e", "--1", "0x10"]);

    [Fact]
    public void Boolean_and_null()
    {
        Check("""{"type": "boolean"}""", ["true", "false"], ["True", "1", "null", "\"true\""]);
        Check("""{"type": "null"}""", ["null"], ["nul", "0", "\"null\""]);
    }

    [Fact]
    public void Type_arrays() => Check("""{"type": ["string", "null", "integer"]}""",
        ["\"x\"", "null", "3"],
        ["1.5", "true", "[]", "{}"]);

    [Fact]
    public void Enum_of_any_values() => Check("""{"enum": ["red", 1, null, {"a": [1, 2]}, "say \"hi\""]}""",
        ["\"red\"", "1", "null", "{\"a\":[1,2]}", "\"say \\\"hi\\\"\""],
        ["\"blue\"", "2", "\"Red\"", "{\"a\":[1]}"],
        ["{\"a\": [1, 2]}", "1.0"]);

    [Fact]
    public void Const() => Check("""{"const": "fixed"}""", ["\"fixed\""], ["\"fixe\"", "\"fixedd\"", "null"]);

    [Fact]
    public void Object_with_required_and_optional_properties() => Check("""
        {"type": "object",
         "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "email": {"type": "string"}},
         "required": ["name", "age"]}
        """,
        ["{\"name\": \"Bo\", \"age\": 3}", "{\"name\":\"Bo\",\"age\":3,\"email\":\"x@y\"}",
         "{\n  \"name\": \"Bo\",\n  \"age\": 3\n}", "{ \"name\" : \"Bo\" , \"age\" : 3 }"],
        ["{\"name\": \"Bo\"}", "{}", "{\"name\": 1, \"age\": 3}", "{\"name\": \"Bo\", \"age\": 3,}", "{\"name\": \"Bo\" \"age\": 3}"],
        ["{\"age\": 3, \"name\": \"Bo\"}", "{\"name\":\"Bo\",\"age\":3,\"extra\":1}"]);

    [Fact]
    public void Object_with_only_optional_properties_any_subset_in_order() => Check("""
        {"properties": {"a": {"type": "integer"}, "b": {"type": "integer"}, "c": {"type": "integer"}}}
        """,
        ["{}", "{\"a\":1}", "{\"b\":2}", "{\"c\":3}", "{\"a\":1,\"c\":3}", "{\"b\":2,\"c\":3}", "{\"a\":1,\"b\":2,\"c\":3}"],
        ["{\"a\":1,}", "{,\"b\":2}", "{\"a\":\"x\"}", "{\"a\":1 \"b\":2}"],
        ["{\"b\":2,\"a\":1}", "{\"d\":4}"]);

    [Fact]
    public void Required_after_optional() => Check("""
        {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "boolean"}}, "required": ["b"]}
        """,
        ["{\"b\":true}", "{\"a\":1,\"b\":false}"],
        ["{}", "{\"a\":1}", "{\"b\":1}"]);

    [Fact]
    public void Additional_properties_true_allows_other_keys_but_not_listed_ones_again() => Check("""
        {"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": true}
        """,
        ["{}", "{\"a\":1}", "{\"a\":1,\"zzz\":[1,{\"q\":null}]}", "{\"zzz\":true}", "{\"ab\":1}", "{\"\":1}", "{\"a\\u0062\":1}"],
        ["{\"a\":\"x\"}", "{\"a\":1,\"zzz\"}"],
        ["{\"a\":1,\"a\":2}", "{\"zzz\":true,\"a\":1}"]);

    [Fact]
    public void Additional_properties_schema() => Check("""{"type": "object", "additionalProperties": {"type": "integer"}}""",
        ["{}", "{\"x\":1,\"y\":2}"],
        ["{\"x\":\"s\"}", "{\"x\":1,\"y\":null}"]);

    [Fact]
    public void Additional_properties_false_without_properties() => Check("""{"type": "object", "additionalProperties": false}""",
        ["{}", "{ }"], ["{\"a\":1}"]);

    [Fact]
    public void Plain_object_is_any_object() => Check("""{"type": "object"}""",
        ["{}", "{\"a\":{\"b\":[1,2,{\"c\":\"d\"}]},\"e\":null}"], ["[]", "\"{}\"", "{\"a\"}"]);

    [Fact]
    public void Nested_objects() => Check("""
        {"type": "object", "required": ["person"],
         "properties": {"person": {"type": "object", "required": ["name", "address"],
           "properties": {"name": {"type": "string"},
                          "address": {"type": "object", "required": ["city"], "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}}}}}
        """,
        ["{\"person\":{\"name\":\"A\",\"address\":{\"city\":\"B\"}}}", "{\"person\":{\"name\":\"A\",\"address\":{\"street\":\"S\",\"city\":\"B\"}}}"],
        ["{\"person\":{\"name\":\"A\",\"address\":{}}}", "{\"person\":{\"name\":\"A\",\"address\":{\"city\":1}}}", "{\"person\":{}}"]);

    [Fact]
    public void Array_items_and_bounds() => Check("""{"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3}""",
        ["[1]", "[1, 2, 3]", "[ 1 ,2 ]"],
        ["[]", "[1,2,3,4]", "[\"a\"]", "[1,]", "[,1]", "[1 2]"]);

    [Fact]
    public void Array_exact_count() => Check("""{"type": "array", "items": {"type": "boolean"}, "minItems": 2, "maxItems": 2}""",
        ["[true,false]"], ["[true]", "[true,true,true]"]);

    [Fact]
    public void Array_without_items_holds_anything() => Check("""{"type": "array"}""",
        ["[]", "[1,\"a\",null,[{}]]"], ["[1,]", "{}"]);

    [Fact]
    public void Prefix_items_then_nothing() => Check("""{"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": false}""",
        ["[]", "[\"a\"]", "[\"a\", 1]"],
        ["[\"a\",1,2]", "[1]", "[\"a\",\"b\"]"]);

    [Fact]
    public void Prefix_items_then_items() => Check("""{"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": {"type": "string"}, "minItems": 2}""",
        ["[\"a\",1]", "[\"a\",1,\"b\",\"c\"]"],
        ["[\"a\"]", "[\"a\",1,2]", "[]"]);

    [Fact]
    public void Draft7_tuple_items() => Check("""{"$schema": "http://json-schema.org/draft-07/schema#", "type": "array", "items": [{"type": "integer"}, {"type": "string"}], "additionalItems": false}""",
        ["[1,\"x\"]", "[1]", "[]"], ["[1,\"x\",2]", "[\"x\"]"]);

    [Fact]
    public void String_length_counts_code_points() => Check("""{"type": "string", "minLength": 2, "maxLength": 4}""",
        ["\"ab\"", "\"abcd\"", "\"é😀\"", "\"\\n\\\"\"", "\"\\u0041b\""],
        ["\"a\"", "\"abcde\"", "\"😀\"", "\"\""]);

    [Fact]
    public void Any_of_and_one_of()
    {
        Check("""{"anyOf": [{"type": "string"}, {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}]}""",
            ["\"s\"", "{\"x\":1}"], ["1", "{}", "{\"x\":\"1\"}"]);
        Check("""{"oneOf": [{"type": "integer"}, {"type": "boolean"}], "description": "annotations beside are fine"}""",
            ["1", "true"], ["\"1\"", "null"]);
    }

    [Fact]
    public void Ref_to_defs_and_definitions()
    {
        Check("""
            {"$defs": {"point": {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}}, "required": ["x", "y"]}},
             "type": "object", "properties": {"a": {"$ref": "#/$defs/point"}, "b": {"$ref": "#/$defs/point"}}, "required": ["a", "b"]}
            """,
            ["{\"a\":{\"x\":1,\"y\":2},\"b\":{\"x\":0.5,\"y\":-1}}"],
            ["{\"a\":{\"x\":1},\"b\":{\"x\":0,\"y\":0}}", "{\"a\":{\"x\":1,\"y\":2}}"]);
        Check("""
            {"$schema": "http://json-schema.org/draft-07/schema#",
             "definitions": {"color": {"enum": ["red", "green"]}}, "type": "array", "items": {"$ref": "#/definitions/color"}}
            """,
            ["[\"red\",\"green\",\"red\"]", "[]"], ["[\"blue\"]"]);
    }

    [Fact]
    public void Recursive_refs()
    {
        Check("""
            {"$ref": "#/$defs/node",
             "$defs": {"node": {"type": "object", "required": ["value"],
               "properties": {"value": {"type": "integer"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}}}
            """,
            ["{\"value\":1}", "{\"value\":1,\"children\":[{\"value\":2,\"children\":[{\"value\":3}]},{\"value\":4,\"children\":[]}]}"],
            ["{\"value\":1,\"children\":[{}]}", "{\"children\":[]}"]);
        Check("""{"type": "object", "properties": {"name": {"type": "string"}, "next": {"$ref": "#"}}}""",
            ["{}", "{\"next\":{\"next\":{\"name\":\"c\"}}}"], ["{\"next\":1}"]);
    }

    [Fact]
    public void Patterns()
    {
        Check("""{"type": "string", "pattern": "^[A-Z]{2}-[0-9]{3}$"}""", ["\"AB-123\""], ["\"ab-123\"", "\"AB-1234\"", "\"AB123\""]);
        Check("""{"type": "string", "pattern": "abc"}""", ["\"xxabcyy\"", "\"abc\"", "\"abc\\\"\""], ["\"ab\"", "\"\""]);
        Check("""{"type": "string", "pattern": "^\\d+(\\.\\d+)?$"}""", ["\"12\"", "\"3.14\""], ["\"3.\"", "\".5\"", "\"a\""]);
        Check("""{"type": "string", "pattern": "^(foo|bar)+$"}""", ["\"foo\"", "\"barfoobar\""], ["\"\"", "\"fo\"", "\"foobaz\""]);
        Check("""{"pattern": "^a.c$"}""", ["\"abc\"", "\"a\\\"c\"", "\"a\\\\c\"", "\"a\\tc\"", "\"aéc\""], ["\"a\\nc\"", "\"ac\"", "\"abbc\""]);
        Check("""{"pattern": "^\"[^\"\\\\]*\"$"}""", ["\"\\\"quoted\\\"\"", "\"\\\"\\\"\""], ["\"\\\"a\\\"b\\\"\"", "\"quoted\""]);
        Check("""{"pattern": "^[^a-z\\s]{1,3}$"}""", ["\"AB\"", "\"1!\"", "\"\\\"\""], ["\"a\"", "\"A B\"", "\"ABCD\""]);
        Check("""{"pattern": "^(?:\\w+@)?\\w+\\.(com|org)$"}""", ["\"me@x.com\"", "\"x.org\""], ["\"x.net\"", "\"@x.com\""]);
        Check("""{"pattern": "^\\u00e9\\x41\\uD83D\\uDE00\\/\\-$"}""", ["\"éA😀/-\""], ["\"éA\""]);
        Assert.True(CompiledGrammar.FromJsonSchema("""{"pattern": "^\\u{1F600}+$"}""").Matches("\"😀😀\"")); // ES2015 \u{...}: .NET's Regex has no such escape
        Check("""{"pattern": "^a*?b{2,}?c??$"}""", ["\"bb\"", "\"aabbbc\""], ["\"ab\""]);
    }

    [Fact]
    public void Formats()
    {
        Check("""{"type": "string", "format": "date"}""", ["\"2024-02-29\"", "\"1999-12-31\""], ["\"2024-13-01\"", "\"2024-1-01\"", "\"24-01-01\"", "\"2024-00-10\""]);
        Check("""{"type": "string", "format": "time"}""", ["\"23:59:59Z\"", "\"08:30:00.123+02:00\""], ["\"24:00:00Z\"", "\"12:00\"", "\"12:00:00\""]);
        Check("""{"type": "string", "format": "date-time"}""", ["\"2024-01-01T10:00:00.5+02:00\"", "\"2024-01-01T10:00:00Z\""], ["\"2024-01-01\"", "\"2024-01-01T25:00:00Z\""], ["\"2024-01-01 10:00:00Z\""]);
        Check("""{"type": "string", "format": "uuid"}""", ["\"123e4567-e89b-12d3-a456-426614174000\""], ["\"123e4567e89b12d3a456426614174000\"", "\"123e4567-e89b-12d3-a456-42661417400\""]);
    }

    [Fact]
    public void Unknown_formats_and_numeric_bounds_are_not_enforced()
    {
        CompiledGrammar g = CompiledGrammar.FromJsonSchema("""{"type": "object", "properties": {"e": {"type": "string", "format": "email"}, "n": {"type": "integer", "minimum": 5, "maximum": 9}}}""");
        Assert.True(g.Matches("{\"e\":\"not an email\",\"n\":100}"));
    }

    [Fact]
    public void True_and_empty_schemas_are_any_value()
    {
        foreach (string schema in (string[])["true", "{}", """{"description": "anything", "title": "x"}"""])
        {
            CompiledGrammar g = CompiledGrammar.FromJsonSchema(schema);
            foreach (string v in (string[])["1", "\"s\"", "null", "[1,{\"a\":[]}]", "{\"k\":true}"])
            {
                Assert.True(g.Matches(v), v);
            }
            Assert.False(g.Matches("{]"));
        }
    }

    [Fact]
    public void Json_object_grammar_accepts_objects_only()
    {
        CompiledGrammar g = CompiledGrammar.JsonObject;
        foreach (string v in (string[])["{}", "{\"a\":1}", "{\"a\":{\"b\":{\"c\":[1,2,[3,[4]]]}},\"d\":\"\\u263a\",\"e\":-1.5e3,\"f\":true,\"g\":null}", "{\n  \"x\": [\n    1\n  ]\n}"])
        {
            Assert.True(g.Matches(v), v);
        }
        foreach (string v in (string[])["[]", "\"s\"", "1", "{", "{\"a\":}", "{\"a\" 1}", "{'a':1}", "{\"a\":1}}", "{\"a\":tru}"])
        {
            Assert.False(g.Matches(v), v);
        }
        Assert.True(CompiledGrammar.JsonValue.Matches("[1,2]"));
    }

    [Fact]
    public void Prefixed_rules_compose_into_a_larger_grammar()
    {
        using JsonDocument schema = JsonDocument.Parse("""{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}""");
        string args = JsonSchemaGrammar.ToGbnf(schema.RootElement, "args");
        Assert.DoesNotContain("root", args, StringComparison.Ordinal);
        CompiledGrammar g = CompiledGrammar.Parse("root ::= \"<tool_call>\" args \"</tool_call>\"\n" + args);
        Assert.True(g.Matches("<tool_call>{\"city\": \"Paris\"}</tool_call>"));
        Assert.False(g.Matches("<tool_call>{}</tool_call>"));
    }

    [Theory]
    [InlineData("""{"not": {}}""", "not", "#/not")]
    [InlineData("""{"properties": {"a": {"if": {}, "then": {}}}}""", "if", "#/properties/a/if")]
    [InlineData("""{"properties": {"a/b": {"patternProperties": {}}}}""", "patternProperties", "#/properties/a~1b/patternProperties")]
    [InlineData("""{"type": "array", "uniqueItems": true}""", "uniqueItems", "#/uniqueItems")]
    [InlineData("""{"allOf": [{}, {}]}""", "allOf", "#/allOf")]
    [InlineData("""{"minProperties": 1}""", "minProperties", "#/minProperties")]
    [InlineData("""{"type": "array", "contains": {"type": "integer"}}""", "contains", "#/contains")]
    [InlineData("""{"$ref": "https://example.com/schema.json"}""", "$ref", "#/$ref")]
    [InlineData("""{"$ref": "#anchor"}""", "$ref", "#/$ref")]
    [InlineData("""{"type": "string", "pattern": "a", "maxLength": 3}""", "maxLength beside pattern", "#/maxLength")]
    [InlineData("""{"type": "object", "anyOf": [{}]}""", "type beside anyOf", "#/type")]
    [InlineData("""{"$ref": "#/$defs/a", "type": "string", "$defs": {"a": {}}}""", "type beside $ref", "#/type")]
    public void Unsupported_keywords_are_named_with_their_path(string schema, string keyword, string path)
    {
        GrammarException e = Assert.Throws<GrammarException>(() => CompiledGrammar.FromJsonSchema(schema));
        Assert.Contains("unsupported JSON Schema keyword", e.Message, StringComparison.Ordinal);
        Assert.Contains(keyword, e.Message, StringComparison.Ordinal);
        Assert.Equal(path, e.SchemaPath);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"$ref": "#/$defs/missing"}""", "points to nothing", "#/$ref")]
    [InlineData("""{"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"anyOf": [{"$ref": "#/$defs/a"}]}}, "$ref": "#/$defs/a"}""", "refers back to itself", "#/$defs/b/anyOf/0/$ref")]
    [InlineData("""{"type": "wat"}""", "unknown type", "#/type")]
    [InlineData("""{"type": "string", "pattern": "(?=x)"}""", "lookahead", "#/pattern")]
    [InlineData("""{"type": "string", "pattern": "(a)\\1"}""", "back-references", "#/pattern")]
    [InlineData("""{"type": "string", "pattern": "\\bword"}""", "word boundaries", "#/pattern")]
    [InlineData("""{"type": "string", "pattern": "a)"}""", "unbalanced", "#/pattern")]
    [InlineData("""{"type": "string", "pattern": "a^b"}""", "only supported at the start", "#/pattern")]
    [InlineData("""{"type": "string", "pattern": "(a*)*"}""", "empty string", "#/pattern")]
    [InlineData("""{"type": "string", "minLength": -1}""", "non-negative integer", "#/minLength")]
    [InlineData("""{"type": "array", "maxItems": 1e9}""", "above the supported limit", "#/maxItems")]
    [InlineData("""{"type": "array", "minItems": 3, "maxItems": 2}""", "more than the array can hold", "#/minItems")]
    [InlineData("""{"properties": {"x": false}}""", "accepts no value", "#/properties/x")]
    [InlineData("""{"type": "object", "properties": {"a": {}}, "required": ["b"], "additionalProperties": false}""", "required property \"b\"", "#/required")]
    [InlineData("""{"properties": {"a": 5}}""", "must be an object or a boolean", "#/properties/a")]
    [InlineData("""{"enum": []}""", "non-empty array", "#/enum")]
    public void Bad_schemas_are_errors_with_their_path(string schema, string message, string path)
    {
        GrammarException e = Assert.Throws<GrammarException>(() => CompiledGrammar.FromJsonSchema(schema));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.Equal(path, e.SchemaPath);
    }

    [Fact]
    public void Not_json_is_an_error() =>
        Assert.Contains("not valid JSON", Assert.Throws<GrammarException>(() => CompiledGrammar.FromJsonSchema("{\"type\": ")).Message, StringComparison.Ordinal);

    [Fact]
    public void Deep_and_wide_hostile_schemas_are_bounded()
    {
        string deep = string.Concat(Enumerable.Repeat("{\"type\":\"array\",\"items\":", 200)) + "{}" + new string('}', 200);
        Assert.Throws<GrammarException>(() => CompiledGrammar.FromJsonSchema(deep));
        string wide = "{\"type\":\"object\",\"properties\":{" + string.Join(",", Enumerable.Range(0, 2000).Select(i => $"\"p{i}\":{{\"type\":\"integer\"}}")) + "}}";
        CompiledGrammar g = CompiledGrammar.FromJsonSchema(wide);
        Assert.True(g.Matches("{\"p5\":1,\"p1999\":2}"));
        Assert.False(g.Matches("{\"p1999\":2,\"p5\":1}"));
    }
}
