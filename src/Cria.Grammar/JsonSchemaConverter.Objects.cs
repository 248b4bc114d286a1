using System.Text.Json;

namespace Cria.Grammar;

/// <summary>Objects: properties in schema order, optional ones skippable, extra keys kept apart from listed ones.</summary>
internal sealed partial class JsonSchemaConverter
{
    private string ObjectExpression(JsonElement schema, string path, string hint)
    {
        var properties = new List<(string Name, JsonElement Schema, string Path)>();
        if (schema.TryGetProperty("properties", out JsonElement props))
        {
            if (props.ValueKind != JsonValueKind.Object)
            {
                throw new GrammarException("properties must be an object", path + "/properties");
            }
            foreach (JsonProperty p in props.EnumerateObject())
            {
                properties.Add((p.Name, p.Value, $"{path}/properties/{PointerEscape(p.Name)}"));
            }
        }
        var required = new HashSet<string>(StringComparer.Ordinal);
        if (schema.TryGetProperty("required", out JsonElement req))
        {
            if (req.ValueKind != JsonValueKind.Array || !req.EnumerateArray().All(r => r.ValueKind == JsonValueKind.String))
            {
                throw new GrammarException("required must be an array of strings", path + "/required");
            }
            foreach (JsonElement r in req.EnumerateArray())
            {
                required.Add(r.GetString()!);
            }
        }
        // additionalProperties: absent means false when properties are listed (documented), true otherwise
        JsonElement? extra = null;
        bool extras = properties.Count == 0;
        if (schema.TryGetProperty("additionalProperties", out JsonElement additional))
        {
            extras = additional.ValueKind != JsonValueKind.False;
            if (additional.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Object))
            {
                throw new GrammarException("additionalProperties must be a boolean or a schema", path + "/additionalProperties");
            }
            extra = additional.ValueKind == JsonValueKind.Object ? additional : null;
        }
        foreach (string name in required)
        {
            if (!properties.Exists(p => p.Name == name))
            {
                if (!extras)
                {
                    throw new GrammarException($"required property \"{name}\" is not in properties and additional properties are not allowed", path + "/required");
                }
                properties.Add((name, extra ?? TrueSchema, path + "/additionalProperties"));
            }
        }

        HashSet<string> savedChain = _refChain;
        _refChain = new(StringComparer.Ordinal); // "{" is read before any property
        string space = Primitive("space");
        var kv = new string[properties.Count];
        for (int i = 0; i < properties.Count; i++)
        {
            (string name, JsonElement propertySchema, string propertyPath) = properties[i];
            string value = Visit(propertySchema, propertyPath, Hint(hint, name));
            kv[i] = AddRule(NewName(Hint(Hint(hint, name), "kv")), $"{GbnfText.Literal(JsonText.Quote(name))} {space} \":\" {space} {value}");
        }
        string? extraKv = null;
        if (extras)
        {
            string key = properties.Count == 0 ? Primitive("string") : KeyExcluding(properties.ConvertAll(p => p.Name), hint);
            string value = extra is { } e ? Visit(e, path + "/additionalProperties", Hint(hint, "additional")) : Primitive("value");
            extraKv = AddRule(NewName(Hint(hint, "additional-kv")), $"{key} \":\" {space} {value}");
        }
        _refChain = savedChain;

        // pick(i): write one of the properties i.. (skipping optional ones, never a required one), then rest;
        // rest(i): after a property, either nothing more (when no required one is left) or a comma and pick(i).
        // Sharing the comma and its space keeps the parses alive at once few, even with thousands of properties.
        string? restN = extraKv is null ? null : AddRule(NewName(Hint(hint, "additional-rest")), $"(\",\" {space} {extraKv})*");
        string? pick = extraKv is null ? null : AddRule(NewName(Hint(hint, "additional-first")), $"{extraKv} {restN}");
        string? rest = restN;
        bool allOptional = true;
        for (int i = properties.Count - 1; i >= 0; i--)
        {
            bool isRequired = required.Contains(properties[i].Name);
            allOptional &= !isRequired;
            string written = $"{kv[i]} {rest}".TrimEnd();
            pick = AddRule(NewName(Hint(hint, $"pick-{i}")), isRequired || pick is null ? written : $"{written} | {pick}");
            if (i > 0)
            {
                string comma = $"\",\" {space} {pick}";
                rest = AddRule(NewName(Hint(hint, $"rest-{i}")), allOptional ? $"({comma})?" : comma);
            }
        }
        string body = pick is null ? "" : allOptional ? $"({pick})? " : pick + " ";
        return $"\"{{\" {space} {body}\"}}\" {space}";
    }

    /// <summary>A key (JSON string, with its space) that is none of <paramref name="names"/>, so extra properties never repeat listed ones.</summary>
    private string KeyExcluding(List<string> names, string hint)
    {
        // A trie over the names (those that need no escaping; written with escapes a name could still repeat, a documented gap).
        var root = new KeyNode();
        foreach (string name in names)
        {
            if (name.Length > 256 || JsonText.Escape(name) != name)
            {
                continue;
            }
            KeyNode node = root;
            foreach (System.Text.Rune r in GbnfText.EnumerateRunesLenient(name))
            {
                node = node.Children.TryGetValue(r.Value, out KeyNode? child) ? child : node.Children[r.Value] = new KeyNode();
            }
            node.IsName = true;
        }
        string baseName = Hint(hint, "key");
        string start = KeyRule(root, baseName);
        return AddRule(NewName(baseName), $"\"\\\"\" {start}");
    }

    private string KeyRule(KeyNode node, string baseName)
    {
        string space = Primitive("space");
        string anyChar = Primitive("char");
        string close = $"\"\\\"\" {space}";
        var alternatives = new List<string>();
        var taken = new List<(int, int)> { (0, 0x1F), ('"', '"'), ('\\', '\\') };
        foreach ((int cp, KeyNode child) in node.Children.OrderBy(c => c.Key))
        {
            alternatives.Add($"{GbnfText.Literal(char.ConvertFromUtf32(cp))} {KeyRule(child, baseName)}");
            taken.Add((cp, cp));
        }
        alternatives.Add($"{CodePointSet.FromRanges(taken).Complement()} {anyChar}* {close}");
        alternatives.Add($"\"\\\\\" {Primitive("esc")} {anyChar}* {close}");
        if (!node.IsName)
        {
            alternatives.Add(close);
        }
        return AddRule(NewName(baseName), string.Join(" | ", alternatives));
    }

    private sealed class KeyNode
    {
        public Dictionary<int, KeyNode> Children { get; } = [];

        public bool IsName { get; set; }
    }
}
