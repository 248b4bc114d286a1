using System.Globalization;
using System.Text.Json;

namespace Cria.Grammar;

/// <summary>Arrays (prefixItems, items, counts), strings (lengths, pattern, format) and enums.</summary>
internal sealed partial class JsonSchemaConverter
{
    private string ArrayExpression(JsonElement schema, string path, string hint)
    {
        var prefix = new List<(JsonElement Schema, string Path)>();
        JsonElement? items = TrueSchema;
        string itemsPath = path + "/items";
        if (schema.TryGetProperty("prefixItems", out JsonElement prefixItems))
        {
            if (prefixItems.ValueKind != JsonValueKind.Array)
            {
                throw new GrammarException("prefixItems must be an array", path + "/prefixItems");
            }
            if (prefixItems.GetArrayLength() > MaxTuple)
            {
                throw new GrammarException($"prefixItems has more than {MaxTuple} schemas", path + "/prefixItems");
            }
            int i = 0;
            foreach (JsonElement p in prefixItems.EnumerateArray())
            {
                prefix.Add((p, $"{path}/prefixItems/{i++}"));
            }
        }
        if (schema.TryGetProperty("items", out JsonElement itemsValue))
        {
            if (itemsValue.ValueKind == JsonValueKind.Array)
            {
                // draft 4-7 tuples: items is the prefix, additionalItems the rest
                if (prefix.Count > 0)
                {
                    throw new GrammarException("items as an array beside prefixItems", path + "/items");
                }
                if (itemsValue.GetArrayLength() > MaxTuple)
                {
                    throw new GrammarException($"items has more than {MaxTuple} schemas", path + "/items");
                }
                int i = 0;
                foreach (JsonElement p in itemsValue.EnumerateArray())
                {
                    prefix.Add((p, $"{path}/items/{i++}"));
                }
                if (schema.TryGetProperty("additionalItems", out JsonElement additionalItems))
                {
                    items = additionalItems.ValueKind == JsonValueKind.False ? null : additionalItems;
                    itemsPath = path + "/additionalItems";
                }
            }
            else
            {
                items = itemsValue.ValueKind == JsonValueKind.False ? null : itemsValue;
            }
        }
        if (schema.TryGetProperty("uniqueItems", out JsonElement unique) && unique.ValueKind == JsonValueKind.True)
        {
            throw Unsupported("uniqueItems", path + "/uniqueItems");
        }
        int min = Count(schema, "minItems", path) ?? 0;
        int max = Count(schema, "maxItems", path) ?? -1;
        if (items is null)
        {
            max = max < 0 ? prefix.Count : Math.Min(max, prefix.Count);
        }
        if (max >= 0 && min > max)
        {
            throw new GrammarException($"minItems {min} is more than the array can hold ({max})", path + "/minItems");
        }
        string space = Primitive("space");
        if (max == 0)
        {
            return $"\"[\" {space} \"]\" {space}";
        }

        HashSet<string> savedChain = _refChain;
        _refChain = new(StringComparer.Ordinal);
        var prefixRules = new List<string>(prefix.Count);
        for (int i = 0; i < prefix.Count && (max < 0 || i < max); i++)
        {
            prefixRules.Add(Visit(prefix[i].Schema, prefix[i].Path, Hint(hint, i.ToString(CultureInfo.InvariantCulture))));
        }
        string? itemRule = items is { } it && (max < 0 || max > prefix.Count) ? Visit(it, itemsPath, Hint(hint, "item")) : null;
        _refChain = savedChain;

        string Element(int i) => i < prefixRules.Count ? prefixRules[i] : itemRule!;
        // after i elements (i ≥ 1): the rest, each with its comma
        string Continuation(int i)
        {
            if (max >= 0 && i >= max)
            {
                return "";
            }
            if (i >= prefixRules.Count)
            {
                int a = Math.Max(0, min - i);
                int b = max < 0 ? -1 : max - i;
                string q = b < 0 ? (a == 0 ? "*" : $"{{{a},}}") : a == b ? $"{{{a}}}" : $"{{{a},{b}}}";
                return $"(\",\" {space} {itemRule}){q}";
            }
            string next = AddRule(NewName(Hint(hint, $"after-{i}")), $"\",\" {space} {Element(i)} {Continuation(i + 1)}".TrimEnd());
            return i < min ? next : next + "?";
        }
        string body = $"{Element(0)} {Continuation(1)}".TrimEnd();
        if (min == 0)
        {
            body = $"({body})?";
        }
        return $"\"[\" {space} {body} \"]\" {space}";
    }

    private string StringExpression(JsonElement schema, string path)
    {
        int? minLength = Count(schema, "minLength", path);
        int? maxLength = Count(schema, "maxLength", path);
        string quote = "\"\\\"\"";
        string space = Primitive("space");
        if (schema.TryGetProperty("pattern", out JsonElement pattern))
        {
            if (pattern.ValueKind != JsonValueKind.String)
            {
                throw new GrammarException("pattern must be a string", path + "/pattern");
            }
            if (minLength is not null || maxLength is not null)
            {
                throw Unsupported(minLength is not null ? "minLength beside pattern" : "maxLength beside pattern", path + (minLength is not null ? "/minLength" : "/maxLength"));
            }
            string content = PatternConverter.Convert(pattern.GetString()!, path + "/pattern", Primitive("char"), ClassRule);
            return $"{quote} {content} {quote} {space}";
        }
        if (minLength is not null || maxLength is not null)
        {
            int a = minLength ?? 0;
            if (maxLength is int b && b < a)
            {
                throw new GrammarException($"minLength {a} is more than maxLength {b}", path + "/minLength");
            }
            string q = maxLength is int m ? (a == m ? $"{{{a}}}" : $"{{{a},{m}}}") : (a == 0 ? "*" : $"{{{a},}}");
            return $"{quote} {Primitive("char")}{q} {quote} {space}";
        }
        if (schema.TryGetProperty("format", out JsonElement format) && format.ValueKind == JsonValueKind.String
            && format.GetString() is "date" or "time" or "date-time" or "uuid")
        {
            return $"{quote} {Primitive(format.GetString()!)} {quote} {space}";
        }
        return Primitive("string"); // other formats are annotations (JSON Schema 2020-12 §7.2): not enforced
    }

    private string ClassRule(CodePointSet set)
    {
        if (!_classes.TryGetValue(set, out string? name))
        {
            name = AddRule(NewName("pattern-class"), JsonStringContent.Gbnf(set));
            _classes[set] = name;
        }
        return name;
    }

    private string Enum(JsonElement values, string path)
    {
        if (values.ValueKind != JsonValueKind.Array || values.GetArrayLength() == 0)
        {
            throw new GrammarException("enum must be a non-empty array", path);
        }
        var literals = values.EnumerateArray().Select(v => GbnfText.Literal(JsonText.Compact(v))).Distinct(StringComparer.Ordinal);
        return $"({string.Join(" | ", literals)}) {Primitive("space")}";
    }
}
