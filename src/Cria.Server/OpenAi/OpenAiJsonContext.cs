using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cria.Server.OpenAi;

/// <summary>Source-generated serialization of OpenAI's JSON (snake_case names).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ChatCompletionRequest))]
[JsonSerializable(typeof(CompletionRequest))]
[JsonSerializable(typeof(ChatCompletionResponse))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(CompletionResponse))]
[JsonSerializable(typeof(ModelListResponse))]
[JsonSerializable(typeof(ModelDto))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(EmbeddingRequest))]
[JsonSerializable(typeof(EmbeddingResponse))]
[JsonSerializable(typeof(float[]))]
[JsonSerializable(typeof(ModerationRequest))]
[JsonSerializable(typeof(ModerationResponse))]
[JsonSerializable(typeof(string))]
internal sealed partial class OpenAiJsonContext : JsonSerializerContext
{
    /// <summary>
    /// The context to use: text is escaped only where JSON requires it (quotes, backslashes, control
    /// characters), not HTML-escaped as the default encoder does, so a quote reads <c>\"</c> as in OpenAI's responses.
    /// </summary>
    public static OpenAiJsonContext Api { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
