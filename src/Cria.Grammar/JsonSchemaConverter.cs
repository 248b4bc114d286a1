using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Cria.Grammar;

/// <summary>
/// Writes GBNF for the JSON values a JSON Schema accepts (the keywords are listed on
/// <see cref="JsonSchemaGrammar"/>). Each subschema becomes a rule whose strings are the JSON texts of valid
/// instances, each followed by bounded whitespace; references become rules of their own, so recursive
/// schemas work. Anything the converter cannot enforce exactly is a <see cref="GrammarException"/> that names
/// the keyword and its JSON pointer, never a silently weaker grammar (the ignored keywords are documented).
/// </summary>
internal sealed partial class JsonSchemaConverter
{
    private static readonly HashSet<string> s_unsupported =
    [
        "not", "if", "then", "else", "dependentRequired", "dependentSchemas", "dependencies", "patternProperties",
        "propertyNames", "unevaluatedProperties", "unevaluatedItems", "contains", "minContains", "maxContains",
        "minProperties", "maxProperties", "$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor",
    ];

    /// <summary>Keywords that constrain a value (as opposed to annotations such as title or description).</summary>
    private static readonly HashSet<string> s_validation =
    [
        "type", "properties", "required", "additionalProperties", "items", "prefixItems", "additionalItems", "minItems",
        "maxItems", "minLength", "maxLength", "pattern", "enum", "const", "anyOf", "oneOf", "allOf", "$ref",
    ];

    private const int MaxTuple = 1000;

    private readonly JsonElement _document;
    private readonly string _prefix;
    private readonly List<(string Name, string Body)> _rules = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly HashSet<string> _primitives = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _refs = new(StringComparer.Ordinal);
    private readonly Dictionary<CodePointSet, string> _classes = [];
    private HashSet<string> _refChain = new(StringComparer.Ordinal); // references entered since the last character read
    private int _depth;

    private JsonSchemaConverter(JsonElement document, string rootRule)
    {
        _document = document;
        _prefix = rootRule == "root" ? "" : rootRule + "-";
        _names.Add(rootRule);
        foreach (string p in JsonPrimitives.Names)
        {
            _names.Add(_prefix + p);
        }
    }

    public static string Convert(JsonElement schema, string rootRule)
    {
        var c = new JsonSchemaConverter(schema, rootRule);
        c.Visit(schema, "#", "", rootRule);
        var sb = new StringBuilder();
        foreach ((string name, string body) in c._rules.OrderBy(r => r.Name == rootRule ? 0 : 1))
        {
            sb.Append(name).Append(" ::= ").Append(body).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>GBNF for any JSON value, or (<paramref name="objectOnly"/>) any JSON object.</summary>
    public static string AnyJson(bool objectOnly)
    {
        var c = new JsonSchemaConverter(TrueSchema, "root");
        c._rules.Add(("root", c.Primitive(objectOnly ? "object" : "value")));
        var sb = new StringBuilder();
        foreach ((string name, string body) in c._rules)
        {
            sb.Append(name).Append(" ::= ").Append(body).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>The name of a rule for the schema's values; a new rule named <paramref name="ruleName"/> when given.</summary>
    private string Visit(JsonElement schema, string path, string hint, string? ruleName = null)
    {
        if (++_depth > GrammarLimits.MaxNesting)
        {
            throw new GrammarException($"the schema nests deeper than {GrammarLimits.MaxNesting} levels", path);
        }
        string expression = Expression(schema, path, hint);
        _depth--;
        if (ruleName is null && IsRuleName(expression))
        {
            return expression;
        }
        return AddRule(ruleName ?? NewName(hint.Length == 0 ? "value" : hint), expression);
    }

    private string Expression(JsonElement schema, string path, string hint)
    {
        switch (schema.ValueKind)
        {
            case JsonValueKind.True:
                return Primitive("value");
            case JsonValueKind.False:
                throw new GrammarException("the schema false accepts no value", path);
            case JsonValueKind.Object:
                break;
            default:
                throw new GrammarException($"a schema must be an object or a boolean, not {Kind(schema)}", path);
        }
        CheckKeywords(schema, path);
        if (schema.TryGetProperty("$ref", out JsonElement reference))
        {
            NoSiblings(schema, path, "$ref");
            if (reference.ValueKind != JsonValueKind.String)
            {
                throw new GrammarException("$ref must be a string", path + "/$ref");
            }
            return Ref(reference.GetString()!, path + "/$ref");
        }
        if (schema.TryGetProperty("const", out JsonElement constant))
        {
            return $"{GbnfText.Literal(JsonText.Compact(constant))} {Primitive("space")}";
        }
        if (schema.TryGetProperty("enum", out JsonElement values))
        {
            return Enum(values, path + "/enum");
        }
        foreach (string keyword in (string[])["anyOf", "oneOf"])
        {
            if (schema.TryGetProperty(keyword, out JsonElement branches))
            {
                NoSiblings(schema, path, keyword);
                List<JsonElement> list = SchemaArray(branches, path + "/" + keyword, keyword);
                var names = new List<string>(list.Count);
                for (int i = 0; i < list.Count; i++)
                {
                    names.Add(Visit(list[i], $"{path}/{keyword}/{i}", Hint(hint, i.ToString(CultureInfo.InvariantCulture))));
                }
                return string.Join(" | ", names);
            }
        }
        if (schema.TryGetProperty("allOf", out JsonElement all))
        {
            NoSiblings(schema, path, "allOf");
            List<JsonElement> list = SchemaArray(all, path + "/allOf", "allOf");
            if (list.Count != 1)
            {
                throw Unsupported("allOf with more than one schema", path + "/allOf");
            }
            return Visit(list[0], path + "/allOf/0", hint);
        }
        List<string> types = Types(schema, path);
        if (types.Count == 1)
        {
            return TypedExpression(schema, path, hint, types[0]);
        }
        var alternatives = new List<string>(types.Count);
        foreach (string type in types)
        {
            string expression = TypedExpression(schema, path, Hint(hint, type), type);
            alternatives.Add(IsRuleName(expression) ? expression : AddRule(NewName(Hint(hint, type)), expression));
        }
        return string.Join(" | ", alternatives);
    }

    private string TypedExpression(JsonElement schema, string path, string hint, string type) => type switch
    {
        "object" => ObjectExpression(schema, path, hint),
        "array" => ArrayExpression(schema, path, hint),
        "string" => StringExpression(schema, path),
        "number" or "integer" or "boolean" or "null" => Primitive(type),
        "any" => Primitive("value"),
        _ => throw new GrammarException($"unknown type \"{type}\"", path + "/type"),
    };

    /// <summary>The schema's types: its "type" keyword, or what its other keywords imply, or "any".</summary>
    private static List<string> Types(JsonElement schema, string path)
    {
        if (schema.TryGetProperty("type", out JsonElement type))
        {
            if (type.ValueKind == JsonValueKind.String)
            {
                return [type.GetString()!];
            }
            if (type.ValueKind == JsonValueKind.Array && type.GetArrayLength() > 0
                && type.EnumerateArray().All(t => t.ValueKind == JsonValueKind.String))
            {
                return [.. type.EnumerateArray().Select(t => t.GetString()!).Distinct(StringComparer.Ordinal)];
            }
            throw new GrammarException("type must be a string or a non-empty array of strings", path + "/type");
        }
        if (Has(schema, "properties") || Has(schema, "additionalProperties") || Has(schema, "required"))
        {
            return ["object"];
        }
        if (Has(schema, "items") || Has(schema, "prefixItems") || Has(schema, "minItems") || Has(schema, "maxItems"))
        {
            return ["array"];
        }
        if (Has(schema, "pattern") || Has(schema, "minLength") || Has(schema, "maxLength") || Has(schema, "format"))
        {
            return ["string"];
        }
        return ["any"];
    }

    private string Ref(string reference, string path)
    {
        if (!reference.StartsWith('#'))
        {
            throw Unsupported($"$ref to another document (\"{reference}\")", path);
        }
        if (_refChain.Contains(reference))
        {
            throw new GrammarException($"$ref \"{reference}\" refers back to itself before any value is written, so it never ends", path);
        }
        if (_refs.TryGetValue(reference, out string? name))
        {
            return name;
        }
        JsonElement target = Resolve(reference, path);
        string last = reference.TrimEnd('/');
        last = last.Length <= 1 ? "root" : last[(last.LastIndexOf('/') + 1)..];
        name = NewName("ref-" + last);
        _refs[reference] = name;
        _refChain.Add(reference);
        Visit(target, reference, name[_prefix.Length..], name);
        _refChain.Remove(reference);
        return name;
    }

    /// <summary>A JSON pointer fragment ("#", "#/$defs/a", "#/definitions/b", any path into the document).</summary>
    private JsonElement Resolve(string reference, string path)
    {
        JsonElement node = _document;
        if (reference is "#" or "#/")
        {
            return node;
        }
        if (!reference.StartsWith("#/", StringComparison.Ordinal))
        {
            throw Unsupported($"$ref to an anchor (\"{reference}\")", path);
        }
        foreach (string raw in reference[2..].Split('/'))
        {
            string segment = Uri.UnescapeDataString(raw).Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            if (node.ValueKind == JsonValueKind.Object && node.TryGetProperty(segment, out JsonElement child))
            {
                node = child;
            }
            else if (node.ValueKind == JsonValueKind.Array && int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out int index) && index < node.GetArrayLength())
            {
                node = node[index];
            }
            else
            {
                throw new GrammarException($"$ref \"{reference}\" points to nothing", path);
            }
        }
        return node;
    }

    private static void CheckKeywords(JsonElement schema, string path)
    {
        foreach (JsonProperty p in schema.EnumerateObject())
        {
            if (s_unsupported.Contains(p.Name))
            {
                throw Unsupported(p.Name, $"{path}/{PointerEscape(p.Name)}");
            }
        }
    }

    private static void NoSiblings(JsonElement schema, string path, string keyword)
    {
        foreach (JsonProperty p in schema.EnumerateObject())
        {
            if (p.Name != keyword && s_validation.Contains(p.Name))
            {
                throw Unsupported($"{p.Name} beside {keyword}", $"{path}/{PointerEscape(p.Name)}");
            }
        }
    }

    private static List<JsonElement> SchemaArray(JsonElement value, string path, string keyword)
    {
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0)
        {
            throw new GrammarException($"{keyword} must be a non-empty array of schemas", path);
        }
        return [.. value.EnumerateArray()];
    }

    private static int? Count(JsonElement schema, string keyword, string path)
    {
        if (!schema.TryGetProperty(keyword, out JsonElement value))
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDecimal(out decimal d) || d < 0 || d != decimal.Truncate(d))
        {
            throw new GrammarException($"{keyword} must be a non-negative integer", $"{path}/{keyword}");
        }
        if (d > GrammarLimits.MaxRepetition)
        {
            throw new GrammarException($"{keyword} {d} is above the supported limit of {GrammarLimits.MaxRepetition}", $"{path}/{keyword}");
        }
        return (int)d;
    }

    private static GrammarException Unsupported(string what, string path) =>
        new($"unsupported JSON Schema keyword: {what}", path);

    private static bool Has(JsonElement schema, string keyword) => schema.TryGetProperty(keyword, out _);

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.Array => "an array",
        JsonValueKind.Null => "null",
        _ => e.ValueKind.ToString(),
    };

    private static string PointerEscape(string name) => name.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    private static JsonElement TrueSchema { get; } = JsonSerializer.Deserialize<JsonElement>("true");

    private string Primitive(string name)
    {
        if (_primitives.Add(name))
        {
            (string body, string[] uses) = JsonPrimitives.Get(name, n => _prefix + n);
            _rules.Add((_prefix + name, body));
            foreach (string use in uses)
            {
                Primitive(use);
            }
        }
        return _prefix + name;
    }

    private string AddRule(string name, string body)
    {
        _rules.Add((name, body));
        return name;
    }

    private string NewName(string hint)
    {
        var sb = new StringBuilder(_prefix);
        foreach (char c in hint)
        {
            sb.Append(char.IsAsciiLetterOrDigit(c) ? c : '-');
        }
        string baseName = sb.ToString().Trim('-');
        if (baseName.Length == 0 || baseName.Length > 64)
        {
            baseName = baseName.Length == 0 ? _prefix + "value" : baseName[..64];
        }
        string name = baseName;
        for (int k = 2; !_names.Add(name); k++)
        {
            name = $"{baseName}-{k}";
        }
        return name;
    }

    private static string Hint(string hint, string part) => hint.Length == 0 ? part : $"{hint}-{part}";

    private static bool IsRuleName(string expression) =>
        expression.Length > 0 && expression.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}
