using System.Text.Json;

namespace Cria.Templates.Tests;

/// <summary>Conversations the template-file tests render: a plain chat, and one that calls a tool and reads its result.</summary>
internal static class ChatConversations
{
    public static IReadOnlyList<ChatMessage> Plain { get; } =
    [
        ChatMessage.System("You are helpful."),
        ChatMessage.User("Hello"),
        ChatMessage.Assistant("Hi there"),
        ChatMessage.User("What is 2+2?"),
    ];

    /// <summary>An OpenAI-style tools array with one function.</summary>
    public static JsonElement Tools { get; } = Json("""
        [{"type": "function", "function": {"name": "get_weather", "description": "Get the weather for a city.",
          "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "The city name."},
          "unit": {"type": "string", "enum": ["c", "f"]}}, "required": ["city"]}}}]
        """);

    /// <summary>Tool call ids are 9 characters because Mistral's templates insist on it.</summary>
    public static IReadOnlyList<ChatMessage> WithToolCall { get; } =
    [
        ChatMessage.System("You are helpful."),
        ChatMessage.User("Weather in Paris?"),
        new ChatMessage("assistant", null)
        {
            ToolCalls = Json("""[{"id": "call12345", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]"""),
        },
        ChatMessage.Tool("{\"temp\": 21}", "call12345", "get_weather"),
        ChatMessage.Assistant("It is 21 degrees."),
        ChatMessage.User("Thanks"),
    ];

    public static JsonElement Json(string json)
    {
        using JsonDocument doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }
}
