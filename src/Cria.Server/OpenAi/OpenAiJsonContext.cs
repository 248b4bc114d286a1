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
internal sealed partial class OpenAiJsonContext : JsonSerializerContext;
