using System.Text.Json;

namespace Cria.Templates;

/// <summary>
/// One chat message as templates see it (OpenAI's shape): <c>role</c>, <c>content</c> (null for an
/// assistant turn that only calls tools), and optionally <c>tool_calls</c> (the JSON array, e.g.
/// <c>[{"id": "...", "type": "function", "function": {"name": "...", "arguments": "{...}"}}]</c>),
/// <c>tool_call_id</c> and <c>name</c> for tool results. Absent optional fields are absent in the
/// template too (templates test <c>'tool_calls' in message</c> and <c>message.tool_calls is defined</c>).
/// </summary>
public sealed record ChatMessage(string Role, string? Content)
{
    public JsonElement? ToolCalls { get; init; }

    public string? ToolCallId { get; init; }

    public string? Name { get; init; }

    public static ChatMessage System(string content) => new("system", content);

    public static ChatMessage User(string content) => new("user", content);

    public static ChatMessage Assistant(string? content) => new("assistant", content);

    public static ChatMessage Tool(string content, string? toolCallId = null, string? name = null) =>
        new("tool", content) { ToolCallId = toolCallId, Name = name };
}
