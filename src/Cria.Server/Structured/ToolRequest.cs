using System.Text.Json;

using Cria.Server.Http;

namespace Cria.Server.Structured;

/// <summary>OpenAI's <c>tool_choice</c>.</summary>
public enum ToolChoiceMode
{
    /// <summary>The model decides (the default when tools are given).</summary>
    Auto,

    /// <summary>Tools are not offered and no call is parsed.</summary>
    None,

    /// <summary>The model must call some tool.</summary>
    Required,

    /// <summary>The model must call <see cref="ToolRequest.Function"/>.</summary>
    Named,
}

/// <summary>
/// The tools a chat request offers, validated: an OpenAI-style array of
/// <c>{"type": "function", "function": {"name", "description"?, "parameters"?}}</c>, and the choice.
/// </summary>
public sealed record ToolRequest(JsonElement Tools, IReadOnlyList<string> Names, ToolChoiceMode Choice, string? Function)
{
    /// <summary>Most tools one request may carry.</summary>
    public const int MaxTools = 128;

    /// <summary>Reads <c>tools</c> and <c>tool_choice</c>; null when no tools are given. Errors are 400s naming the field.</summary>
    public static ToolRequest? Parse(JsonElement? tools, JsonElement? choice)
    {
        bool hasTools = tools is { ValueKind: JsonValueKind.Array } t && t.GetArrayLength() > 0;
        bool hasChoice = choice is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) };
        if (!hasTools)
        {
            if (tools is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined or JsonValueKind.Array) })
            {
                throw ApiException.BadRequest("'tools' must be an array", "tools");
            }
            if (hasChoice && !(choice!.Value.ValueKind == JsonValueKind.String && choice.Value.GetString() is "none" or "auto"))
            {
                throw ApiException.BadRequest("'tool_choice' needs 'tools'", "tool_choice");
            }
            return null;
        }
        JsonElement array = tools!.Value;
        if (array.GetArrayLength() > MaxTools)
        {
            throw ApiException.BadRequest($"at most {MaxTools} tools are allowed, got {array.GetArrayLength()}", "tools");
        }
        var names = new List<string>();
        int i = 0;
        foreach (JsonElement tool in array.EnumerateArray())
        {
            string at = $"tools[{i++}]";
            if (tool.ValueKind != JsonValueKind.Object || !tool.TryGetProperty("type", out JsonElement type) || type.ValueKind != JsonValueKind.String || type.GetString() != "function")
            {
                throw ApiException.BadRequest($"{at}.type must be \"function\"", "tools");
            }
            if (!tool.TryGetProperty("function", out JsonElement function) || function.ValueKind != JsonValueKind.Object
                || !function.TryGetProperty("name", out JsonElement name) || name.ValueKind != JsonValueKind.String)
            {
                throw ApiException.BadRequest($"{at}.function.name is required", "tools");
            }
            string n = name.GetString()!;
            if (n.Length is 0 or > 64 || !n.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            {
                throw ApiException.BadRequest($"{at}.function.name must be 1–64 letters, digits, _ or -, got \"{n}\"", "tools");
            }
            if (names.Contains(n))
            {
                throw ApiException.BadRequest($"{at}: two tools are named \"{n}\"", "tools");
            }
            if (function.TryGetProperty("parameters", out JsonElement parameters) && parameters.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
            {
                throw ApiException.BadRequest($"{at}.function.parameters must be a JSON Schema object", "tools");
            }
            names.Add(n);
        }
        (ToolChoiceMode mode, string? function1) = ParseChoice(choice, names);
        return new ToolRequest(array.Clone(), names, mode, function1);
    }

    private static (ToolChoiceMode, string?) ParseChoice(JsonElement? choice, List<string> names)
    {
        if (choice is not { } c || c.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return (ToolChoiceMode.Auto, null);
        }
        if (c.ValueKind == JsonValueKind.String)
        {
            return c.GetString() switch
            {
                "auto" => (ToolChoiceMode.Auto, null),
                "none" => (ToolChoiceMode.None, null),
                "required" => (ToolChoiceMode.Required, null),
                var other => throw ApiException.BadRequest($"tool_choice must be \"auto\", \"none\", \"required\" or a function, got \"{other}\"", "tool_choice"),
            };
        }
        if (c.ValueKind == JsonValueKind.Object && c.TryGetProperty("function", out JsonElement f) && f.ValueKind == JsonValueKind.Object
            && f.TryGetProperty("name", out JsonElement name) && name.ValueKind == JsonValueKind.String)
        {
            string n = name.GetString()!;
            if (!names.Contains(n))
            {
                throw ApiException.BadRequest($"tool_choice names the function \"{n}\", which is not among the tools ({string.Join(", ", names)})", "tool_choice");
            }
            return (ToolChoiceMode.Named, n);
        }
        throw ApiException.BadRequest("tool_choice must be \"auto\", \"none\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": ...}}", "tool_choice");
    }
}
