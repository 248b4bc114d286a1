using System.Text;
using System.Text.Json;

using Cria.Core.Inference;
using Cria.Grammar;
using Cria.Server.Http;

namespace Cria.Server.Structured;

/// <summary>
/// The grammars requests ask for — OpenAI's <c>response_format</c>, Ollama's <c>format</c>, a raw GBNF
/// <c>grammar</c>, and the call syntax that <c>tool_choice: required</c> or a named function forces —
/// compiled once per distinct source and kept (a bounded cache: compiling a schema costs far more
/// than a lookup). A schema or grammar Cria cannot enforce is a 400 naming the keyword and its path.
/// </summary>
internal static class Grammars
{
    private const int CacheLimit = 256;
    private static readonly Dictionary<string, CompiledGrammar> s_cache = new(StringComparer.Ordinal);
    private static readonly Lock s_lock = new();

    /// <summary>OpenAI <c>response_format</c>: text (null), json_object, or json_schema with a schema.</summary>
    public static CompiledGrammar? FromResponseFormat(JsonElement? format)
    {
        if (format is not { ValueKind: JsonValueKind.Object } f)
        {
            if (format is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) })
            {
                throw ApiException.BadRequest("response_format must be an object such as {\"type\": \"json_object\"}", "response_format");
            }
            return null;
        }
        string? type = f.TryGetProperty("type", out JsonElement t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        switch (type)
        {
            case "text":
                return null;
            case "json_object":
                return CompiledGrammar.JsonObject;
            case "json_schema":
                if (!f.TryGetProperty("json_schema", out JsonElement js) || js.ValueKind != JsonValueKind.Object
                    || !js.TryGetProperty("schema", out JsonElement schema) || schema.ValueKind is not (JsonValueKind.Object or JsonValueKind.True))
                {
                    throw ApiException.BadRequest("response_format json_schema needs {\"json_schema\": {\"name\": ..., \"schema\": {...}}}", "response_format");
                }
                return FromSchema(schema, "response_format.json_schema.schema");
            default:
                throw ApiException.BadRequest($"response_format.type must be \"text\", \"json_object\" or \"json_schema\", got \"{type}\"", "response_format");
        }
    }

    /// <summary>Ollama <c>format</c>: "json" or a JSON Schema object; empty or absent: none.</summary>
    public static CompiledGrammar? FromOllamaFormat(JsonElement? format)
    {
        if (format is not { } f || f.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined || (f.ValueKind == JsonValueKind.String && f.GetString() == ""))
        {
            return null;
        }
        if (f.ValueKind == JsonValueKind.String && f.GetString() == "json")
        {
            return CompiledGrammar.JsonObject;
        }
        if (f.ValueKind == JsonValueKind.Object)
        {
            return FromSchema(f, "format");
        }
        throw ApiException.BadRequest("format must be \"json\" or a JSON Schema object", "format");
    }

    /// <summary>A GBNF grammar text (llama.cpp's <c>grammar</c> request field).</summary>
    public static CompiledGrammar FromGbnf(string gbnf) =>
        Cached("gbnf:" + gbnf, () => CompiledGrammar.Parse(gbnf), "grammar");

    /// <summary>
    /// The syntax a forced tool call must follow in the model's format: the call object (name as a
    /// constant, arguments by the function's parameter schema), one of the offered functions for
    /// <c>required</c>, the named one otherwise. Null when the choice does not force a call.
    /// </summary>
    public static CompiledGrammar? ForToolChoice(ToolRequest? tools, ToolCallFormat format)
    {
        if (tools is null || tools.Choice is ToolChoiceMode.Auto or ToolChoiceMode.None)
        {
            return null;
        }
        string argumentsKey = format == ToolCallFormat.Json ? "parameters" : "arguments";
        var branches = new StringBuilder("{\"anyOf\":[");
        bool first = true;
        foreach (JsonElement tool in tools.Tools.EnumerateArray())
        {
            JsonElement function = tool.GetProperty("function");
            string name = function.GetProperty("name").GetString()!;
            if (tools.Choice == ToolChoiceMode.Named && name != tools.Function)
            {
                continue;
            }
            string parameters = function.TryGetProperty("parameters", out JsonElement p) && p.ValueKind == JsonValueKind.Object
                ? p.GetRawText()
                : "{\"type\":\"object\"}";
            branches.Append(first ? "" : ",")
                .Append("{\"type\":\"object\",\"properties\":{\"name\":{\"const\":").Append('"').Append(name).Append('"')
                .Append("},\"").Append(argumentsKey).Append("\":").Append(parameters)
                .Append("},\"required\":[\"name\",\"").Append(argumentsKey).Append("\"],\"additionalProperties\":false}");
            first = false;
        }
        string schemaText = branches.Append("]}").ToString();
        return Cached($"tool:{format}:{schemaText}", () =>
        {
            using JsonDocument schema = JsonDocument.Parse(schemaText);
            string call = JsonSchemaGrammar.ToGbnf(schema.RootElement, "call");
            string root = format switch
            {
                ToolCallFormat.Hermes => "root ::= \"<tool_call>\" ws call ws \"</tool_call>\"\nws ::= [ \\n]?\n",
                ToolCallFormat.Mistral => "root ::= \"[TOOL_CALLS]\" ws \"[\" call \"]\"\nws ::= [ ]?\n",
                _ => "root ::= call\n",
            };
            return CompiledGrammar.Parse(root + call);
        }, "tools");
    }

    private static CompiledGrammar FromSchema(JsonElement schema, string param) =>
        Cached("schema:" + schema.GetRawText(), () => CompiledGrammar.FromJsonSchema(schema), param);

    private static CompiledGrammar Cached(string key, Func<CompiledGrammar> compile, string param)
    {
        lock (s_lock)
        {
            if (s_cache.TryGetValue(key, out CompiledGrammar? hit))
            {
                return hit;
            }
        }
        CompiledGrammar grammar;
        try
        {
            grammar = compile();
        }
        catch (GrammarException e)
        {
            throw ApiException.BadRequest($"{param}: {e.Message}", param);
        }
        lock (s_lock)
        {
            if (s_cache.Count >= CacheLimit)
            {
                s_cache.Clear(); // simple and bounded; recompiling now and then is cheap enough
            }
            s_cache[key] = grammar;
        }
        return grammar;
    }
}
