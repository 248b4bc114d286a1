using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

using Cria.Server.Http;

namespace Cria.Server.Ollama;

// Ollama's JSON (https://github.com/ollama/ollama/blob/main/docs/api.md), snake_case through the
// context's naming policy. Requests keep the fields Cria reads; unknown fields are ignored.

internal sealed class OllamaOptions
{
    public double? Temperature { get; set; }
    public double? TopP { get; set; }
    public int? TopK { get; set; }
    public double? MinP { get; set; }
    public long? Seed { get; set; }
    public int? NumPredict { get; set; }

    [JsonConverter(typeof(StringListConverter))]
    public List<string>? Stop { get; set; }

    public double? RepeatPenalty { get; set; }
    public int? RepeatLastN { get; set; }
    public double? PresencePenalty { get; set; }
    public double? FrequencyPenalty { get; set; }
}

internal sealed class OllamaMessage
{
    public string? Role { get; set; }
    public string? Content { get; set; }

    /// <summary>Calls the assistant made: <c>[{"function": {"name", "arguments": {…}}}]</c> (arguments as an object, not a string).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonElement? ToolCalls { get; set; }

    /// <summary>On a tool message: the tool that produced it.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ToolName { get; set; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public List<string>? Images { get; set; }
}

internal sealed class OllamaChatRequest
{
    public string? Model { get; set; }
    public List<OllamaMessage>? Messages { get; set; }
    public bool? Stream { get; set; }
    public JsonElement? Format { get; set; }
    public OllamaOptions? Options { get; set; }
    public JsonElement? Tools { get; set; }

    /// <summary>A duration ("5m", "1h30m", "-1") or a number of seconds.</summary>
    public JsonElement? KeepAlive { get; set; }
    public bool? Logprobs { get; set; }
    public int? TopLogprobs { get; set; }
}

internal sealed class OllamaGenerateRequest
{
    public string? Model { get; set; }
    public string? Prompt { get; set; }
    public string? System { get; set; }
    public string? Suffix { get; set; }
    public List<string>? Images { get; set; }
    public bool? Stream { get; set; }
    public bool? Raw { get; set; }
    public JsonElement? Format { get; set; }
    public OllamaOptions? Options { get; set; }
    public JsonElement? KeepAlive { get; set; }

    /// <summary>Token ids returned by an earlier /api/generate, continuing that exchange.</summary>
    public List<int>? Context { get; set; }
    public bool? Logprobs { get; set; }
    public int? TopLogprobs { get; set; }
}

/// <summary>The pre-/api/embed endpoint, still used by older clients: one prompt, one embedding.</summary>
internal sealed class OllamaLegacyEmbeddingsRequest
{
    public string? Model { get; set; }
    public string? Prompt { get; set; }
    public OllamaOptions? Options { get; set; }
    public JsonElement? KeepAlive { get; set; }
}

internal sealed class OllamaLegacyEmbeddingsResponse
{
    public required float[] Embedding { get; init; }
}

/// <summary>A model in memory, as /api/ps lists it.</summary>
internal sealed class OllamaRunningModel
{
    public required string Name { get; init; }
    public required string Model { get; init; }
    public long Size { get; init; }
    public required string Digest { get; init; }
    public required OllamaModelDetails Details { get; init; }
    public required string ExpiresAt { get; init; }
    public long SizeVram { get; init; }
    public int ContextLength { get; init; }
}

internal sealed class OllamaPsResponse
{
    public required List<OllamaRunningModel> Models { get; init; }
}

internal sealed class OllamaShowRequest
{
    public string? Model { get; set; }
    public string? Name { get; set; }
}

/// <summary>
/// What every line of a chat or generate stream carries: model, time, done, log-probabilities, and —
/// only on the last (<c>done</c>) line — the reason and Ollama's counts and durations (nanoseconds).
/// </summary>
internal abstract class OllamaStreamLine
{
    public required string Model { get; init; }
    public required string CreatedAt { get; init; }
    public bool Done { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public List<OpenAi.TokenLogprobDto>? Logprobs { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? DoneReason { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? TotalDuration { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? LoadDuration { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? PromptEvalCount { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? PromptEvalDuration { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? EvalCount { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? EvalDuration { get; init; }
}

/// <summary>One line of a chat stream, or the whole answer.</summary>
internal sealed class OllamaChatResponse : OllamaStreamLine
{
    public required OllamaMessage Message { get; init; }
}

/// <summary>One line of a generate stream, or the whole answer.</summary>
internal sealed class OllamaGenerateResponse : OllamaStreamLine
{
    public required string Response { get; init; }

    /// <summary>On the last line: prompt and answer as token ids, to continue the exchange.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public List<int>? Context { get; init; }
}

internal sealed class OllamaModelDetails
{
    public string ParentModel { get; init; } = "";
    public string Format { get; init; } = "gguf";
    public required string Family { get; init; }
    public required List<string> Families { get; init; }
    public required string ParameterSize { get; init; }
    public required string QuantizationLevel { get; init; }
}

internal sealed class OllamaTag
{
    public required string Name { get; init; }
    public required string Model { get; init; }
    public required string ModifiedAt { get; init; }
    public long Size { get; init; }
    public required string Digest { get; init; }
    public required OllamaModelDetails Details { get; init; }
}

internal sealed class OllamaTagsResponse
{
    public required List<OllamaTag> Models { get; init; }
}

internal sealed class OllamaShowResponse
{
    public string Modelfile { get; init; } = "";
    public string Parameters { get; init; } = "";
    public required string Template { get; init; }
    public required OllamaModelDetails Details { get; init; }
    public required Dictionary<string, JsonElement> ModelInfo { get; init; }
    public required List<string> Capabilities { get; init; }
    public required string ModifiedAt { get; init; }
}

internal sealed class OllamaEmbedRequest
{
    public string? Model { get; set; }

    /// <summary>A string or an array of strings.</summary>
    [JsonConverter(typeof(StringListConverter))]
    public List<string>? Input { get; set; }
    public bool? Truncate { get; set; }
    public OllamaOptions? Options { get; set; }
    public JsonElement? KeepAlive { get; set; }
}

internal sealed class OllamaEmbedResponse
{
    public required string Model { get; init; }
    public required List<float[]> Embeddings { get; init; }
    public long TotalDuration { get; init; }
    public long LoadDuration { get; init; }
    public int PromptEvalCount { get; init; }
}

internal sealed class OllamaVersionResponse
{
    public required string Version { get; init; }
}

internal sealed class OllamaHealthResponse
{
    public required string Status { get; init; }
}

internal sealed class OllamaErrorResponse
{
    public required string Error { get; init; }
}

/// <summary>Source-generated serialization of Ollama's JSON (snake_case names).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(OllamaChatRequest))]
[JsonSerializable(typeof(OllamaGenerateRequest))]
[JsonSerializable(typeof(OllamaShowRequest))]
[JsonSerializable(typeof(OllamaChatResponse))]
[JsonSerializable(typeof(OllamaGenerateResponse))]
[JsonSerializable(typeof(OllamaTagsResponse))]
[JsonSerializable(typeof(OllamaShowResponse))]
[JsonSerializable(typeof(OllamaVersionResponse))]
[JsonSerializable(typeof(OllamaHealthResponse))]
[JsonSerializable(typeof(OllamaErrorResponse))]
[JsonSerializable(typeof(OllamaEmbedRequest))]
[JsonSerializable(typeof(OllamaEmbedResponse))]
[JsonSerializable(typeof(OllamaLegacyEmbeddingsRequest))]
[JsonSerializable(typeof(OllamaLegacyEmbeddingsResponse))]
[JsonSerializable(typeof(OllamaPsResponse))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(string))]
internal sealed partial class OllamaJsonContext : JsonSerializerContext
{
    /// <summary>
    /// The context to use: text is escaped only where JSON requires it (quotes, backslashes, control
    /// characters), not HTML-escaped as the default encoder does, so a quote reads <c>\"</c> as in OpenAI's responses.
    /// </summary>
    public static OllamaJsonContext Api { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
